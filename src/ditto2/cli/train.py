"""``ditto2 train ...``: the autoencoder, the teacher and the CLAP-style text model (students: ``ditto2 distill``).

Every run resumes from ``RUN/last.safetensors`` when it exists, else warm-starts from ``--init``
(e.g. the shipped weights), and writes ``RUN/release.safetensors`` for shipping.
Several processes: ``torchrun --nproc_per_node N -m ditto2.cli train ...``; CUDA + bf16 when present.
"""
from __future__ import annotations

import dataclasses

from ditto2.models import AUTOENCODER_FILE, WEIGHTS_DIR
from ditto2.train.loop import PRECISIONS, LoopConfig
from ditto2.train.teacher import TEACHER_EDM, default_network


def _loop_args(parser, defaults: LoopConfig) -> None:
    g = parser.add_argument_group("training loop")
    g.add_argument("--run", required=True, help="run folder: checkpoints, log.jsonl, samples (resumed if present)")
    g.add_argument("--init", default=None, help="release weights to warm-start from when the run is new")
    g.add_argument("--steps", type=int, default=defaults.steps, help=f"total steps (default {defaults.steps})")
    g.add_argument("--minutes", type=float, default=0.0, help="stop with a checkpoint after this wall time")
    g.add_argument("--batch-size", type=int, default=defaults.batch_size)
    g.add_argument("--lr", type=float, default=defaults.lr)
    g.add_argument("--warmup", type=int, default=defaults.warmup)
    g.add_argument("--ema-decay", type=float, default=defaults.ema_decay)
    g.add_argument("--ckpt-every", type=int, default=defaults.ckpt_every)
    g.add_argument("--val-every", type=int, default=defaults.val_every)
    g.add_argument("--sample-every", type=int, default=defaults.sample_every)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if present)")
    g.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="mixed precision of the training step (default auto: bf16 on CUDA and on CPUs with AMX)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def _loop_config(args, defaults: LoopConfig) -> LoopConfig:
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    return dataclasses.replace(defaults, steps=args.steps, minutes=args.minutes, batch_size=args.batch_size,
                               lr=args.lr, warmup=args.warmup, ema_decay=args.ema_decay, ckpt_every=args.ckpt_every,
                               val_every=args.val_every, sample_every=args.sample_every, seed=args.seed,
                               precision=args.precision)


def run_task(task, args, cfg: LoopConfig) -> dict:
    """Train (or resume) ``task`` in ``args.run``; returns the loop's final record."""
    from ditto2.train import loop

    record = loop.run(task, args.run, cfg, init=args.init, device=args.device, progress=not args.quiet)
    print(f"{args.run}: step {record['step']}; weights in {args.run}/release.safetensors (last), "
          f"{args.run}/best.safetensors (best validation)")
    return record


AE_LOOP = LoopConfig(steps=3000, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.995, ckpt_every=250, val_every=250,
                     sample_every=1000)
TEACHER_LOOP = LoopConfig(steps=100000, batch_size=8, lr=5e-4, warmup=500, ema_decay=0.999, ckpt_every=250,
                          val_every=500, sample_every=2000)
CLAP_LOOP = LoopConfig(steps=15000, batch_size=64, lr=1e-3, warmup=300, weight_decay=0.01, ema_decay=0.998,
                       ckpt_every=250, val_every=1000, sample_every=0)

VOCODER_LOOP = LoopConfig(steps=200000, batch_size=16, lr=5e-4, warmup=200, ema_decay=0.999, ckpt_every=500,
                          val_every=1000, sample_every=5000)


def add_commands(sub) -> None:
    train = sub.add_parser("train", help="train models").add_subparsers(dest="train_command", required=True)

    ae = train.add_parser("autoencoder", help="train the mel autoencoder (the teacher's latent space)")
    ae.add_argument("--data", default="data/full", help="dataset folder (default data/full)")
    ae.add_argument("--crop", type=int, default=128, help="mel frames per training crop (default 128)")
    _loop_args(ae, AE_LOOP)
    ae.set_defaults(func=cmd_train_autoencoder)

    teacher = train.add_parser("teacher", help="train the latent diffusion teacher")
    teacher.add_argument("--data", default="data/full", help="dataset folder with caption embeddings")
    teacher.add_argument("--autoencoder", default=str(WEIGHTS_DIR / AUTOENCODER_FILE),
                         help="the frozen autoencoder (default: the shipped one)")
    teacher.add_argument("--crop", type=int, default=512,
                         help="mel frames per training crop (default 512: whole clips, the length sampled)")
    teacher.add_argument("--cond-dropout", type=float, default=0.2, help="caption dropout for CFG (default 0.2)")
    teacher.add_argument("--p-mean", type=float, default=TEACHER_EDM.p_mean,
                         help=f"training noise levels: ln sigma ~ N(p_mean, p_std^2) (default {TEACHER_EDM.p_mean})")
    teacher.add_argument("--p-std", type=float, default=TEACHER_EDM.p_std, help=f"(default {TEACHER_EDM.p_std})")
    teacher.add_argument("--high-share", type=float, default=TEACHER_EDM.high_share,
                         help="share of training noise levels drawn log-uniform on [--high-sigma-min, 80] "
                         f"instead (default {TEACHER_EDM.high_share})")
    teacher.add_argument("--high-sigma-min", type=float, default=TEACHER_EDM.high_sigma_min,
                         help=f"(default {TEACHER_EDM.high_sigma_min})")
    teacher.add_argument("--global-level", action="store_true",
                         help="add the net's per-channel mean path (a new run: warm-start it with --init)")
    _loop_args(teacher, TEACHER_LOOP)
    teacher.set_defaults(func=cmd_train_teacher)

    clap = train.add_parser("clap", help="train a CLAP-style audio tower against the frozen text encoder",
                            description="Contrastive (symmetric InfoNCE) training of a mel audio tower and a text "
                            "head on varied captions. Ship two: --arch conv1d (the control model) and --arch "
                            "conv2d with another --seed (the evaluation model). At the end the EMA weights are "
                            "evaluated on the test split (RUN/eval-test.json). docs/text-control.md")
    clap.add_argument("--data", default="data/full", help="dataset folder (default data/full)")
    clap.add_argument("--arch", default="conv1d", choices=("conv1d", "conv2d"), help="audio tower (default conv1d)")
    clap.add_argument("--crop", type=int, default=256, help="mel frames per training crop (default 256)")
    clap.add_argument("--pool", type=int, default=16, help="captions drawn per piece (default 16)")
    clap.add_argument("--caption-seed", type=int, default=0,
                      help="seed of the caption pools (default 0; give the evaluation model another)")
    clap.add_argument("--no-test", action="store_true", help="skip the test-split evaluation at the end")
    _loop_args(clap, CLAP_LOOP)
    clap.set_defaults(func=cmd_train_clap)

    clap_eval = train.add_parser("clap-eval", help="retrieval and zero-shot figures of a CLAP model",
                                 description="text->audio recall@1/5/10 and zero-shot family / tempo / mode accuracy "
                                 "on a split (docs/text-control.md).")
    clap_eval.add_argument("--weights", default="control",
                           help="a release file, or 'control' / 'eval' for the shipped models (default control)")
    clap_eval.add_argument("--data", default="data/full", help="dataset folder (default data/full)")
    clap_eval.add_argument("--split", default="test", help="split (default test)")
    clap_eval.add_argument("-o", "--out", default=None, help="also write the figures to this JSON file")
    clap_eval.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    clap_eval.set_defaults(func=cmd_train_clap_eval)

    voc = train.add_parser("vocoder", help="train the neural mel -> waveform vocoder",
                           description="A ConvNeXt + inverse-STFT vocoder trained on rendered audio (a dataset that "
                           "keeps the audio of its train split: `ditto2 data build --profile vocoder`). "
                           "docs/vocoder.md")
    voc.add_argument("--data", default="data/vocoder", help="dataset folder with train audio (default data/vocoder)")
    voc.add_argument("--crop", type=int, default=64, help="mel frames per training crop (default 64)")
    voc.add_argument("--dim", type=int, default=192, help="channels of the ConvNeXt stack (default 192)")
    voc.add_argument("--blocks", type=int, default=8, help="ConvNeXt blocks (default 8)")
    voc.add_argument("--grow", type=int, default=0, metavar="N",
                     help="append N blocks that start as the identity to the --blocks of the --init release (a new "
                     "run: the warm start computes what the release did, with more capacity to train)")
    voc.add_argument("--adv-weight", type=float, default=0.0,
                     help="weight of the adversarial term (multi-period + multi-resolution critics; default 0: off)")
    voc.add_argument("--fm-weight", type=float, default=2.0, help="feature-matching weight with it (default 2)")
    voc.add_argument("--gain-db", type=float, default=0.0, metavar="DB",
                     help="random gain per training crop, uniform in [-DB/2, +DB] dB, its mel recomputed (default 0)")
    voc.add_argument("--lsd-weight", type=float, default=0.0, metavar="W",
                     help="weight of the evaluation's multi-resolution log-spectral distance (dB) as a loss term "
                     "(default 0: off)")
    _loop_args(voc, VOCODER_LOOP)
    voc.set_defaults(func=cmd_train_vocoder)

    curves = train.add_parser("plot", help="plot the training curves of a run")
    curves.add_argument("--run", required=True, help="run folder (with log.jsonl)")
    curves.add_argument("-o", "--out", default=None, help="image path (default RUN/curves.png)")
    curves.add_argument("--keys", nargs="*", default=None, help="log keys to plot (default: loss and val_*)")
    curves.set_defaults(func=cmd_train_plot)


def cmd_train_autoencoder(args) -> None:
    from ditto2.train.autoencoder import AutoencoderTask

    cfg = _loop_config(args, AE_LOOP)
    cfg.validate()
    task = AutoencoderTask(args.data, crop=args.crop)
    run_task(task, args, cfg)


def cmd_train_teacher(args) -> None:
    from ditto2.train.teacher import TeacherTask

    cfg = _loop_config(args, TEACHER_LOOP)
    cfg.validate()
    network = default_network() | ({"global_level": True} if args.global_level else {})
    task = TeacherTask(args.data, args.autoencoder, network=network, edm=_teacher_edm(args), crop=args.crop,
                       cond_dropout=args.cond_dropout)
    run_task(task, args, cfg)


def cmd_train_vocoder(args) -> None:
    from ditto2.audio.neural_vocoder import VocoderConfig
    from ditto2.errors import InputError
    from ditto2.train.vocoder import VocoderTask

    cfg = _loop_config(args, VOCODER_LOOP)
    cfg.validate()
    if args.grow < 0 or (args.grow and not args.init):
        raise InputError(f"--grow {args.grow}: expected a positive count of blocks to add to an --init release")
    model = VocoderConfig(dim=args.dim, hidden=3 * args.dim, blocks=args.blocks + args.grow, grown=args.grow)
    if not 0 <= args.gain_db <= 24:
        raise InputError(f"--gain-db must be between 0 and 24, got {args.gain_db}")
    if args.lsd_weight < 0:
        raise InputError(f"--lsd-weight must be >= 0, got {args.lsd_weight}")
    task = VocoderTask(args.data, model=model, crop=args.crop, adv_weight=args.adv_weight, fm_weight=args.fm_weight,
                       gain_db=args.gain_db, lsd_weight=args.lsd_weight)
    run_task(task, args, cfg)


def _teacher_edm(args):
    return dataclasses.replace(TEACHER_EDM, p_mean=args.p_mean, p_std=args.p_std, high_share=args.high_share,
                               high_sigma_min=args.high_sigma_min)


def cmd_train_clap(args) -> None:
    from pathlib import Path

    from ditto2.clap.evaluate import evaluate_split
    from ditto2.clap.model import default_config
    from ditto2.fileio import write_json
    from ditto2.train.clap import ClapTask

    cfg = _loop_config(args, CLAP_LOOP)
    cfg.validate()
    task = ClapTask(args.data, default_config(args.arch), crop=args.crop, pool=args.pool,
                    caption_seed=args.caption_seed)
    if not args.quiet:
        print(f"{task.unique_captions} distinct training captions ({task.text.encoded} newly embedded)")
    record = run_task(task, args, cfg)
    if not args.no_test:
        from ditto2.clap import ClapModel

        figures = evaluate_split(ClapModel.from_pretrained(Path(args.run) / "release.safetensors"), args.data, "test",
                                 text_fn=task.text)
        write_json(Path(args.run) / "eval-test.json", {"step": record["step"], **figures})
        _print_clap_figures(figures)


def cmd_train_clap_eval(args) -> None:
    from ditto2.clap import ClapModel
    from ditto2.clap.evaluate import evaluate_split
    from ditto2.fileio import write_json

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    from ditto2.models import CLAP_KINDS, load_clap

    model = load_clap(args.weights) if args.weights in CLAP_KINDS else ClapModel.from_pretrained(args.weights)
    figures = {"weights": args.weights, **evaluate_split(model, args.data, args.split)}
    _print_clap_figures(figures)
    if args.out:
        write_json(args.out, figures)


def _print_clap_figures(f: dict) -> None:
    print(f"{f['split']}: {f['queries']} caption queries over {f['clips']} clips; text->audio recall "
          + ", ".join(f"@{k} {f[f'r@{k}']:.3f} (chance {f[f'chance_r@{k}']:.3f})" for k in (1, 5, 10)))
    for attr in ("family", "tempo", "mode"):
        if f"{attr}_acc" not in f:   # a dataset without the attribute (user audio)
            continue
        line = f"zero-shot {attr}: acc {f[f'{attr}_acc']:.3f}, balanced {f[f'{attr}_balanced_acc']:.3f} " \
               f"(majority {f[f'{attr}_chance']:.3f})"
        if f"heldout_{attr}_acc" in f:
            line += f"; held-out words: acc {f[f'heldout_{attr}_acc']:.3f}, " \
                    f"balanced {f[f'heldout_{attr}_balanced_acc']:.3f}"
        print(line)


def cmd_train_plot(args) -> None:
    from pathlib import Path

    from ditto2.errors import InputError
    from ditto2.plots import plot_curves
    from ditto2.train.loop import read_log

    records = read_log(args.run)
    if not records:
        raise InputError(f"no training log in {args.run} (expected {args.run}/log.jsonl)")
    out = args.out or str(Path(args.run) / "curves.png")
    print(f"wrote {plot_curves(records, out, args.keys, title=Path(args.run).name)}")
