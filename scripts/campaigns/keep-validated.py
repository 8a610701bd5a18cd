"""Keep the release of every validation of a run (RUN/validated/STEP.safetensors + .json; poll every 15 s), so a
candidate can be chosen afterwards on more than the figure ``best.safetensors`` is kept on (session K: the
steering check as well as the 1-step distance)."""
import json, shutil, sys, time
from pathlib import Path

run = Path(sys.argv[1])
dest = run / "validated"
dest.mkdir(exist_ok=True)
while True:
    vals = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines() if "val_mse_1step" in l]
    info = json.loads((run / "release.json").read_text()).get("info", {})
    step = vals[-1]["step"] if vals else None
    if step is not None and info.get("steps") == step and not (dest / f"{step}.safetensors").exists():
        for suffix in (".json", ".safetensors"):  # the weights last: their presence marks a complete copy
            shutil.copy(run / f"release{suffix}", dest / f"{step}{suffix}.tmp")
            (dest / f"{step}{suffix}.tmp").replace(dest / f"{step}{suffix}")
        print("kept", step, {k: round(v, 4) for k, v in vals[-1].items() if k.startswith("val_")}, flush=True)
    time.sleep(15)
