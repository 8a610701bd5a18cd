"""ditto2 studio: the service's checks, its outputs against the command line's, the page in a real browser
(Debian's chromium driven by Playwright) and eight concurrent requests through the HTTP API."""
import concurrent.futures
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import tone

from ditto2.cli import main
from ditto2.errors import InputError
from ditto2.studio.service import StudioRequest, StudioService, Uploads, to_argv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
QUICK = dict(opt_steps=2)  # tiny random models: the point is the plumbing, not the music


@pytest.fixture(scope="module")
def service(tiny_models_dir, tmp_path_factory):
    return StudioService.load(tmp_path_factory.mktemp("studio"), tiny_models_dir, in_process=True)


@pytest.mark.parametrize("field, value, message", [
    ("intensity", "/etc/passwd.json", "intensity: expected comma-separated dB values"),
    ("intensity", "-30,abc", "intensity: expected"),
    ("melody", "../song.mid", "melody: expected notes"),
    ("structure", "ab/c", "structure: expected capital letters"),
    ("weights", "intensity=-1", "weights: expected NAME=NUMBER"),
])
def test_text_fields_hold_values_never_paths(tmp_path, field, value, message):
    with pytest.raises(InputError, match=message):
        to_argv(StudioRequest(**{field: value}), tmp_path / "o.wav", Uploads(tmp_path / "up"))


def test_files_are_taken_only_from_the_upload_folder_within_limits(tmp_path):
    uploads = Uploads(tmp_path / "up")
    outside = tmp_path / "ref.wav"
    sf.write(outside, tone([220], seconds=1.0), 22050)
    with pytest.raises(InputError, match="inpaint reference: not an uploaded file"):
        to_argv(StudioRequest(inpaint_file=str(outside), gap_start=0.2, gap_end=0.5), tmp_path / "o.wav", uploads)
    inside = uploads.folder / "ref.wav"
    shutil.copy(outside, inside)
    argv = to_argv(StudioRequest(inpaint_file=str(inside), gap_start=0.2, gap_end=0.5), tmp_path / "o.wav", uploads)
    assert argv[argv.index("--inpaint") + 1] == str(inside) and argv[argv.index("--gap") + 1] == "0.2:0.5"
    with pytest.raises(InputError, match="not an uploaded file"):  # a way out of the folder is no way in
        uploads.check(uploads.folder / ".." / "ref.wav", "x")
    long = uploads.folder / "long.wav"
    sf.write(long, np.zeros(22050 * 61, np.float32), 22050)
    with pytest.raises(InputError, match="at most 60 s"):
        uploads.check(long, "outpaint reference")
    (uploads.folder / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(InputError, match="not a readable audio file"):
        uploads.check(uploads.folder / "junk.wav", "melody file")
    with pytest.raises(InputError, match="candidates: from 1 to 4"):
        to_argv(StudioRequest(intensity="-30", candidates=9), tmp_path / "o.wav", uploads)


def test_a_studio_generation_is_the_command_lines(service, tiny_models_dir, tmp_path):
    steps = []
    result = service.generate(StudioRequest(intensity="-30,-20", seed=3, **QUICK),
                              progress=lambda step, loss: steps.append((step, loss)))
    assert steps and steps[0][0] == 0 and all(np.isfinite(loss) for _, loss in steps)
    assert service.plot().is_file() and result.sidecars[0].is_file() and result.steps == len(steps)
    assert main(["generate", "-o", str(tmp_path / "cli.wav"), "--intensity", "-30,-20", "--seed", "3",
                 "--opt-steps", "2", "--models", str(tiny_models_dir), "--quiet"]) == 0
    np.testing.assert_array_equal(sf.read(result.audio[0])[0], sf.read(tmp_path / "cli.wav")[0])

    # The studio's own process mode: the models warm in a generation process, the same music, the same messages.
    worker = StudioService.load(tmp_path / "worker", tiny_models_dir)
    try:
        with pytest.raises(InputError, match="--decode-steps"):
            worker.generate(StudioRequest(intensity="-30", decode_steps=9))
        again = worker.generate(StudioRequest(intensity="-30,-20", seed=3, **QUICK), progress=lambda *a: None)
        np.testing.assert_array_equal(sf.read(again.audio[0])[0], sf.read(tmp_path / "cli.wav")[0])
        worker.generate(StudioRequest(intensity="-25", seed=4, **QUICK))  # its plot is never asked for
        assert worker.plot().is_file() and worker.plot is not None
    finally:
        worker.close()
    # Bad input raises the command line's own message, naming the flag, and writes nothing.
    with pytest.raises(InputError, match="--decode-steps"):
        service.generate(StudioRequest(intensity="-30", decode_steps=9))
    with pytest.raises(InputError, match="--condition needs --text"):
        service.generate(StudioRequest(intensity="-30", text_condition=True))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio_url(service):
    os.environ["GRADIO_TEMP_DIR"] = str(service.uploads.folder)
    from ditto2.studio.page import launch

    port = _free_port()
    page = launch(service, port=port, concurrency=1, block=False)
    yield f"http://127.0.0.1:{port}/"
    page.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)")
def test_the_page_in_a_real_browser(studio_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(studio_url)
        page.locator("#intensity textarea").fill("-30,-15,-25")
        page.wait_for_selector("#intensity-preview img, #intensity-preview svg, #intensity-preview canvas",
                               timeout=30_000)  # the drawn target
        page.locator("#opt-steps input").fill("2")
        page.click("#generate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('done')", timeout=120_000)
        # A playable source: the browser decoded the clip (its duration shows) and the file is a WAV.
        page.wait_for_function("document.querySelector('#result-audio #duration') && "
                               "document.querySelector('#result-audio #duration').innerText !== '0:00'",
                               timeout=30_000)
        href = page.get_attribute("#result-audio a[download]", "href")
        assert href.endswith(".wav") and page.request.get(href).body()[:4] == b"RIFF"
        page.wait_for_selector("#result-plot img", timeout=30_000)  # drawn after the audio is out
        assert page.locator("#result-plot img").get_attribute("src").endswith(".png")
        # A generated clip can be the next request's reference: inpaint a gap of it.
        page.click("#reuse-inpaint")
        page.get_by_role("tab", name="Inpaint / outpaint / loop").click()
        page.wait_for_timeout(1500)  # with the curve emptied below, "done" proves the inpaint reference was set
        page.get_by_role("tab", name="Intensity").click()
        page.locator("#intensity textarea").fill("")
        page.click("#generate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('done: inpaint;')"
                               " || document.querySelector('#status').innerText.includes('error')", timeout=120_000)
        assert "done" in page.locator("#status").inner_text(), page.locator("#status").inner_text()
        page.locator("#intensity textarea").fill("-30,loud")
        page.click("#generate")  # at once: while the inpaint still draws its plot, the click must not be dropped
        page.wait_for_function("document.querySelector('#status').innerText.includes('error')", timeout=60_000)
        assert "intensity: expected comma-separated dB values" in page.locator("#status").inner_text()
        browser.close()


def test_eight_concurrent_requests_are_neither_lost_nor_mixed_up(studio_url, service, tiny_models_dir, tmp_path):
    from gradio_client import Client

    from ditto2.studio.page import INPUT_FIELDS

    client = Client(studio_url, verbose=False)
    blank = dict(intensity="-30,-20", intensity_mode="l2", melody="", melody_file=None, structure="",
                 structure_file=None, inpaint_file=None, gap_start=2.0, gap_end=4.0, outpaint_file=None, overlap=1.0,
                 loop=False, seconds=0, text="", text_condition=False, weights="", method="ditto2", candidates=1,
                 opt_steps=2, decode_steps=0, vocoder="griffinlim", report=False)
    seeds = list(range(10, 18))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        jobs = {seed: pool.submit(client.predict, *[(blank | {"seed": seed})[k] for k in INPUT_FIELDS],
                                  api_name="/generate")
                for seed in seeds}
        results = {seed: job.result(timeout=600) for seed, job in jobs.items()}
    for seed, (status, audio, _, _) in results.items():
        assert status.startswith("done"), status
        direct = service.generate(StudioRequest(intensity="-30,-20", seed=seed, **QUICK))
        np.testing.assert_array_equal(sf.read(audio)[0], sf.read(direct.audio[0])[0])
    assert len({Path(audio).read_bytes() for _, audio, _, _ in results.values()}) == len(seeds)
