"""``ditto2 generate``: controlled music by noise optimisation (DITTO-2, or the DITTO baseline)."""
from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from pathlib import Path

from ditto2.cli.sample import add_vocoder_arg
from ditto2.errors import InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# The most work one command may ask for unless --no-limits: a typo such as --seconds 100000 would otherwise start
# a day-long job (long form costs about a DITTO-2 generation per 5 s of audio; docs/reliability.md).
LIMITS = {"--seconds": 600.0, "--batch": 64, "--opt-steps": 2000, "--noise-mix": 64, "--start-search": 256}
LIMITS_HELP = ", ".join(f"{flag} {value:g}" for flag, value in LIMITS.items())
EPILOG = """examples:
  ditto2 generate -o out/swell.wav --intensity "-45,-20,-45"
  ditto2 generate -o out/tune.wav --melody "C5 D5 E5:2 G5 E5 D5 C5:2" --decode-steps 4 --plot out/tune.png
  ditto2 generate -o out/form.wav --structure ABAB --batch 4 --report out/form.json
  ditto2 generate -o out/fill.wav --inpaint song.wav --gap 2:4
  ditto2 generate -o out/long.wav --seconds 20          # chained outpainting
  ditto2 generate -o out/loop.wav --loop --intensity "-30,-20,-30"
  ditto2 generate -o out/organ.wav --text "a slow chorale for organ" --intensity "-35,-15"
  ditto2 generate -o out/base.wav --method ditto --intensity "-40,-15"   # the slow DITTO baseline
"""


DESCRIPTION = ("Find the initial noise whose decoded music meets the targets, then decode it. Targets combine "
               "(weighted sum). Writes OUT.wav and OUT.json (the targets and settings, which `ditto2 eval run` "
               "scores).")


def add_commands(sub) -> None:
    import argparse

    p = sub.add_parser("generate", help="generate music that follows targets (DITTO-2 noise optimisation)",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=cmd_generate)


class _RaisingParser:
    """Mixin: argparse errors raise InputError (one line) instead of printing usage and exiting."""

    def error(self, message):
        raise InputError(message)


def generate_parser():
    """A stand-alone ``generate`` parser whose errors raise InputError: the studio parses the arguments its page
    builds with it, so the page and the command line check their input in one place."""
    import argparse

    parser = type("GenerateParser", (_RaisingParser, argparse.ArgumentParser), {})(prog="ditto2 generate",
                                                                                  description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(p) -> None:
    p.add_argument("-o", "--out", required=True, help="output audio (.wav/.flac/.ogg); --batch N writes OUT_0 ...")
    g = p.add_argument_group("engine")
    g.add_argument("--method", choices=("ditto2", "ditto", "none"), default="ditto2",
                   help="ditto2 (default): one-step student surrogate; ditto: the 20-step teacher chain "
                        "(slow baseline); none: decode the seed's noise without optimisation")
    g.add_argument("--model", choices=("ctd", "cd"), default="ctd", help="student for ditto2/none (default ctd)")
    g.add_argument("--seed", type=int, default=0, help="seed of the first candidate (default 0)")
    g.add_argument("--batch", type=int, default=1, help="number of candidates, seeds seed..seed+N-1 (default 1)")
    g.add_argument("--opt-steps", type=int, default=None,
                   help="optimisation steps (ditto2: 40, 56 with structure, 80 with inpaint or outpaint; intensity, "
                        "melody and structure stop once (nearly) on target, after at most 80 / 40 / 56; ditto: 70, 150 with "
                        "melody or structure, as in the paper; a count given here runs every step)")
    g.add_argument("--full-steps", action="store_true",
                   help="ditto2: the fixed step counts (40 for intensity), never stopping early within a tolerance")
    g.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate on the unit noise (ditto: 5e-3; ditto2: per control, 3e-2 intensity, "
                        "2e-2 structure/text, 8e-2 inpaint/outpaint/loop, 1.5e-1 melody; a mix takes the smallest)")
    g.add_argument("--decode-steps", type=int, default=None,
                   help="student decode steps, 1-8 (default per control, as measured: 1 for intensity alone or "
                        "beside melody, 2 otherwise; docs/results.md)")
    g.add_argument("--refine-steps", type=int, default=None,
                   help="ditto2 with --decode-steps > 1: Adam steps through the k-step decode after the one-step "
                        "surrogate, continuing its Adam moments at half its rate, keeping the best decoded result "
                        "(default 5 for intensity alone when decoded in 2 or more steps, where it was measured to "
                        "help, else 0; docs/results.md)")
    g.add_argument("--norm-prior", type=float, default=0.0, help="weight of the |x_T| Gaussian-shell prior")
    g.add_argument("--noise-mix", type=int, default=None, metavar="K",
                   help="ditto2: optimise a mix of K white noises per latent frame instead of the noise itself, "
                        "which keeps it white (default per control: 3 for intensity alone, else 0 = off; "
                        "docs/generation.md)")
    g.add_argument("--start-search", type=int, default=None, metavar="N",
                   help="ditto2: start each candidate from the best of N noises derived from its seed (its own "
                        "among them), judged by the controls on the one-step render (default per control: 16 for "
                        "structure alone, else 1 = the seed's own noise; docs/generation.md)")
    g.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto",
                   help="of the networks in the optimisation (default auto: bf16 on CUDA and on CPUs with AMX or "
                        "AVX512-BF16); "
                        "the controls and the final decode stay fp32")
    g.add_argument("--seconds", type=float, default=None, help="total length; longer than one clip (5.94 s) "
                                                               "chains outpainting")
    g.add_argument("--init", default=None, metavar="FILE", help="start from the DDIM inversion of this audio")
    g.add_argument("--no-limits", action="store_true",
                   help=f"lift the limits on the work one command may ask for ({LIMITS_HELP})")
    g.add_argument("--models", default=None, help="folder with the model weights (default: shipped)")
    add_vocoder_arg(g)
    c = p.add_argument_group("targets")
    c.add_argument("--intensity", default=None, metavar="DB,DB,...|FILE.json",
                   help="loudness curve in dB re full scale, values spread evenly over the clip")
    c.add_argument("--intensity-mode", choices=("l2", "corr"), default="l2", help="l2 (default) or correlation")
    c.add_argument("--intensity-swing", type=float, default=None, metavar="S",
                   help="share of the curve's rise and fall (about its mean) the music itself is asked to make, 0-1 "
                        "(default 1 for both engines; less leaves more to the finishing gain; docs/generation.md)")
    c.add_argument("--intensity-finish", type=float, default=None, metavar="DB",
                   help="the rest of the curve comes from a smooth gain on the audio of at most DB either way "
                        "(0: none; default: 12 for DITTO-2, 0 for DITTO, the paper's)")
    c.add_argument("--melody", default=None, metavar="NOTES|FILE.mid|FILE.wav",
                   help='melody: notes such as "C4 D4 E4:2 R G4", a MIDI file, or a monophonic recording')
    c.add_argument("--structure", default=None, metavar="ABBA", help="phrase diagram of capital letters")
    c.add_argument("--structure-from", default=None, metavar="FILE", help="take the structure of this audio")
    c.add_argument("--structure-margin", type=float, default=None, metavar="M",
                   help="each self-similarity cell may miss its target by M (default 0.15 beside DITTO-2's light "
                        "anchor, 0.3 where it is off: --method ditto, a mix with intensity or text; sections move "
                        "within themselves; 0: the exact blocks, DITTO's loss)")
    c.add_argument("--inpaint", default=None, metavar="FILE", help="reference clip whose --gap is filled")
    c.add_argument("--gap", default=None, metavar="START:END", help="seconds of the gap to inpaint")
    c.add_argument("--outpaint", default=None, metavar="FILE", help="reference to continue")
    c.add_argument("--overlap", type=float, default=1.0, help="seconds shared with the reference (default 1)")
    c.add_argument("--loop", action="store_true", help="make the output loop seamlessly (with --outpaint: "
                                                       "reference and continuation loop together)")
    c.add_argument("--text", default=None, metavar="PROMPT", help="text prompt, followed through the CLAP control "
                                                                 "model (works on the unconditional model)")
    c.add_argument("--condition", action="store_true", help="also give --text's prompt to the model as its own "
                   "text condition (our models are text-conditioned): better adherence, the model's own music for "
                   "the prompt (docs/generation.md)")
    c.add_argument("--weights", default=None, metavar="NAME=W,...", help="per-control weights, e.g. "
                                                                         "intensity=1,melody=0.5")
    o = p.add_argument_group("outputs")
    o.add_argument("--report", default=None, help="write a JSON report (settings, losses, metrics, timing)")
    o.add_argument("--plot", default=None, help="save the mel with each target against what was achieved")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    # "-40,-20" is a value, not an option: argparse only knows plain negative numbers.
    p._negative_number_matcher = re.compile(r"^-\.?\d")


def parse_weights(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    weights = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not weight > 0:
            raise InputError(f"--weights: expected NAME=POSITIVE_NUMBER items, got {item!r}")
        weights[name.strip()] = weight
    return weights


def parse_gap(text: str | None) -> tuple[float, float]:
    if text is None:
        raise InputError("--inpaint needs --gap START:END (seconds)")
    try:
        start, end = (float(v) for v in text.split(":"))
    except ValueError:
        raise InputError(f"--gap: expected START:END in seconds such as 2:3.5, got {text!r}") from None
    return start, end


def _intensity_values(text: str):
    if text.lower().endswith(".json") or Path(text).is_file():
        return text
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--intensity: expected comma-separated dB values such as -40,-20 or a JSON file, "
                         f"got {text!r}") from None


def _melody(text: str):
    from ditto2 import features as F

    lower = text.lower()
    if lower.endswith((".mid", ".midi")):
        return F.melody_from_midi(text)
    if lower.endswith(AUDIO_SUFFIXES):
        return F.melody_from_audio(text)
    return F.melody_from_notes(text)


@contextlib.contextmanager
def flag(name: str):
    """Errors raised while reading a flag's value name that flag."""
    try:
        yield
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith(name) else f"{name}: {message}") from None


def build_controls(args) -> list:
    """The controls the flags ask for, each with its weight; every malformed target names its flag."""
    from ditto2 import controls as C
    from ditto2 import features as F

    with flag("--weights"):
        weights = parse_weights(args.weights)
    out = []
    if args.intensity is not None:
        with flag("--intensity"):
            out.append(C.IntensityControl(F.intensity_curve(_intensity_values(args.intensity)),
                                          mode=args.intensity_mode, swing=args.intensity_swing,
                                          finish_db=args.intensity_finish))
    if args.melody is not None:
        with flag("--melody"):
            out.append(C.MelodyControl(_melody(args.melody)))
    if args.structure is not None and args.structure_from is not None:
        raise InputError("give either --structure or --structure-from, not both")
    margin = args.structure_margin  # None: the control's default (with DITTO-2's anchor or without)
    if args.structure is not None:
        with flag("--structure"):
            out.append(C.StructureControl(F.structure_from_string(args.structure), margin=margin))
    if args.structure_from is not None:
        with flag("--structure-from"):
            out.append(C.StructureControl(F.structure_from_audio(args.structure_from), margin=margin))
    out += _paint_controls(args)
    if args.text is not None:
        from ditto2.models import load_clap

        with flag("--text"):
            out.append(C.TextControl(args.text, model=load_clap("control", args.models)))
    unknown = sorted(set(weights) - {c.name for c in out})
    if unknown:
        raise InputError(f"--weights names {unknown}, which are not among the targets given "
                         f"({[c.name for c in out]})")
    for control in out:
        control.weight = weights.get(control.name, control.weight)
    return out


def _paint_controls(args) -> list:
    from ditto2 import controls as C
    from ditto2.controls.paint import reference_wave

    if args.inpaint is not None and args.outpaint is not None:
        raise InputError("give either --inpaint or --outpaint, not both: each builds the output around its reference")
    if args.inpaint is not None:
        gap = parse_gap(args.gap)
        with flag("--inpaint"):
            reference = reference_wave(args.inpaint, args.inpaint)
        with flag("--gap"):
            return [C.InpaintControl(reference, gap)]
    if args.gap is not None:
        raise InputError("--gap needs --inpaint FILE")
    if args.outpaint is not None:
        with flag("--outpaint"):
            reference = reference_wave(args.outpaint, args.outpaint)
        with flag("--overlap"):
            return [C.OutpaintControl(reference, args.overlap, loop=args.loop)]
    if args.loop:
        with flag("--overlap"):
            return [C.SelfLoopControl(args.overlap)]
    return []


def cmd_generate(args) -> None:
    from ditto2.pipeline import Pipeline

    check_args(args)  # before the models load
    generated = run_generate(args, Pipeline.from_pretrained(args.models, vocoder=args.vocoder))
    print("wrote " + ", ".join(map(str, generated.files)))


def check_args(args) -> None:
    """The checks of the output and plain-number flags (before any model is loaded)."""
    from ditto2.cli.sample import output_paths
    from ditto2.distill.samplers import check_steps

    output_paths(args.out, args.batch if args.batch >= 1 else 1)
    if args.decode_steps is not None:
        with flag("--decode-steps"):
            check_steps(args.decode_steps)
    if args.seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.condition and args.text is None:
        raise InputError("--condition needs --text PROMPT: it gives that prompt to the model as its condition")
    if args.refine_steps is not None and args.refine_steps < 0:
        raise InputError(f"--refine-steps must be a non-negative integer, got {args.refine_steps}")
    if args.noise_mix is not None and (args.noise_mix < 0 or args.noise_mix == 1):
        raise InputError(f"--noise-mix must be 0 (off) or at least 2, got {args.noise_mix}")
    if args.start_search is not None and args.start_search < 1:
        raise InputError(f"--start-search must be a positive integer, got {args.start_search}")
    for name, value in (("--lr", args.lr), ("--norm-prior", args.norm_prior), ("--seconds", args.seconds)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a finite non-negative number, got {value}")
    if not args.no_limits:
        for name, limit in LIMITS.items():
            value = getattr(args, name[2:].replace("-", "_"))
            if value is not None and value > limit:
                raise InputError(f"{name} {value:g} is over the limit of {limit:g} for one command "
                                 "(--no-limits lifts it)")


@dataclasses.dataclass
class Generated:
    files: list[Path]   # the audio written, one per candidate (each with its .json sidecar)
    result: object      # the pipeline's GenerationResult (``result.controls``: the controls as it ran them)


def run_generate(args, pipe, callback=None) -> Generated:
    """``ditto2 generate`` with parsed ``args`` on a loaded ``Pipeline``. ``callback(step, record)`` is called after
    each optimisation step (the studio's live progress)."""
    from ditto2.cli.sample import output_paths
    from ditto2.report import write_generation

    check_args(args)
    paths = output_paths(args.out, args.batch if args.batch >= 1 else 1)
    controls = build_controls(args)
    init = None
    if args.init is not None:
        from ditto2.controls.paint import reference_wave

        init = reference_wave(args.init, "--init")
    kwargs = dict(method=args.method, model=args.model, seed=args.seed, batch=args.batch, opt_steps=args.opt_steps,
                  lr=args.lr, decode_steps=args.decode_steps, norm_prior=args.norm_prior,
                  refine_steps=args.refine_steps, noise_mix=args.noise_mix, start_search=args.start_search,
                  early_stop=not args.full_steps,
                  precision=args.precision, init=init, callback=callback, progress=not args.quiet)
    if args.condition:  # check_args: there is a --text
        kwargs["text"] = next(c for c in controls if c.name == "text").condition
    if args.seconds is not None:
        result = pipe.generate_long(args.seconds, controls, overlap_s=args.overlap, **kwargs)
    else:
        result = pipe.generate(controls, **kwargs)
    files = write_generation(result, paths, report=args.report, plot=args.plot, models_dir=args.models)
    return Generated(files, result)
