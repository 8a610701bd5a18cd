"""``ditto2 eval run``: synthetic clips with known answers, scored from their sidecars; bad input."""
import json

import numpy as np
import pytest
import torch
import soundfile as sf

from ditto2.audio import mel as M
from ditto2.cli import main
from ditto2.errors import InputError
from ditto2.eval.embedders import LogMelProjection
from ditto2.eval.run import SCORERS, evaluate
from ditto2.features import structure_from_string

RATE = M.SAMPLE_RATE
SCALE = (60, 62, 64, 65, 67, 69, 71, 72, 74, 72)
NOTE_S = 0.4


def write(folder, name, wave, targets=None, rate=RATE, sidecar=None):
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"{name}.wav", np.asarray(wave, dtype=np.float32), rate)
    if targets is not None or sidecar is not None:
        text = sidecar if sidecar is not None else json.dumps({"targets": targets})
        (folder / f"{name}.json").write_text(text)


def crescendo(seconds=3.0, start_db=-40.0, end_db=-10.0):
    n = int(seconds * RATE)
    level = np.linspace(start_db, end_db, n)
    wave = 10 ** (level / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)
    return wave.astype(np.float32), level[np.arange(n // M.HOP) * M.HOP]


def sine(freq, seconds, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def sine_notes(pitches):
    return np.concatenate([sine(440.0 * 2 ** ((p - 69) / 12), NOTE_S) for p in pitches])


def frame_pc(pitches, n_samples):
    index = np.arange(n_samples // M.HOP) * M.HOP // int(NOTE_S * RATE)
    return (np.asarray(pitches)[index] % 12).tolist()


def abab(seconds=1.0):
    noise = np.random.default_rng(0)
    parts = [sine(196, seconds) + sine(392, seconds, 0.1) if k == "A"
             else (0.05 * noise.standard_normal(int(seconds * RATE))).astype(np.float32) for k in "ABAB"]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, one_thread, tiny_models_dir):
    """One folder with every scorer: crescendo, melody, ABAB, paint context, a splice seam, a loop, text."""
    root = tmp_path_factory.mktemp("run")
    gen, real = root / "gen", root / "real"
    wave, level = crescendo()
    write(gen, "cresc_own", wave, {"intensity": {"db": level.tolist()}, "text": {"prompt": "a swell"}})
    write(gen, "cresc_reversed", wave, {"intensity": {"db": level[::-1].tolist()}})
    tune = sine_notes(SCALE)
    write(gen, "tune_own", tune, {"melody": {"pitch_class": frame_pc(SCALE, tune.size)}})
    write(gen, "tune_wrong", tune, {"melody": {"pitch_class": frame_pc([p + 1 for p in SCALE], tune.size)}})
    clip = abab()
    n = clip.size // M.HOP
    write(gen, "abab", clip, {"structure": {"ssm": structure_from_string("ABAB", n).tolist()},
                              "seams": [n // 4]})
    write(gen, "abab_wrong", clip, {"structure": {"ssm": structure_from_string("AABB", n).tolist()}})
    # Paint: the reference sits beside the clip (an input, not a generated clip) and matches its context.
    mask = np.zeros(n, dtype=int)
    mask[10:100] = 1
    write(gen, "painted", clip, {"context": {"reference": "painted.ref.wav", "mask": mask.tolist()}})
    write(gen, "painted.ref", clip)
    write(gen, "loop", sine(441, 2.0), {"loop": True})  # 441 Hz: a whole number of periods per 256 samples
    write(gen, "no_sidecar", sine(330, 2.0))
    for k in range(3):
        write(real, f"r{k}", tune * (0.5 + 0.2 * k))
    result = evaluate(gen, root / "out", reference=real, embedder=LogMelProjection(), progress=False,
                      models_dir=tiny_models_dir)
    return root, result, {r["file"]: r for r in result["per_file"]}


def test_intensity_from_the_sidecar(scored):
    _, _, files = scored
    own, rev = files["cresc_own.wav"]["metrics"], files["cresc_reversed.wav"]["metrics"]
    assert own["intensity_mse_db2"] < 1.0 and own["intensity_pearson"] > 0.9
    assert rev["intensity_mse_db2"] > 100 * own["intensity_mse_db2"] and rev["intensity_pearson"] < -0.9
    assert -1.0 <= files["cresc_own.wav"]["metrics"]["clap_score"] <= 1.0  # by the (tiny) evaluation CLAP model


def test_melody_from_the_sidecar(scored):
    _, _, files = scored
    own, wrong = files["tune_own.wav"]["metrics"], files["tune_wrong.wav"]["metrics"]
    assert own["melody_accuracy"] > 0.85 and wrong["melody_accuracy"] < 0.1


def test_structure_context_seams_loop(scored):
    _, _, files = scored
    assert files["abab.wav"]["metrics"]["structure_mse"] < 0.1 < files["abab_wrong.wav"]["metrics"]["structure_mse"]
    assert files["painted.wav"]["metrics"]["context_error_db"] < 0.01  # the same audio as its reference
    # A sine against noise is a far bigger jump than anything inside the (smooth) real set; a whole-period loop is not.
    assert files["abab.wav"]["metrics"]["seam_flux_ratio"] > 3
    assert files["loop.wav"]["metrics"]["loop_flux_ratio"] < 0.5 * files["abab.wav"]["metrics"]["seam_flux_ratio"]
    assert files["no_sidecar.wav"]["metrics"] == {} and files["no_sidecar.wav"]["sidecar"] is None


def test_report_files_means_and_fad(scored):
    root, _, files = scored
    out = root / "out"
    on_disk = json.loads((out / "eval.json").read_text())
    assert on_disk["files"] == 9 and on_disk["auxiliary_files"] == ["painted.ref.wav"]
    assert "painted.ref.wav" not in files
    means = on_disk["means"]
    assert means["intensity_mse_db2"]["files"] == 2 and means["melody_accuracy"]["files"] == 2
    fad = on_disk["fad"]
    assert fad["fad"] > 0 and fad["evaluated"]["files"] == 9 and fad["reference"]["files"] == 3
    assert fad["evaluated"]["seconds"] > 0 and fad["reference"]["frames"] > 0
    table = (out / "eval.md").read_text()
    assert "| cresc_own.wav |" in table and "**mean**" in table and "FAD (" in table and "CLAP score" in table
    for name in ("cresc_own", "tune_own", "abab"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
    assert files["abab.wav"]["plot"] == "plots/abab.png"
    assert set(SCORERS) == {"intensity", "melody", "structure", "context", "seams", "loop", "text"}


def test_musicality_of_every_generated_file(scored):
    root, result, files = scored
    assert result["musicality"]["files"] == 9 and "baseline" not in result and "kept" not in result
    assert all(set(r["musicality"]) == {"onset_peakiness", "notes_per_clip", "peak_persistence"}
               for r in files.values())
    assert files["tune_own.wav"]["musicality"]["notes_per_clip"] >= 8  # ten sine notes
    assert files["cresc_own.wav"]["musicality"]["peak_persistence"] > 0.8  # one held sine
    table = (root / "out" / "eval.md").read_text()
    assert "| onset peakiness | notes / 5.94 s | peak persistence |" in table and "(median)" in table
    assert "| figure | this set |" in table and "| kept |" not in table  # no baseline: absolute figures only


# --- bad input --------------------------------------------------------------------------------------

def expect_error(folder, match, **kwargs):
    with pytest.raises(InputError, match=match):
        evaluate(folder, folder / "out", progress=False, **kwargs)


def test_bad_folders_and_sidecars(tmp_path):
    (tmp_path / "empty").mkdir()
    expect_error(tmp_path / "empty", "no audio files")
    expect_error(tmp_path / "missing", "not found")
    wave = sine(440, 1.0)
    write(tmp_path / "a", "x", wave, sidecar="{not json")
    expect_error(tmp_path / "a", r"x\.json: not a valid JSON sidecar")
    write(tmp_path / "b", "x", wave, {"intensity": {"db": [-20.0] * 86}, "tempo": 120})
    expect_error(tmp_path / "b", r"x\.json: unknown target key\(s\) tempo")
    write(tmp_path / "c", "x", wave, {"context": {"reference": "gone.wav", "mask": [1] * 86}})
    expect_error(tmp_path / "c", r"x\.json: .*referenced file not found: .*gone\.wav")
    write(tmp_path / "d", "x", wave, {"intensity": {"db": [-20.0] * 50}})  # 1 s of audio has 86 frames
    expect_error(tmp_path / "d", r"x\.wav \(intensity\): .*expected 86 frames")
    write(tmp_path / "e", "x", wave, {"melody": {"pitch_class": [3] * 85 + [12]}})
    expect_error(tmp_path / "e", r"x\.wav \(melody\): .*pitch classes")
    write(tmp_path / "f", "x", wave, {"seams": [40]})
    expect_error(tmp_path / "f", r"x\.json: seam/loop targets .* --real-seams")
    write(tmp_path / "g", "x", wave, sidecar="[1, 2]")
    expect_error(tmp_path / "g", r"x\.json: expected a JSON object")
    write(tmp_path / "h", "x", wave)
    expect_error(tmp_path / "h", r"audio folder not found: .*nowhere", baseline=tmp_path / "nowhere")
    write(tmp_path / "i", "x", sine(440, 0.05))
    expect_error(tmp_path / "i", r"x\.wav \(musicality\): .*shorter than two STFT frames", plots=False)


def test_fad_needs_one_sample_rate(tmp_path):
    write(tmp_path / "gen", "a", sine(440, 1.0))
    write(tmp_path / "gen", "b", sine(440, 1.0)[::2], rate=RATE // 2)
    write(tmp_path / "ref", "r", sine(220, 1.0))
    with pytest.raises(InputError, match="different sample rates"):
        evaluate(tmp_path / "gen", tmp_path / "out", reference=tmp_path / "ref", embedder=LogMelProjection(),
                 progress=False)
    # Without FAD, each file is resampled to 22.05 kHz for the control metrics: not an error.
    assert evaluate(tmp_path / "gen", tmp_path / "out", progress=False, plots=False)["files"] == 2


def test_cli_run(tmp_path, capsys, one_thread):
    wave, level = crescendo(seconds=1.0)
    write(tmp_path / "gen", "c", wave, {"intensity": {"db": level.tolist()}})
    write(tmp_path / "ref", "r0", sine(220, 1.0))
    write(tmp_path / "ref", "r1", sine(330, 1.0))
    write(tmp_path / "base", "u0", sine(440, 1.0))  # the "uncontrolled" set
    write(tmp_path / "base", "u1", sine(494, 1.0))
    out = tmp_path / "out"
    assert main(["eval", "run", str(tmp_path / "gen"), "--reference", str(tmp_path / "ref"), "--embedder", "logmel",
                 "--out", str(out), "--no-plots", "--baseline", str(tmp_path / "base")]) == 0
    saved = json.loads((out / "eval.json").read_text())
    assert saved["fad"]["reference"]["files"] == 2 and saved["baseline"]["musicality"]["files"] == 2
    assert saved["kept"]["fad"] == pytest.approx(saved["fad"]["fad"] / saved["baseline"]["fad"]["fad"])
    assert saved["kept"]["peak_persistence"] == pytest.approx(
        saved["musicality"]["median"]["peak_persistence"] / saved["baseline"]["musicality"]["median"]["peak_persistence"])
    table = (out / "eval.md").read_text()
    assert "(2 files) | kept |" in table and "| FAD (logmel-projection-16d-seed0) ↓ |" in table
    capsys.readouterr()
    (tmp_path / "gen" / "c.json").write_text('{"targets": {"intensity": {"db": [1, 2]}, "colour": "red"}}')
    assert main(["eval", "run", str(tmp_path / "gen"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "c.json" in err and "colour" in err


# --- ditto2 eval reference (on the tiny corpus build; data/full is not needed) ----------------------

def test_reference_figures_on_the_tiny_dataset(tiny_dataset, tmp_path, one_thread):
    from ditto2.eval.reference import reference_figures

    out = tmp_path / "ref"
    result = reference_figures(tiny_dataset, out, n=3, embedders=("logmel",), progress=False,
                               export_audio=tmp_path / "R")
    rows = {r["evaluated"]: r for r in result["fad"]["logmel-projection-16d-seed0"] if r["reference"] == "R"}
    floor = rows["real test audio"]
    assert floor["evaluated_set"]["files"] == 3 and floor["reference_set"]["frames"] == 3 * 512
    assert rows["white noise"]["fad"] > floor["fad"]  # noise is further from R than real audio
    melody = result["controls"]["melody_accuracy"]
    assert melody["real audio vs its own melody (transcriber ceiling)"]["mean"] > \
        melody["white noise vs the melody (chance, noise)"]["mean"]
    intensity = result["controls"]["intensity"]
    assert intensity["GL(mel)"]["mse_db2"]["mean"] < intensity["another clip's real audio (chance)"]["mse_db2"]["mean"]
    assert json.loads((out / "reference.json").read_text())["clips_per_set"] == 3
    assert "| floor: real test audio vs R |" in (out / "reference.md").read_text()
    assert len(list((tmp_path / "R").glob("*.wav"))) == 3  # a reference folder for `eval run --reference`
    with pytest.raises(InputError, match="fewer than -n 50"):
        reference_figures(tiny_dataset, out, n=50, progress=False)
    assert main(["eval", "reference", "--data", str(tiny_dataset), "-n", "2", "--out", str(out)]) == 2


def test_reference_fad_gains_the_neural_vocoder_row(tiny_dataset, tmp_path, one_thread):
    from ditto2.audio.neural_vocoder import NeuralVocoder, VocoderConfig, VocoderNet
    from ditto2.eval.reference import reference_figures

    torch.manual_seed(0)
    untrained = NeuralVocoder(VocoderNet(VocoderConfig(dim=16, hidden=32, blocks=1)))
    result = reference_figures(tiny_dataset, tmp_path, n=3, embedders=("logmel",), controls=False, progress=False,
                               neural=untrained)
    rows = {r["evaluated"]: r for r in result["fad"]["logmel-projection-16d-seed0"] if r["reference"] == "R"}
    neural, griffin_lim = rows["neural(test mels)"], rows["GL(test mels)"]
    assert neural["evaluated_set"]["files"] == 3 and np.isfinite(neural["fad"])
    assert neural["fad"] != griffin_lim["fad"]  # its own waveforms, not Griffin-Lim's
    assert "| vocoder: neural(test mels) vs R |" in (tmp_path / "reference.md").read_text()
    plain = reference_figures(tiny_dataset, tmp_path / "plain", n=3, embedders=("logmel",), controls=False,
                              progress=False)
    assert all(r["evaluated"] != "neural(test mels)" for r in plain["fad"]["logmel-projection-16d-seed0"])


def test_seam_fad_compares_windows_around_joins_with_real_windows(scored):
    _, result, _ = scored
    joins = result["seam_fad"]
    assert joins["windows"] >= 2 and joins["real_windows"] >= 16 and joins["fad"] >= 0
    assert "Seam FAD" in (scored[0] / "out" / "eval.md").read_text()


def test_clap_embedder_windows_the_clip_with_the_evaluation_model(tiny_models_dir, tmp_path):
    from ditto2.eval.embedders import ClapEmbedder
    from ditto2.eval.fad import fad

    embedder = ClapEmbedder(tiny_models_dir)
    frames = embedder.embed(sine(440, 5.94))
    assert frames.shape[0] == (5.94 * RATE // 256 - 128) // 64 + 1 and np.all(np.isfinite(frames))
    with pytest.raises(InputError, match="too short"):
        embedder.embed(sine(440, 1.0))
    for k in range(3):
        write(tmp_path / "a", f"a{k}", sine(330 + 20 * k, 3.0))
        write(tmp_path / "b", f"b{k}", sine(660 + 20 * k, 3.0) * 0.3)
    assert fad(tmp_path / "a", tmp_path / "a", embedder).fad == pytest.approx(0.0, abs=1e-6)
    assert fad(tmp_path / "a", tmp_path / "b", embedder).fad > 0


def test_a_long_form_chain_is_measured_whole_and_an_assembly_on_its_clip(tmp_path, monkeypatch):
    from ditto2.eval import musicality
    from ditto2.eval.run import RunContext, collect, item_musicality

    rate, lengths = M.SAMPLE_RATE, []
    monkeypatch.setattr(musicality, "clip_musicality", lambda audio, transcriber: lengths.append(audio.size) or {})
    for name, clips in (("chain", 2), ("inpainted", 1)):
        sf.write(tmp_path / f"{name}.wav", np.zeros(12 * rate, np.float32) + 0.1, rate)
        sf.write(tmp_path / f"{name}.clip.wav", np.zeros(6 * rate, np.float32) + 0.1, rate)
        (tmp_path / f"{name}.json").write_text(json.dumps({"ditto2": 1, "audio": f"{name}.wav", "targets": {},
                                                           "clip": f"{name}.clip.wav", "settings": {"clips": clips}}))
    items = {it.audio.stem: it for it in collect(tmp_path)[0]}
    assert items["chain"].chained and not items["inpainted"].chained
    ctx = RunContext(None)
    item_musicality(items["chain"], ctx), item_musicality(items["inpainted"], ctx)
    assert lengths == [12 * rate, 6 * rate]
