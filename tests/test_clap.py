"""The CLAP-style text model, its captions and training task, and the text control (tiny random towers)."""
import re

import numpy as np
import pytest
import torch

from tiny import TINY_CLAP

from ditto2.clap import ClapModel, contrastive_loss
from ditto2.clap import captions as C
from ditto2.clap.prompts import MAX_PROMPT_CHARS, check_text_prompt
from ditto2.clap.text_cache import CaptionEmbeddings
from ditto2.errors import InputError, MissingResourceError

TINY = TINY_CLAP

META = {"piece": "bach/bwv1.6.mxl", "genre": "chorale", "monophonic": False, "tonic_pc": 9, "mode": "minor",
        "tempo_band": "slow", "ensemble": "church organ", "accompaniment": None, "drums": True, "bpm": 62.0,
        "reverb_seconds": 2.0}


def fake_encoder(texts):
    """A deterministic stand-in for MiniLM: a bag of hashed words, unit norm (384-d)."""
    out = np.zeros((len(texts), 384), np.float32)
    for i, t in enumerate(texts):
        for w in re.findall(r"[a-z]+", t.lower()):
            out[i, hash(w) % 384] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


# --- captions ----------------------------------------------------------------------------------------------

def test_captions_vary_and_name_the_attributes():
    pool = C.caption_pool(META, 64)
    assert len(set(pool)) > 40
    assert pool == C.caption_pool(META, 64)                      # a pure function of the piece
    text = " ".join(pool).lower()
    for word in ("organ", "slow", "minor", "drum", "chorale", "hymn", "a minor", "calm"):
        assert word in text
    assert all(c.strip() == c and "  " not in c for c in pool)


def test_every_ensemble_has_a_family_and_words():
    from ditto2.data.arrange import ACCOMPANIMENTS, ENSEMBLES, SOLO_INSTRUMENTS

    for name in [*ENSEMBLES, *SOLO_INSTRUMENTS]:
        assert name in C.FAMILY_OF and name in C.INSTRUMENT_WORDS
    assert set(ACCOMPANIMENTS) <= set(C.ACCOMPANIMENT_WORDS)
    assert set(C.FAMILY_WORDS) == set(C.FAMILIES)


def test_held_out_words_are_never_in_training_captions():
    vocab = C.training_vocabulary()
    held = {w for table in C.HELD_OUT.values() for words in table.values() for p in words
            for w in re.findall(r"[a-z]+", p)}
    assert not held & vocab
    rng = np.random.default_rng(0)
    metas = [dict(META, ensemble=e, genre=g, mode=m, tempo_band=t, piece=f"{e}{g}")
             for e in C.FAMILY_OF for g in C.GENRE_WORDS for m in C.MODES for t in C.TEMPO_BANDS][::7]
    words = {w for meta in metas for _ in range(5) for w in re.findall(r"[a-z]+", C.draw_caption(meta, rng).lower())}
    assert not held & words
    assert words <= vocab | {"bpm"}


def test_user_audio_clips_keep_their_own_captions(one_thread):
    from ditto2.clap.evaluate import full_caption, zero_shot

    user = {"piece": "mine/a.wav", "genre": "user", "captions": ["my piano piece"] * 3}
    assert C.caption_pool(user, 4) == ["my piano piece"] * 4
    assert full_caption(user) == "my piano piece" and C.labels(user)["family"] is None
    model = ClapModel(TINY["conv1d"]).eval()
    audio = model.embed_audio(torch.rand(2, 80, 64))
    assert zero_shot(model, audio, [user, user], fake_encoder) == {}
    assert "family_acc" in zero_shot(model, audio, [META, user], fake_encoder)


# --- model -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["conv1d", "conv2d"])
def test_towers_shapes_and_batch_independence(arch, one_thread):
    torch.manual_seed(0)
    model = ClapModel(TINY[arch]).eval()
    mel = torch.rand(3, 80, 96) * 2 - 1
    a = model.embed_audio(mel)
    assert a.shape == (3, 16) and torch.allclose(a.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(model.embed_audio(mel[1:2]), a[1:2], atol=1e-5)   # no batch statistics
    assert model.embed_text(torch.randn(2, 384)).shape == (2, 16)
    with pytest.raises(InputError):
        model.embed_audio(torch.zeros(1, 64, 96))


@pytest.mark.parametrize("arch", ["conv1d", "conv2d"])
def test_contrastive_loss_decreases(arch, one_thread):
    torch.manual_seed(0)
    model = ClapModel(TINY[arch])
    mel = torch.rand(8, 80, 64) * 2 - 1
    text = torch.nn.functional.normalize(torch.randn(8, 384), dim=1)
    groups = torch.tensor([0, 0, 1, 2, 3, 4, 5, 6])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = contrastive_loss(*model(mel, text), groups)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_contrastive_loss_groups():
    a = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    plain = contrastive_loss(a, a, torch.tensor(10.0))
    assert torch.isclose(plain, contrastive_loss(a, a, torch.tensor(10.0), torch.arange(4)))
    # clips of one piece share their metadata: swapping their captions changes nothing with groups
    t = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    groups, swap = torch.tensor([0, 0, 1, 2]), [1, 0, 2, 3]
    assert torch.isclose(contrastive_loss(a, t, torch.tensor(10.0), groups),
                         contrastive_loss(a, t[swap], torch.tensor(10.0), groups))
    assert not torch.isclose(contrastive_loss(a, t, torch.tensor(10.0)), contrastive_loss(a, t[swap], torch.tensor(10.0)))


def test_release_round_trip_and_missing_weights(tmp_path, one_thread):
    from ditto2.models import load_clap
    from ditto2.release import save_release

    torch.manual_seed(0)
    model = ClapModel(TINY["conv1d"]).eval()
    path = model.save_pretrained(tmp_path / "clap.safetensors", {"steps": 3})
    loaded = ClapModel.from_pretrained(path)
    mel, text = torch.rand(2, 80, 64) * 2 - 1, torch.randn(2, 384)
    assert torch.nn.functional.cosine_similarity(loaded.embed_audio(mel), model.embed_audio(mel)).min() > 0.999
    assert torch.nn.functional.cosine_similarity(loaded.embed_text(text), model.embed_text(text)).min() > 0.999
    assert not any(p.requires_grad for p in loaded.parameters()) and loaded.info["steps"] == 3
    assert (tmp_path / "clap.json").is_file()
    with pytest.raises(MissingResourceError, match="clap_control"):
        load_clap("control", tmp_path)
    with pytest.raises(InputError):
        load_clap("teacher", tmp_path)
    save_release(tmp_path / "other.safetensors", model, {"teacher": {}}, {})
    with pytest.raises(InputError, match="not a clap release"):
        ClapModel.from_pretrained(tmp_path / "other.safetensors")


def test_caption_embedding_cache(tmp_path):
    calls = []

    def encoder(texts):
        calls.append(list(texts))
        return fake_encoder(texts)

    cache = CaptionEmbeddings(tmp_path / "c.npz", encoder)
    first = cache(["a slow chorale", "organ", "a slow chorale"])
    assert first.shape == (3, 384) and np.allclose(first[0], first[2]) and calls == [["a slow chorale", "organ"]]
    cache(["organ"])
    assert len(calls) == 1                                       # nothing new: the encoder does not run
    again = CaptionEmbeddings(tmp_path / "c.npz", encoder)
    assert np.allclose(again(["organ"]), first[1:2]) and len(calls) == 1


# --- prompts and the text control ---------------------------------------------------------------------------

@pytest.mark.parametrize("prompt, match", [
    ("", "empty"), ("   \n", "empty"), ("x" * (MAX_PROMPT_CHARS + 1), "characters"),
    ("медленный хорал для органа", "Latin"), ("ゆっくりしたオルガンのコラール", "Latin"), ("123 !!!", "no words"),
])
def test_bad_prompts(prompt, match):
    with pytest.raises(InputError, match=match) as err:
        check_text_prompt(prompt)
    assert repr(prompt[:20].strip() or prompt)[1:-1][:10] in str(err.value)


def test_good_prompts_are_normalised():
    assert check_text_prompt("  a slow   chorale\nfor organ ") == "a slow chorale for organ"
    assert check_text_prompt("a café waltz on accordéon") == "a café waltz on accordéon"


def test_text_control_loss_decreases_under_optimisation(one_thread):
    from ditto2.controls.base import total_loss
    from ditto2.controls.text import TextControl

    torch.manual_seed(0)
    model = ClapModel(TINY["conv1d"])
    control = TextControl("a slow chorale for organ", model=model, text_encoder=fake_encoder)
    assert control.record() == {"text": {"prompt": "a slow chorale for organ"}}
    assert not any(p.requires_grad for p in model.parameters())
    mel = (torch.rand(2, 80, 128) * 2 - 1).requires_grad_(True)
    opt = torch.optim.Adam([mel], lr=0.02)
    first = control.loss(mel).detach()
    assert first.shape == (2,) and ((first >= 0) & (first <= 2)).all()
    for _ in range(40):
        total, parts = total_loss([control], mel)
        opt.zero_grad()
        total.sum().backward()
        opt.step()
    last = control.loss(mel).detach()
    assert (last < first - 0.1).all() and set(parts) == {"text"}
    with pytest.raises(InputError, match="empty"):
        TextControl(" ", model=model, text_encoder=fake_encoder)
    with pytest.raises(InputError, match="weight"):
        TextControl("organ", weight=0, model=model, text_encoder=fake_encoder)


# --- training and evaluation on the tiny dataset ----------------------------------------------------------

def test_train_clap_on_tiny_dataset(tiny_dataset, tmp_path, one_thread):
    from ditto2.clap.evaluate import evaluate_split
    from ditto2.train import loop
    from ditto2.train.clap import ClapTask

    task = ClapTask(str(tiny_dataset), TINY["conv1d"], crop=64, pool=4, encoder=fake_encoder)
    assert task.pool_emb.shape[1:] == (4, 384) and task.unique_captions > task.pool_emb.shape[0]
    assert (tiny_dataset / "text" / "clap-captions.npz").is_file()
    first = next(task.batches(6, 0, 0, 1, 0))
    assert first["mel"].shape == (6, 80, 64) and first["text"].shape == (6, 384) and first["group"].shape == (6,)
    again = next(task.batches(6, 0, 0, 1, 0))
    assert torch.equal(first["mel"], again["mel"]) and torch.equal(first["text"], again["text"])

    cfg = loop.LoopConfig(steps=6, batch_size=6, lr=1e-3, warmup=1, log_every=3, ckpt_every=3, val_every=3)
    record = loop.run(task, tmp_path / "run", cfg, progress=False)
    assert record["step"] == 6
    logged = loop.read_log(tmp_path / "run")
    assert "val_r@1" in logged[-1] and "val_family_acc" in logged[-1]
    model = ClapModel.from_pretrained(tmp_path / "run" / "release.safetensors")
    figures = evaluate_split(model, tiny_dataset, "test", text_fn=task.text)
    for key in ("r@1", "r@5", "r@10", "chance_r@1", "family_acc", "tempo_acc", "mode_acc", "mode_balanced_acc",
                "heldout_tempo_acc"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["r@10"] >= figures["r@1"]


def test_cli_train_clap_and_eval(tiny_dataset, tmp_path, one_thread, capsys):
    """The real text encoder (MiniLM) end to end: train 3 steps, test figures, then ``clap-eval``."""
    import json

    from ditto2.cli import main

    run = tmp_path / "clap"
    assert main(["train", "clap", "--data", str(tiny_dataset), "--run", str(run), "--arch", "conv2d", "--steps", "3",
                 "--batch-size", "4", "--crop", "64", "--pool", "2", "--val-every", "0", "--quiet"]) == 0
    figures = json.loads((run / "eval-test.json").read_text())
    assert figures["step"] == 3 and "r@1" in figures and "family_acc" in figures
    assert main(["train", "clap-eval", "--weights", str(run / "release.safetensors"), "--data", str(tiny_dataset),
                 "--split", "validation", "-o", str(tmp_path / "e.json")]) == 0
    assert "text->audio recall" in capsys.readouterr().out and (tmp_path / "e.json").is_file()
    assert main(["train", "clap", "--data", str(tiny_dataset), "--run", str(run), "--crop", "8"]) == 2
