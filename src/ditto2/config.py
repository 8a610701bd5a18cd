"""The one config mixin: JSON round trip for the frozen config dataclasses of models, objectives and tasks.

Configs are saved as JSON beside safetensors weights, so they must survive ``json.dumps``/``loads``:
tuples become lists on the way out and are turned back into (nested) tuples on the way in.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ditto2.errors import InputError


def _to_json(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _to_tuple(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_to_tuple(v) for v in value)
    return value


class JsonConfig:
    """Mixin for frozen dataclasses: ``to_dict`` / ``from_dict`` with a ``kind`` tag, unknown keys refused.

    ``kind`` is the class's tag, checked on the way in; a config whose kind varies per instance (a student's
    method: "cd" or "ctd") names the field that holds it in ``KIND_FIELD`` instead."""

    kind: ClassVar[str] = ""
    KIND_FIELD: ClassVar[str | None] = None

    def to_dict(self) -> dict:
        tag = getattr(self, self.KIND_FIELD) if self.KIND_FIELD else self.kind
        out = {"kind": tag} if tag else {}
        for f in dataclasses.fields(self):
            if f.name != self.KIND_FIELD:
                out[f.name] = _to_json(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, d: dict):
        d = dict(d)
        kind = d.pop("kind", cls.kind)
        if cls.KIND_FIELD:
            d[cls.KIND_FIELD] = kind
        elif kind != cls.kind:
            raise InputError(f"{cls.__name__} expects kind {cls.kind!r}, got {kind!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(f"{cls.__name__}: unknown config keys {unknown}; known: {sorted(names)}")
        return cls(**{k: _to_tuple(v) for k, v in d.items()})

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)
