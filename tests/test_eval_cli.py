import json

import numpy as np
import soundfile as sf

from ditto2.cli import main


def test_eval_fad_cli_scores_folders(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, make in (("ref", lambda i: 0.1 * rng.standard_normal(22050)),
                       ("gen", lambda i: 0.3 * np.sin(np.arange(22050) * 0.05 * (i + 1)))):
        (tmp_path / name).mkdir()
        for i in range(3):
            sf.write(tmp_path / name / f"{i}.wav", make(i).astype(np.float32), 22050)
    out = tmp_path / "fad.json"
    assert main(["eval", "fad", str(tmp_path / "ref"), str(tmp_path / "gen"), "--embedder", "logmel",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["fad"] > 0 and result["reference"]["files"] == 3
    assert main(["eval", "fad", str(tmp_path / "ref"), str(tmp_path / "nope"), "--embedder", "logmel"]) == 2
    assert "nope" in capsys.readouterr().err
