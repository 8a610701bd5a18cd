"""``ditto2 distill --method cd|ctd``: distil the teacher into a fast student (resumable like every run)."""
from __future__ import annotations

from ditto2.cli.train import _loop_args, _loop_config, run_task
from ditto2.models import AUTOENCODER_FILE, TEACHER_FILE, WEIGHTS_DIR
from ditto2.train.loop import LoopConfig

# A lower lr than the teacher's: the student fine-tunes the teacher's weights.
DISTILL_LOOP = LoopConfig(steps=20000, batch_size=4, lr=1e-4, warmup=200, ema_decay=0.999, ckpt_every=250,
                          val_every=500, sample_every=2000)


def add_commands(sub) -> None:
    p = sub.add_parser("distill", help="distil the teacher into a consistency (cd) or trajectory (ctd) student",
                       description="Consistency distillation (CD) or consistency trajectory distillation (CTD) of "
                                   "the teacher. The student starts from the teacher's weights.")
    p.add_argument("--method", required=True, choices=("cd", "ctd"))
    p.add_argument("--data", default="data/full", help="dataset folder with caption embeddings")
    p.add_argument("--teacher", default=str(WEIGHTS_DIR / TEACHER_FILE))
    p.add_argument("--autoencoder", default=str(WEIGHTS_DIR / AUTOENCODER_FILE))
    p.add_argument("--crop", type=int, default=512, help="mel frames per training crop (default 512: whole clips)")
    p.add_argument("--cond-dropout", type=float, default=0.2)
    p.add_argument("--guidance", type=float, default=1.0, help="CFG scale baked into the teacher (default 1)")
    p.add_argument("--levels", type=int, default=18, help="N of the Karras discretisation (default 18)")
    p.add_argument("--solver", choices=("heun", "euler"), default="heun", help="teacher ODE solver")
    p.add_argument("--distance", choices=("huber", "l2"), default="huber")
    p.add_argument("--huber-c", type=float, default=1e-3)
    p.add_argument("--skip", type=int, default=1, help="CD: levels spanned by one teacher step")
    p.add_argument("--max-teacher-steps", type=int, default=4, help="CTD: most teacher steps from t to u")
    p.add_argument("--dsm-weight", type=float, default=1.0, help="CTD: weight of the denoising term")
    p.add_argument("--steer-curves", type=int, default=4,
                   help="validation also steers the intensity control through the student on this many tuning "
                        "curves (val_steer_db, dB RMS; default 4, 0: off)")
    g = p.add_argument_group("CTD trajectory term (docs/distillation.md)")
    g.add_argument("--trajectories", type=int, default=0,
                   help="CTD: train the jumps the decodes chain on a bank of this many teacher ODE trajectories, "
                        "solved once into DATA/cache (default 0: off)")
    g.add_argument("--traj-weight", type=float, default=1.0, help="weight of the trajectory term (default 1)")
    g.add_argument("--traj-batch", type=int, default=4, help="trajectories per step (default 4)")
    g.add_argument("--traj-decode-steps", default="1,2,4",
                   help="decodes whose jumps are trained, comma-separated; each divides the largest (default 1,2,4)")
    g.add_argument("--traj-substeps", type=int, default=4,
                   help="teacher Heun steps between neighbouring levels of the finest decode (default 4)")
    _loop_args(p, DISTILL_LOOP)
    p.set_defaults(func=cmd_distill)


def _trajectory_config(args):
    from ditto2.distill.trajectories import TrajectoryConfig
    from ditto2.errors import InputError

    if args.trajectories <= 0:
        return None
    try:
        steps = tuple(int(k) for k in args.traj_decode_steps.split(","))
    except ValueError:
        raise InputError(f"--traj-decode-steps must be comma-separated integers, got {args.traj_decode_steps!r}")
    return TrajectoryConfig(size=args.trajectories, decode_steps=steps, substeps=args.traj_substeps,
                            frames=args.crop, cond_dropout=args.cond_dropout, batch=args.traj_batch,
                            weight=args.traj_weight)


def cmd_distill(args) -> None:
    from ditto2.distill.losses import CDConfig, CTDConfig
    from ditto2.train.distill import DistillTask
    from ditto2.train.steering import SteeringCheck

    cfg = _loop_config(args, DISTILL_LOOP)
    cfg.validate()
    common = dict(levels=args.levels, solver=args.solver, distance=args.distance, huber_c=args.huber_c)
    objective = (CDConfig(skip=args.skip, **common) if args.method == "cd"
                 else CTDConfig(max_teacher_steps=args.max_teacher_steps, dsm_weight=args.dsm_weight, **common))
    task = DistillTask(args.data, args.teacher, args.autoencoder, method=args.method, objective=objective,
                       guidance=args.guidance, crop=args.crop, cond_dropout=args.cond_dropout,
                       trajectories=_trajectory_config(args),
                       steering=SteeringCheck(curves=args.steer_curves) if args.steer_curves else None)
    run_task(task, args, cfg)
