"""`ditto2 bench` on tiny random models and the tiny corpus: every condition is generated, timed and scored."""
import json

import pytest

from ditto2.bench import Condition, run_bench
from ditto2.cli import main
from ditto2.errors import InputError
from ditto2.eval.embedders import LogMelProjection
from ditto2.pipeline import Pipeline

pytestmark = pytest.mark.usefixtures("one_thread")


def test_conditions_parse_and_name_themselves():
    for text in ("ditto", "none-teacher", "none-ctd-k4", "ditto2-cd-k1"):
        assert Condition.parse(text).name == text
    for bad in ("ditto2", "ditto2-xx-k1", "ditto2-ctd-4", "fast"):
        with pytest.raises(InputError, match="condition"):
            Condition.parse(bad)


def test_bench_generates_times_and_scores_each_condition(tiny_models_dir, tiny_dataset, tmp_path):
    conditions = [Condition.parse(c) for c in ("none-ctd-k2", "ditto2-ctd-k1", "ditto2-cd-k2")]
    result = run_bench(Pipeline.from_pretrained(tiny_models_dir), tiny_dataset, tmp_path, tasks=["intensity",
                       "outpaint", "loop"], conditions=conditions, n=2, n_reference=3, opt_steps=2,
                       embedder=LogMelProjection(seed=0), progress=False)
    assert len(result["rows"]) == 9
    for row in result["rows"]:
        assert row["seconds_per_clip"] > 0 and row["fad"] is not None
    intensity = [r for r in result["rows"] if r["task"] == "intensity"]
    assert all(r["metrics"]["intensity_mse_db2"] >= 0 for r in intensity)
    outpaint = [r for r in result["rows"] if r["task"] == "outpaint"]
    assert all(r["metrics"]["context_error_db"] is not None for r in outpaint)
    assert all(r["metrics"]["seam_flux_ratio"] >= 0 for r in outpaint)
    loop = [r for r in result["rows"] if r["task"] == "loop"]
    assert all(r["metrics"]["loop_flux_ratio"] >= 0 for r in loop)
    table = (tmp_path / "results.md").read_text()
    assert "ditto2-ctd-k1" in table and "loop jump" in table and "seam jump" in table
    assert (tmp_path / "tradeoff.png").is_file()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"][0]["condition"] == "none-ctd-k2"


def test_bench_cli_rejects_unknown_tasks(tiny_models_dir, tiny_dataset, tmp_path, capsys):
    code = main(["bench", "--tasks", "dance", "--data", str(tiny_dataset), "--out", str(tmp_path),
                 "--models", str(tiny_models_dir)])
    assert code == 2 and "dance" in capsys.readouterr().err
