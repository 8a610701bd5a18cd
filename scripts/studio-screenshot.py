"""The screenshot of docs/studio.md: the studio on the shipped models, an intensity curve typed, one generation.

    .venv/bin/python scripts/studio-screenshot.py [--out docs/img/studio.png]

Starts ``ditto2 studio`` on a free loopback port, drives Debian's chromium with Playwright, and stops the studio.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "bench")
from bench_studio import free_port, start_studio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs/img/studio.png")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_studio(port, Path(tempfile.mkdtemp(prefix="ditto2-studio-")), None, threads=2)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                         args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#intensity textarea").fill("-30,-15,-25,-12")
            page.wait_for_selector("#intensity-preview img, #intensity-preview svg", timeout=30_000)
            page.click("#generate")
            page.wait_for_selector("#result-plot img", timeout=300_000)
            time.sleep(1)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    finally:
        server.terminate()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
