"""The studio's web page (Gradio): every control with its natural input, live progress, players, plots, downloads.

The page only gathers a ``StudioRequest`` and shows what ``StudioService.generate`` wrote; messages of bad input are
the command line's own, shown in the status line.
"""
from __future__ import annotations

from pathlib import Path

from ditto2.audio import DEFAULT_VOCODER, VOCODERS
from ditto2.errors import Ditto2Error
from ditto2.studio.service import MAX_CANDIDATES, StudioRequest, check_field

CLIP_SECONDS = 5.94
INTRO = """# ditto2 studio
Music that follows your targets, by optimising the initial noise of a distilled diffusion model (DITTO-2).
Give one target or several; each candidate is a seed. Messages about the input appear under **Generate**."""


def _intensity_preview(text: str):
    """The drawn target: the typed dB values spread evenly over the clip (None while the field is empty)."""
    import numpy as np

    from ditto2.plots import pyplot

    if not text.strip():
        return None
    try:
        values = [float(v) for v in check_field("intensity", text).split(",")]
    except Ditto2Error:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.2))
    times = np.linspace(0, CLIP_SECONDS, len(values)) if len(values) > 1 else [0, CLIP_SECONDS]
    ax.plot(times, values if len(values) > 1 else values * 2, marker="o")
    ax.set_xlabel("seconds")
    ax.set_ylabel("dB")
    ax.set_title("intensity target")
    fig.tight_layout()
    return fig


def _waveform_with_gap(path: str | None, start: float | None, end: float | None):
    """The uploaded reference's waveform with the gap to fill shaded."""
    import numpy as np

    from ditto2.audio.io import read_audio
    from ditto2.plots import pyplot

    if not path:
        return None
    try:
        wave = read_audio(path)
    except Ditto2Error:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.2))
    t = np.arange(len(wave)) / 22050
    ax.plot(t[::32], wave[::32], linewidth=0.5)
    if start is not None and end is not None and end > start:
        ax.axvspan(start, end, color="tab:orange", alpha=0.3, label="gap")
        ax.legend(loc="upper right")
    ax.set_xlabel("seconds")
    fig.tight_layout()
    return fig


def _optional(value, cast=int):
    """A number field's value, None when empty or 0 (0 means "the default": Gradio shows an empty number as 0)."""
    return cast(value) if value else None


# The page's inputs in the order its "generate" endpoint takes them (also the HTTP API's order).
INPUT_FIELDS = ("intensity", "intensity_mode", "melody", "melody_file", "structure", "structure_file", "inpaint_file",
                "gap_start", "gap_end", "outpaint_file", "overlap", "loop", "seconds", "text", "text_condition",
                "weights", "method", "seed", "candidates", "opt_steps", "decode_steps", "vocoder", "report")


def page_request(v: dict) -> StudioRequest:
    """The request of the page's field values (empty text -> "", empty or 0 numbers -> the default)."""
    return StudioRequest(
        intensity=v["intensity"] or "", intensity_mode=v["intensity_mode"], melody=v["melody"] or "",
        melody_file=v["melody_file"], structure=v["structure"] or "", structure_file=v["structure_file"],
        inpaint_file=v["inpaint_file"], gap_start=v["gap_start"], gap_end=v["gap_end"],
        outpaint_file=v["outpaint_file"], overlap=float(v["overlap"] or 1.0), loop=bool(v["loop"]),
        seconds=_optional(v["seconds"], float), text=v["text"] or "",
        text_condition=bool(v["text_condition"]), weights=v["weights"] or "", method=v["method"],
        seed=int(v["seed"] or 0), candidates=int(v["candidates"]), opt_steps=_optional(v["opt_steps"]),
        decode_steps=_optional(v["decode_steps"]), vocoder=v["vocoder"], report=bool(v["report"]))


def build_page(service):
    """The Gradio Blocks of the studio, calling ``service.generate``."""
    import gradio as gr

    with gr.Blocks(title="ditto2 studio") as page:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tab("Intensity"):
                    intensity = gr.Textbox(label="loudness curve (dB, spread over the clip)",
                                           placeholder="-30,-15,-25", elem_id="intensity")
                    intensity_mode = gr.Radio(["l2", "corr"], value="l2", label="match the values (l2) or the shape")
                    preview = gr.Plot(label="target", elem_id="intensity-preview")
                with gr.Tab("Melody"):
                    melody = gr.Textbox(label="notes", placeholder="C5 D5 E5:2 R G5", elem_id="melody")
                    melody_file = gr.File(label="or a MIDI file / monophonic recording", type="filepath",
                                          file_types=[".mid", ".midi", ".wav", ".flac", ".ogg", ".mp3"])
                with gr.Tab("Structure"):
                    structure = gr.Textbox(label="phrase diagram", placeholder="AABA", elem_id="structure")
                    structure_file = gr.File(label="or copy the structure of a recording", type="filepath",
                                             file_types=["audio"])
                with gr.Tab("Inpaint / outpaint / loop"):
                    inpaint_file = gr.File(label="clip to inpaint", type="filepath", file_types=["audio"])
                    with gr.Row():
                        gap_start = gr.Number(label="gap start (s)", value=2.0)
                        gap_end = gr.Number(label="gap end (s)", value=4.0)
                    gap_plot = gr.Plot(label="the gap on the reference")
                    outpaint_file = gr.File(label="clip to continue (outpaint)", type="filepath",
                                            file_types=["audio"])
                    overlap = gr.Number(label="overlap with the reference (s)", value=1.0)
                    loop = gr.Checkbox(label="loop seamlessly", value=False)
                    seconds = gr.Number(label="long form: total seconds (0: one 5.94 s clip)", value=0)
                with gr.Tab("Text"):
                    text = gr.Textbox(label="text prompt (CLAP control)", placeholder="a slow chorale for organ")
                    text_condition = gr.Checkbox(label="also give the prompt to the model as its condition "
                                                       "(better adherence)", value=False)
                weights = gr.Textbox(label="weights of combined targets", placeholder="intensity=1,melody=0.5")
            with gr.Column(scale=2):
                method = gr.Radio(["ditto2", "ditto", "none"], value="ditto2", label="method",
                                  info="ditto2: fast; ditto: the slow baseline; none: no optimisation")
                seed = gr.Number(label="seed", value=0, precision=0, elem_id="seed")
                candidates = gr.Slider(1, MAX_CANDIDATES, value=1, step=1, label="candidates")
                opt_steps = gr.Number(label="optimisation steps (0: the control's default)", value=0, precision=0,
                                      elem_id="opt-steps")
                decode_steps = gr.Number(label="decode steps (0: the control's default)", value=0, precision=0)
                vocoder = gr.Radio(list(VOCODERS), value=DEFAULT_VOCODER, label="vocoder")
                report = gr.Checkbox(label="report with metrics on the final audio (slower)", value=False)
                run = gr.Button("Generate", variant="primary", elem_id="generate")
                status = gr.Markdown(elem_id="status")
                audio = gr.Audio(label="result (first candidate)", type="filepath", elem_id="result-audio",
                                 interactive=False)
                plot = gr.Image(label="targets against what was achieved", type="filepath", elem_id="result-plot",
                                interactive=False)
                files = gr.File(label="downloads: audio, sidecars, plot, report", file_count="multiple",
                                elem_id="downloads", interactive=False)
                with gr.Row():  # a generated clip as the next request's reference
                    reuse_inpaint = gr.Button("inpaint this result", elem_id="reuse-inpaint")
                    reuse_outpaint = gr.Button("continue this result", elem_id="reuse-outpaint")

        intensity.change(_intensity_preview, intensity, preview)
        reuse_inpaint.click(lambda path: path, audio, inpaint_file)
        reuse_outpaint.click(lambda path: path, audio, outpaint_file)
        for trigger in (inpaint_file, gap_start, gap_end):
            trigger.change(_waveform_with_gap, [inpaint_file, gap_start, gap_end], gap_plot)

        fields = dict(intensity=intensity, intensity_mode=intensity_mode, melody=melody, melody_file=melody_file,
                      structure=structure, structure_file=structure_file, inpaint_file=inpaint_file,
                      gap_start=gap_start, gap_end=gap_end, outpaint_file=outpaint_file, overlap=overlap, loop=loop,
                      seconds=seconds, text=text, text_condition=text_condition, weights=weights, method=method,
                      seed=seed, candidates=candidates, opt_steps=opt_steps, decode_steps=decode_steps,
                      vocoder=vocoder, report=report)
        assert tuple(fields) == INPUT_FIELDS

        def generate(*values, progress=gr.Progress()):
            request = page_request(dict(zip(INPUT_FIELDS, values)))
            budget = request.opt_steps or 80

            def on_step(step, loss):
                progress((min(step, budget), budget), desc=f"step {step}, loss {loss:.4g}")

            try:
                result = service.generate(request, progress=on_step)
            except Ditto2Error as exc:
                yield f"**error:** {exc}", None, None, None
                return
            downloads = [*result.audio, *result.sidecars, *([result.report] if result.report else [])]
            message = (f"done: {', '.join(result.targets) or 'uncontrolled'}; {len(result.audio)} candidate(s), "
                       f"{result.steps} optimisation steps, {result.seconds:.1f} s")
            yield message, str(result.audio[0]), None, [str(p) for p in downloads]  # listen while the plot draws
            plot_path = service.plot()
            if plot_path is not None:
                yield message, str(result.audio[0]), str(plot_path), [str(p) for p in [*downloads, plot_path]]

        # A click while the last request still draws its plot (its status already says done) runs after it, where
        # Gradio's default would drop it silently.
        run.click(generate, list(fields.values()), [status, audio, plot, files], api_name="generate",
                  trigger_mode="always_last")
    return page


def launch(service, host: str = "127.0.0.1", port: int = 7860, concurrency: int = 1, queue_size: int = 16,
           block: bool = True):
    """Serve the page; ``block=False`` returns the running app (tests, benchmarks)."""
    page = build_page(service)
    page.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    # Gradio's queue polls every 1 ms on Linux (10 ms for progress): a thousand wake-ups a second on a machine whose
    # two cores the generation's OpenMP threads want (docs/studio.md). A request now waits at most 20 ms longer.
    page._queue.sleep_when_free = 0.02
    page._queue.progress_update_sleep_when_free = 0.1
    page.launch(server_name=host, server_port=port, prevent_thread_lock=not block, show_error=False,
                max_file_size=f"{20}mb", allowed_paths=[str(Path(service.workdir) / "outputs")], quiet=True)
    return page
