"""``ditto2 studio``: serve the web studio (one process keeps the models warm)."""
from __future__ import annotations


def add_commands(sub) -> None:
    p = sub.add_parser("studio", help="a web page for every control, with the models kept warm",
                       description="Serve ditto2 studio: draw or type targets, generate, listen, download. Binds to "
                                   "loopback unless --host says otherwise. docs/studio.md")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--models", default=None, help="folder with the model weights (default: shipped)")
    p.add_argument("--workdir", default="out/studio", help="uploads and outputs (default out/studio)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="generations run at once (default 1: on a CPU they would only share the cores)")
    p.add_argument("--queue-size", type=int, default=16, help="requests that may wait (default 16)")
    p.set_defaults(func=cmd_studio)


def cmd_studio(args) -> None:
    import os
    from pathlib import Path

    from ditto2.errors import InputError

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be from 1 to 65535, got {args.port}")
    if args.concurrency < 1 or args.queue_size < 1:
        raise InputError("--concurrency and --queue-size must be at least 1")
    workdir = Path(args.workdir).resolve()
    # Uploads land in the studio's own folder, the only place the service accepts files from.
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "uploads")
    from ditto2.studio.page import launch
    from ditto2.studio.service import StudioService

    service = StudioService.load(workdir, args.models)  # the models load in the generation process
    print(f"ditto2 studio on http://{args.host}:{args.port} (Ctrl-C stops it)")
    try:
        launch(service, args.host, args.port, args.concurrency, args.queue_size)
    finally:
        service.close()

