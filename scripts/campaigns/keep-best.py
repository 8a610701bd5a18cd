"""Keep the best-validated release of a run: after each validation, when the release written at that step
scores a lower 1-step MSE than any before, copy it to DEST (poll every 15 s)."""
import json, shutil, sys, time
from pathlib import Path

run, dest = Path(sys.argv[1]), Path(sys.argv[2])
dest.mkdir(parents=True, exist_ok=True)
best_file = dest / "best.json"
best = json.loads(best_file.read_text()) if best_file.exists() else {"val_mse_1step": float("inf")}
while True:
    vals = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines() if "val_mse_1step" in l]
    last = vals[-1]
    info = json.loads((run / "release.json").read_text()).get("info", {})
    if info.get("steps") == last["step"] and last["val_mse_1step"] < best["val_mse_1step"]:
        for f in ("release.safetensors", "release.json"):
            shutil.copy(run / f, dest / (f + ".tmp"))
            (dest / (f + ".tmp")).replace(dest / f)
        best = {k: last[k] for k in ("step", "val_mse_1step", "val_mse_2step", "val_mse_4step")}
        best_file.write_text(json.dumps(best))
        print("kept", best, flush=True)
    time.sleep(15)
