#!/usr/bin/env bash
# The demo: music from the shipped teacher, then a controlled generation by DITTO-2 (a loudness swell and a
# melody) with its plot. Outputs land in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
D2=.venv/bin/ditto2
W=src/ditto2/weights
$D2 data build --tiny --quiet
$D2 data show data/tiny -o out/demo-dataset.png
if [ ! -f $W/teacher.safetensors ]; then
    echo "demo: no teacher weights shipped yet; see out/demo-dataset.png"
    exit 0
fi
$D2 sample -o out/demo.wav -n 2 --seed 0 --plot out/demo.png
$D2 sample -o out/demo-chorale.wav --text "a slow chorale for church organ in D minor" --seed 1 --plot out/demo-chorale.png
echo "demo: listen to out/demo_0.wav, out/demo_1.wav and out/demo-chorale.wav (mels in out/demo*.png)"
if [ -f $W/student_ctd.safetensors ]; then
    $D2 generate -o out/demo-swell.wav --intensity "-38,-14,-38" --melody "C5 E5 G5:2 E5 C5:2" --seed 0 \
        --plot out/demo-swell.png --report out/demo-swell.json
    echo "demo: DITTO-2 controlled generation in out/demo-swell.wav (targets vs achieved: out/demo-swell.png," \
         "timing and metrics: out/demo-swell.json)"
fi
if [ -f $W/clap_control.safetensors ]; then
    $D2 generate -o out/demo-text.wav --text "a fast fiddle tune with drums" --seed 2 --plot out/demo-text.png
    echo "demo: text control through CLAP in out/demo-text.wav"
fi
