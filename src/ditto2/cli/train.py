"""``ditto2 train ...``: the autoencoder and the teacher (students and the text model join later).

Every run resumes from ``RUN/last.safetensors`` when it exists, else warm-starts from ``--init``
(e.g. the shipped weights), and writes ``RUN/release.safetensors`` for shipping.
Several processes: ``torchrun --nproc_per_node N -m ditto2.cli train ...``; CUDA + bf16 when present.
"""
from __future__ import annotations

import dataclasses

from ditto2.models import AUTOENCODER_FILE, WEIGHTS_DIR
from ditto2.train.loop import LoopConfig


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
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def _loop_config(args, defaults: LoopConfig) -> LoopConfig:
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    return dataclasses.replace(defaults, steps=args.steps, minutes=args.minutes, batch_size=args.batch_size,
                               lr=args.lr, warmup=args.warmup, ema_decay=args.ema_decay, ckpt_every=args.ckpt_every,
                               val_every=args.val_every, sample_every=args.sample_every, seed=args.seed)


AE_LOOP = LoopConfig(steps=3000, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.995, ckpt_every=250, val_every=250,
                     sample_every=1000)
TEACHER_LOOP = LoopConfig(steps=100000, batch_size=24, lr=5e-4, warmup=500, ema_decay=0.999, ckpt_every=250,
                          val_every=500, sample_every=2000)


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
    teacher.add_argument("--crop", type=int, default=128, help="mel frames per training crop (default 128)")
    teacher.add_argument("--cond-dropout", type=float, default=0.2, help="caption dropout for CFG (default 0.2)")
    _loop_args(teacher, TEACHER_LOOP)
    teacher.set_defaults(func=cmd_train_teacher)

    curves = train.add_parser("plot", help="plot the training curves of a run")
    curves.add_argument("--run", required=True, help="run folder (with log.jsonl)")
    curves.add_argument("-o", "--out", default=None, help="image path (default RUN/curves.png)")
    curves.add_argument("--keys", nargs="*", default=None, help="log keys to plot (default: loss and val_*)")
    curves.set_defaults(func=cmd_train_plot)


def cmd_train_autoencoder(args) -> None:
    from ditto2.train import loop
    from ditto2.train.autoencoder import AutoencoderTask

    cfg = _loop_config(args, AE_LOOP)
    cfg.validate()
    task = AutoencoderTask(args.data, crop=args.crop)
    record = loop.run(task, args.run, cfg, init=args.init, device=args.device, progress=not args.quiet)
    print(f"{args.run}: step {record['step']}; weights in {args.run}/release.safetensors")


def cmd_train_teacher(args) -> None:
    from ditto2.train import loop
    from ditto2.train.teacher import TeacherTask

    cfg = _loop_config(args, TEACHER_LOOP)
    cfg.validate()
    task = TeacherTask(args.data, args.autoencoder, crop=args.crop, cond_dropout=args.cond_dropout)
    record = loop.run(task, args.run, cfg, init=args.init, device=args.device, progress=not args.quiet)
    print(f"{args.run}: step {record['step']}; weights in {args.run}/release.safetensors")


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
