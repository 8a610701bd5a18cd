"""``ditto2 data ...``: build and inspect datasets."""
from __future__ import annotations

from ditto2.errors import Ditto2Error


def add_commands(sub) -> None:
    data = sub.add_parser("data", help="build and inspect datasets").add_subparsers(dest="data_command", required=True)

    build = data.add_parser("build", help="render the music21 corpus (or your audio) into a clip dataset",
                            description="Build a dataset of 5.94 s clips (log-mel, caption, melody target, metadata). "
                                        "Resumable: run the same command again after an interruption.")
    build.add_argument("out", nargs="?", default=None, help="output folder (default data/full, data/tiny with --tiny)")
    build.add_argument("--tiny", action="store_true", help="a handful of pieces with TimGM6mb, for tests (seconds)")
    build.add_argument("--profile", default=None,
                       help="piece selection: full (default), tiny, or vocoder (a tenth of full, every split's audio kept)")
    build.add_argument("--seed", type=int, default=0, help="seed of every arrangement choice (default 0)")
    build.add_argument("--soundfont", default=None, help="fluidr3 (default), timgm6mb or a .sf2 path")
    build.add_argument("--workers", type=int, default=2, help="parallel render processes (default 2)")
    build.add_argument("--audio-dir", default=None, help="build from your own wav/flac/ogg/mp3 files instead")
    build.add_argument("--captions", default=None, help="CSV of file,caption for --audio-dir")
    build.add_argument("--no-text", action="store_true", help="skip caching caption embeddings")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=cmd_data_build)

    show = data.add_parser("show", help="plot clips of a dataset (mel + melody target) to an image")
    show.add_argument("dataset", help="dataset folder (with manifest.json)")
    show.add_argument("-o", "--out", default="out/dataset.png", help="image path (default out/dataset.png)")
    show.add_argument("--split", default="train")
    show.add_argument("-n", type=int, default=8, help="number of clips (default 8)")
    show.add_argument("--seed", type=int, default=0)
    show.set_defaults(func=cmd_data_show)

    embed = data.add_parser("embed-captions", help="cache caption embeddings of a dataset (done by build)")
    embed.add_argument("dataset")
    embed.set_defaults(func=cmd_data_embed)


def cmd_data_build(args) -> None:
    from ditto2.data import build, text_cache, user_audio

    if args.workers < 1:
        raise Ditto2Error(f"--workers must be at least 1, got {args.workers}")
    if args.audio_dir:
        out = args.out or "data/user"
        manifest = user_audio.build_from_audio(args.audio_dir, out, args.captions, workers=args.workers,
                                               progress=not args.quiet)
    else:
        if args.captions:
            raise Ditto2Error("--captions goes with --audio-dir (corpus captions are written from the metadata)")
        profile = args.profile or ("tiny" if args.tiny else "full")
        soundfont = args.soundfont or ("timgm6mb" if profile == "tiny" else "fluidr3")
        out = args.out or f"data/{profile}"
        config = build.BuildConfig(profile=profile, seed=args.seed, soundfont=soundfont)
        manifest = build.build_dataset(out, config, workers=args.workers, progress=not args.quiet)
    if not args.no_text:
        text_cache.cache_caption_embeddings(out, progress=not args.quiet)
    totals = manifest["totals"]
    print(f"{out}: {totals['pieces']} pieces, {totals['clips']} clips, {totals['hours']:.2f} h "
          f"({len(manifest['skipped'])} skipped; see manifest.json)")


def cmd_data_show(args) -> None:
    import numpy as np

    from ditto2.data.dataset import ClipDataset
    from ditto2.plots import plot_mel_grid

    ds = ClipDataset(args.dataset, args.split, fields=("mel", "melody_pitch", "captions"))
    if len(ds) == 0:
        raise Ditto2Error(f"split {args.split!r} of {args.dataset} has no clips")
    picks = np.random.default_rng(args.seed).choice(len(ds), size=min(args.n, len(ds)), replace=False)
    items = [ds[int(i)] for i in picks]
    path = plot_mel_grid([it["mel"] for it in items], args.out, titles=[it["captions"][0] for it in items],
                         melody=[it["melody_pitch"] for it in items])
    print(f"wrote {path}")


def cmd_data_embed(args) -> None:
    from ditto2.data import text_cache

    count = text_cache.cache_caption_embeddings(args.dataset)
    print(f"embedded the captions of {count} shard(s)")
