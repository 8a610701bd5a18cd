"""The layer diagram of docs/architecture.md, held by the code: no import cycles (imports inside functions
included), each package imports only its own layer or lower ones, ``train/`` is a leaf; every control is complete;
every shipped model class round-trips through its release."""
import ast
from pathlib import Path

import pytest
import torch

from ditto2.train.loop import _check_release_kind

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "ditto2"

# Lowest first. A module may import from its own layer or a lower one (docs/architecture.md).
LAYERS = (
    ("errors", "fileio", "config", "release", "precision", "timing"),
    ("audio", "text", "features", "data", "plots"),
    ("diffusion", "distill", "clap"),
    ("models", "controls", "engine"),
    ("pipeline", "eval"),
    ("report",),
    ("bench",),
    ("train",),
    ("cli", "studio", "batch"),  # the studio runs the command line's generate: one place checks and runs a request
)
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules) -> set[str]:
    """Every ditto2 module that ``name`` imports, at any depth of its code (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in found if m in modules and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _top(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _cycle(graph) -> list[str] | None:
    """One import cycle as a path, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_import_graph_sees_imports_inside_functions_and_finds_cycles(tmp_path):
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    source = tmp_path / "lazy.py"
    source.write_text("def load():\n    from ditto2.models import shipped\n    from . import files\n")
    modules = {"ditto2.models.lazy": source, "ditto2.models.shipped": None, "ditto2.models.files": None}
    assert _imports("ditto2.models.lazy", source, modules) == {"ditto2.models.shipped", "ditto2.models.files"}


def test_no_import_cycles(graph):
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_every_package_has_a_layer(graph):
    unplaced = sorted({_top(m) for m in graph} - set(LAYER_OF) - {""})
    assert not unplaced, f"add {unplaced} to LAYERS here and to docs/architecture.md"


def test_imports_go_down_the_layers(graph):
    upward = [f"{m} -> {t}" for m, targets in graph.items() for t in targets
              if _top(m) and _top(t) and LAYER_OF[_top(t)] > LAYER_OF[_top(m)]]
    assert not upward, "imports from a higher layer:\n" + "\n".join(sorted(upward))


def test_train_is_a_leaf(graph):
    users = sorted(m for m, targets in graph.items() if _top(m) not in ("train", "cli")
                   and any(_top(t) == "train" for t in targets))
    assert not users, f"only the CLI may import ditto2.train: {users}"


def test_every_control_is_complete():
    from ditto2.controls import CONTROLS
    from ditto2.eval.run import KNOWN_KEYS, SCORERS

    names = [c.name for c in CONTROLS]
    assert len(set(names)) == len(names)
    for control in CONTROLS:
        assert control.sidecar_keys and set(control.sidecar_keys) <= set(KNOWN_KEYS), control.name
        assert all(key in SCORERS for key in control.sidecar_keys), f"{control.name}: a sidecar key has no scorer"
        assert control.settings.steps > 0 and control.settings.lr > 0


def _tiny_models():
    from tiny import TINY_AE, TINY_CLAP, random_teacher

    from ditto2.clap import ClapModel
    from ditto2.diffusion import MelAutoencoder
    from ditto2.distill import Student

    torch.manual_seed(0)
    teacher = random_teacher(0)
    return {"autoencoder": (MelAutoencoder(TINY_AE), lambda m: m(torch.rand(1, 80, 64) * 2 - 1)),
            "teacher": (teacher, lambda m: m(torch.randn(1, 2, 8, 8), 3.0)),
            "student": (Student.from_teacher(teacher, "ctd"), lambda m: m(torch.randn(1, 2, 8, 8), 3.0, 1.0)),
            "clap": (ClapModel(TINY_CLAP["conv1d"]), lambda m: m.embed_audio(torch.rand(1, 80, 64)))}


@pytest.mark.parametrize("kind", ["autoencoder", "teacher", "student", "clap"])
def test_every_shipped_model_round_trips_through_its_release(kind, tmp_path):
    from ditto2.errors import InputError

    model, run = _tiny_models()[kind]
    model.eval()
    path = model.save_pretrained(tmp_path / f"{kind}.safetensors", {"steps": 7})
    loaded = type(model).from_pretrained(path)
    assert loaded.info == {"steps": 7} and not any(p.requires_grad for p in loaded.parameters())
    assert (tmp_path / f"{kind}.json").is_file()
    with torch.no_grad():
        torch.manual_seed(1)
        expected = run(model)
        torch.manual_seed(1)
        torch.testing.assert_close(run(loaded), expected, rtol=2e-2, atol=2e-2)  # fp16 releases
    other = next(k for k in ("autoencoder", "teacher") if k != kind)
    other_path = _tiny_models()[other][0].save_pretrained(tmp_path / "other.safetensors")
    with pytest.raises(InputError, match=f"not a {kind} release"):
        type(model).from_pretrained(other_path)
    with pytest.raises(InputError, match=f"--init .* is not a {kind} release"):  # a training run's warm start
        _check_release_kind(other_path, model)
    _check_release_kind(path, model)


def test_the_shipped_weights_stay_well_under_60_mb():
    from ditto2.models import WEIGHTS_DIR

    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.safetensors"))
    assert total < 55e6, f"shipped weights total {total / 1e6:.1f} MB; the budget is well under 60 MB"
