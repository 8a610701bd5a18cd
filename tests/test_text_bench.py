"""``ditto2 bench-text`` (issue 7, part 3) on the tiny random models: every condition, scoring, resume, bad input."""
import json
import math

import numpy as np
import pytest

from ditto2.errors import InputError

PROMPTS = ["a slow chorale for church organ", "an energetic cheerful tune on keys"]
CONDITIONS = "none-teacher,none-ctd-k1,cfg-1,cfg-3,ditto2-ctd-k1,both-ctd-k2"


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory):
    """Synthetic 'real' clips for the FAD reference (tones, one clip long)."""
    from conftest import tone

    from ditto2.audio import mel as M
    from ditto2.audio.io import write_audio

    folder = tmp_path_factory.mktemp("reference")
    seconds = M.CLIP_SAMPLES / M.SAMPLE_RATE / 2
    for i, freqs in enumerate(([220, 330], [262, 392], [196, 294])):
        write_audio(folder / f"real_{i}.wav", tone(freqs, seconds=seconds)[: M.CLIP_SAMPLES])
    return folder


@pytest.fixture(scope="module")
def bench_result(tiny_models_dir, reference_dir, tmp_path_factory, one_thread):
    from ditto2.pipeline import Pipeline
    from ditto2.bench import run_text_bench

    out = tmp_path_factory.mktemp("bench-text")
    result = run_text_bench(Pipeline.from_pretrained(tiny_models_dir), out, prompts=PROMPTS, conditions=CONDITIONS,
                            seeds=2, reference=reference_dir, teacher_steps=2, opt_steps=2, progress=False)
    return out, result


def test_every_condition_gives_finite_scores_and_times(bench_result):
    out, result = bench_result
    names = [r["condition"] for r in result["rows"]]
    assert names == CONDITIONS.split(",")
    assert len(result["clips"]) == len(names) * len(PROMPTS) * 2
    for row in result["rows"]:
        assert row["clips"] == 4
        for key in ("clap_score", "control_clap_score", "fad", "seconds_per_clip"):
            assert math.isfinite(row[key]), (row["condition"], key)
        assert -1.0 <= row["clap_score"] <= 1.0 and row["fad"] >= 0 and row["seconds_per_clip"] > 0
        assert 0.0 <= row["attribute_accuracy"] <= 1.0
        assert set(row["by_group"]) == {"training", "held-out"}
        assert all(math.isfinite(g["clap_score"]) for g in row["by_group"].values())
        assert [p["prompt"] for p in row["by_prompt"]] == PROMPTS
    # the first prompt states family + tempo, the second tempo + mode + family: 2 + 3 checks per seed
    assert result["rows"][0]["attribute_checks"] == 2 * (2 + 3)
    assert [p["group"] for p in result["prompts"]] == ["training", "held-out"]
    md = (out / "results.md").read_text()
    for name in names:
        assert f"### {name}" in md
    assert "held-out words" in md and "training words" in md
    assert json.loads((out / "results.json").read_text())["rows"][0]["condition"] == names[0]


def test_same_noise_across_conditions_and_seeds_differ(bench_result):
    _, result = bench_result
    seeds = {r["condition"]: [c["seed"] for c in result["clips"] if c["condition"] == r["condition"]]
             for r in result["rows"]}
    first = next(iter(seeds.values()))
    assert all(s == first for s in seeds.values()) and len(set(first)) == len(first)


def test_clap_score_is_the_eval_scorers(bench_result, tiny_models_dir):
    """The bench's CLAP score is ``ditto2 eval run``'s (TextScorer, evaluation model) on the same file."""
    from ditto2.audio.io import read_audio
    from ditto2.eval.run import RunContext, TextScorer

    out, result = bench_result
    clip = result["clips"][-1]
    sidecar = json.loads((out / clip["audio"]).with_suffix(".json").read_text())
    assert sidecar["targets"] == {"text": {"prompt": clip["prompt"]}}
    scored, _ = TextScorer().score(read_audio(out / clip["audio"]), clip["prompt"], RunContext(models_dir=tiny_models_dir))
    assert scored["clap_score"] == pytest.approx(clip["clap_score"], abs=1e-5)


def test_resume_keeps_finished_clips(bench_result, tiny_models_dir, reference_dir):
    from ditto2.pipeline import Pipeline
    from ditto2.bench import run_text_bench

    out, result = bench_result
    wav = out / "ditto2-ctd-k1" / "p0_s1000.wav"
    before = wav.stat().st_mtime_ns
    again = run_text_bench(Pipeline.from_pretrained(tiny_models_dir), out, prompts=PROMPTS,
                           conditions="ditto2-ctd-k1", seeds=2, reference=reference_dir, opt_steps=2, progress=False)
    assert wav.stat().st_mtime_ns == before
    kept = [c for c in result["clips"] if c["condition"] == "ditto2-ctd-k1"]
    assert [c["clap_score"] for c in again["clips"]] == pytest.approx([c["clap_score"] for c in kept])
    # other settings: the clip is made again
    run_text_bench(Pipeline.from_pretrained(tiny_models_dir), out, prompts=PROMPTS[:1], conditions="ditto2-ctd-k1",
                   seeds=2, reference=reference_dir, opt_steps=1, progress=False)
    assert wav.stat().st_mtime_ns != before


@pytest.mark.parametrize("prompts", [[""], ["   "], ["x" * 301], ["органная музыка для хора"], ["123 !!!"],
                                     [PROMPTS[0], PROMPTS[0]], []])
def test_bad_prompts_raise_input_error(prompts, tiny_models_dir, reference_dir, tmp_path):
    from ditto2.pipeline import Pipeline
    from ditto2.bench import run_text_bench

    with pytest.raises(InputError):
        run_text_bench(Pipeline.from_pretrained(tiny_models_dir), tmp_path, prompts=prompts, conditions="cfg-1",
                       seeds=2, reference=reference_dir, progress=False)
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("text", ["cfg", "cfg-x", "cfg--1", "ditto2-ctd", "ditto2-ctd-k9", "both-teacher",
                                  "ditto", "none-ctd-k4,none-ctd-k4", ""])
def test_bad_conditions(text):
    from ditto2.bench import TEXT, parse_conditions

    with pytest.raises(InputError):
        parse_conditions(text, TEXT)


def test_one_grammar_serves_both_benches():
    from ditto2.bench import PAPER, TEXT, Condition

    for text in ("none-teacher", "none-ctd-k2", "cfg-3", "cfg-0.5", "ditto2-cd-k1", "both-ctd-k4"):
        assert Condition.parse(text, TEXT).name == text
    assert Condition.parse("cfg-3.0", TEXT).name == "cfg-3"
    for text, grammar in (("ditto", TEXT), ("ditto2-ctd-k2-r3", TEXT), ("cfg-3", PAPER), ("both-ctd-k2", PAPER),
                          ("both-ctd-k2-r3", TEXT), ("cfg-inf", TEXT), ("cfg-nan", TEXT)):
        with pytest.raises(InputError, match="condition"):
            Condition.parse(text, grammar)
    both = Condition.parse("both-ctd-k2", TEXT)
    assert both.pipeline_method == "ditto2" and both.optimises and both.conditions_on_text
    cfg = Condition.parse("cfg-3", TEXT)
    assert cfg.pipeline_method == "none" and not cfg.optimises and cfg.conditions_on_text and cfg.cfg == 3


def test_prompt_words_and_attributes():
    from ditto2.bench import DEFAULT_PROMPTS, prompt_group, stated_attributes

    groups = [prompt_group(p) for p in DEFAULT_PROMPTS]
    assert groups.count("training") >= 2 and groups.count("held-out") >= 2
    assert stated_attributes("a calm piece for flute and harp in a minor key") == \
        {"family": "woodwinds", "tempo": "slow", "mode": "minor"}
    assert stated_attributes("an adagio melancholy piece for bowed strings") == \
        {"family": "strings", "tempo": "slow", "mode": "minor"}
    assert stated_attributes("a flute over organ chords") == {"family": "woodwinds"}  # the first named counts
    assert prompt_group("brass band playing a march") == "other"


def test_cli_bad_input_is_one_line(tiny_models_dir, reference_dir, tmp_path, capsys):
    from ditto2.cli import main

    code = main(["bench-text", "--models", str(tiny_models_dir), "--reference", str(reference_dir),
                 "--out", str(tmp_path / "o"), "--prompt", "", "--seeds", "2"])
    assert code == 2 and "empty" in capsys.readouterr().err
    code = main(["bench-text", "--models", str(tiny_models_dir), "--reference", str(reference_dir),
                 "--out", str(tmp_path / "o"), "--conditions", "cfg-abc"])
    assert code == 2 and "cfg-abc" in capsys.readouterr().err


def test_cli_runs(tiny_models_dir, reference_dir, tmp_path, capsys, one_thread):
    from ditto2.cli import main

    code = main(["bench-text", "--models", str(tiny_models_dir), "--reference", str(reference_dir),
                 "--out", str(tmp_path / "o"), "--prompt", PROMPTS[1], "--seeds", "2",
                 "--conditions", "none-ctd-k1,ditto2-ctd-k1", "--opt-steps", "1"])
    assert code == 0
    assert "ditto2-ctd-k1" in capsys.readouterr().out
    rows = json.loads((tmp_path / "o" / "results.json").read_text())["rows"]
    assert [r["condition"] for r in rows] == ["none-ctd-k1", "ditto2-ctd-k1"]
    assert np.isfinite([r["clap_score"] for r in rows]).all()
