"""Dataclasses <-> JSON-ready dicts, strictly: every field checked against its type hint.

Loading names the exact place of a problem ("links[3].mtu: expected an integer, got 'x'")
so that a corrupt or hand-edited snapshot fails with a line a user can act on.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any


class DecodeError(ValueError):
    """The data does not fit the model; the message starts with the path of the bad value."""


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (None for other types), cached per type."""
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = (tuple(f.name for f in dataclasses.fields(cls))
                 if dataclasses.is_dataclass(cls) else None)
        _FIELD_NAMES[cls] = names
        return names


def encode(obj: Any) -> Any:
    """A JSON-ready form of a model object (dataclasses become dicts, tuples lists)."""
    cls = type(obj)
    if cls in _SCALAR_TYPES:
        return obj
    if cls is tuple or cls is list:
        return [encode(v) for v in obj]
    if cls is dict:
        return {k: encode(v) for k, v in obj.items()}
    names = _names(cls)
    if names is not None:
        return {name: encode(getattr(obj, name)) for name in names}
    if isinstance(obj, tuple | list):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    return obj  # str subclasses (enums), ints ...


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               type(None): "null"}


def _describe(tp: Any) -> str:
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        return "a list"
    if origin is dict:
        return "an object"
    if dataclasses.is_dataclass(tp):
        return "an object"
    return str(tp)


def decode(tp: Any, value: Any, path: str = "") -> Any:
    """Build a value of type `tp` from JSON data, or raise DecodeError naming `path`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return decode(option, value, path)
            except DecodeError:
                continue
        raise DecodeError(f"{path}: expected {_describe(tp)}, got {value!r:.60}")
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(f"{path}: expected a list, got {value!r:.60}")
        (item_type, _ellipsis) = typing.get_args(tp)
        return tuple(decode(item_type, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {value!r:.60}")
        key_type, value_type = typing.get_args(tp)
        return {decode(key_type, k, path): decode(value_type, v, f"{path}.{k}")
                for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise DecodeError(f"{path}: expected an integer, got {value!r}")
    if tp is type(None) and value is None:
        return None
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise DecodeError(f"{path}: expected {_describe(tp)}, got {value!r:.60}")


def _decode_dataclass(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise DecodeError(f"{path or 'top level'}: expected an object, got {value!r:.60}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(value) - set(fields)
    if unknown:
        raise DecodeError(f"{path or 'top level'}: unknown field {sorted(unknown)[0]!r}")
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{sub}: missing")
            continue
        kwargs[name] = decode(hints[name], value[name], sub)
    return cls(**kwargs)
