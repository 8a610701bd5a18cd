"""`ditto2 bench` on tiny random models and the tiny corpus: every condition is generated, timed and scored."""
import json

import pytest

from ditto2.bench import PAPER, Condition, baseline_row, parse_conditions, run_bench
from ditto2.cli import main
from ditto2.errors import InputError
from ditto2.eval.embedders import LogMelProjection
from ditto2.pipeline import Pipeline

pytestmark = pytest.mark.usefixtures("one_thread")


def test_conditions_parse_and_name_themselves():
    for text in ("ditto", "none-teacher", "none-ctd-k4", "ditto2-cd-k1", "ditto2-ctd-k2-r3"):
        assert Condition.parse(text).name == text
    assert Condition.parse("ditto2-ctd-k2-r3").refine_steps == 3 and Condition.parse("ditto2-ctd-k2").refine_steps == 0
    for bad in ("ditto2", "ditto2-xx-k1", "ditto2-ctd-4", "fast", "ditto2-ctd-k1-r3", "none-ctd-k2-r3",
                "ditto2-ctd-k2-r0", "ditto2-ctd-k2-x3"):
        with pytest.raises(InputError, match="condition"):
            Condition.parse(bad)
    assert [c.name for c in parse_conditions(" ditto, none-ctd-k4 ,", PAPER)] == ["ditto", "none-ctd-k4"]
    for bad, message in (("ditto,ditto", "twice"), (" , ", "empty")):
        with pytest.raises(InputError, match=message):
            parse_conditions(bad, PAPER)


def test_fresh_targets_are_seeded_and_differ_from_the_tuning_set():
    from ditto2.bench import FRESH_DB, INTENSITY_CURVES, fresh_curves

    curves = fresh_curves(8, seed=1000)
    assert curves == fresh_curves(8, seed=1000) and curves != fresh_curves(8, seed=1001)
    assert all(2 <= len(c) <= 5 and all(FRESH_DB[0] <= v <= FRESH_DB[1] for v in c) for c in curves)
    assert not any(c in INTENSITY_CURVES.values() for c in curves)


def test_each_row_is_compared_with_the_uncontrolled_row_of_its_model():
    rows = [{"task": t, "condition": c} for t, c in (
        ("intensity", "none-ctd-k4"), ("intensity", "none-ctd-k1"), ("intensity", "none-teacher"),
        ("intensity", "ditto2-ctd-k1"), ("intensity", "ditto2-ctd-k2"), ("intensity", "ditto"),
        ("intensity", "ditto2-cd-k1"), ("melody", "none-ctd-k2"), ("melody", "ditto2-ctd-k1"))]
    base = {(r["task"], r["condition"]): (baseline_row(r, rows) or {}).get("condition") for r in rows}
    assert base[("intensity", "ditto2-ctd-k1")] == "none-ctd-k1"  # the same decode steps first
    assert base[("intensity", "ditto2-ctd-k2")] == "none-ctd-k4"  # else the first uncontrolled row of the model
    assert base[("intensity", "ditto")] == "none-teacher" and base[("intensity", "none-ctd-k4")] == "none-ctd-k4"
    assert base[("intensity", "ditto2-cd-k1")] is None  # no uncontrolled CD row
    assert base[("melody", "ditto2-ctd-k1")] == "none-ctd-k2"  # within the task


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
    assert all(set(r["musicality"]) == {"onset_peakiness", "notes_per_clip", "peak_persistence"}
               for r in result["rows"])
    rows = {r["condition"]: r for r in intensity}
    none, ctd, cd = rows["none-ctd-k2"], rows["ditto2-ctd-k1"], rows["ditto2-cd-k2"]
    assert none["baseline"] == ctd["baseline"] == "none-ctd-k2" and cd["baseline"] is None and cd["kept"] is None
    assert ctd["kept"]["fad"] == pytest.approx(ctd["fad"] / none["fad"])
    assert ctd["kept"]["onset_peakiness"] == pytest.approx(ctd["musicality"]["onset_peakiness"]
                                                           / none["musicality"]["onset_peakiness"])
    assert "| FAD (kept) | onset peakiness (kept) | notes / 5.94 s (kept) | peak persistence (kept) |" in table
    assert f"| {none['fad']:.3g} (1) |" in table  # the uncontrolled row against itself
    assert (tmp_path / "tradeoff.png").is_file()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"][0]["condition"] == "none-ctd-k2"


def test_a_resumed_bench_refuses_clips_made_under_other_settings(tiny_models_dir, tiny_dataset, tmp_path):
    pipe = Pipeline.from_pretrained(tiny_models_dir)
    kwargs = dict(tasks=["intensity"], conditions=[Condition.parse("ditto2-ctd-k1")], n=1, n_reference=3,
                  embedder=LogMelProjection(seed=0), progress=False, precision="fp32")
    first = run_bench(pipe, tiny_dataset, tmp_path, opt_steps=1, **kwargs)
    again = run_bench(pipe, tiny_dataset, tmp_path, opt_steps=1, **kwargs)  # resumed: the kept clip is reused
    assert again["rows"][0]["metrics"] == first["rows"][0]["metrics"]
    with pytest.raises(InputError, match="optim"):
        run_bench(pipe, tiny_dataset, tmp_path, opt_steps=2, **kwargs)
    with pytest.raises(InputError, match="seed"):
        run_bench(pipe, tiny_dataset, tmp_path, opt_steps=1, seed=5, **kwargs)
    (tmp_path / "intensity" / "ditto2-ctd-k1" / "settings.json").unlink()  # as an older ditto2 left it
    with pytest.raises(InputError, match="no settings.json"):
        run_bench(pipe, tiny_dataset, tmp_path, opt_steps=1, **kwargs)


def test_bench_cli_rejects_unknown_tasks(tiny_models_dir, tiny_dataset, tmp_path, capsys):
    code = main(["bench", "--tasks", "dance", "--data", str(tiny_dataset), "--out", str(tmp_path),
                 "--models", str(tiny_models_dir)])
    assert code == 2 and "dance" in capsys.readouterr().err
