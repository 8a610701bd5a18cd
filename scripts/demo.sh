#!/usr/bin/env bash
# The demo: generate music with the shipped teacher (unconditional and from a caption), and show the tiny
# dataset it learned from. Outputs land in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
D2=.venv/bin/ditto2
$D2 data build --tiny --quiet
$D2 data show data/tiny -o out/demo-dataset.png
if [ -f src/ditto2/weights/teacher.safetensors ]; then
    $D2 sample -o out/demo.wav -n 2 --seed 0 --plot out/demo.png
    $D2 sample -o out/demo-chorale.wav --text "a slow chorale for church organ in D minor" --seed 1 --plot out/demo-chorale.png
    echo "demo: listen to out/demo_0.wav, out/demo_1.wav and out/demo-chorale.wav (mels in out/demo*.png)"
else
    echo "demo: no teacher weights shipped yet; see out/demo-dataset.png"
fi
