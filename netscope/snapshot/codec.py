"""Dataclasses <-> JSON-ready dicts, strictly: every field checked against its type hint.

Loading names the exact place of a problem ("links[3].mtu: expected an integer, got 'x'")
so that a corrupt or hand-edited snapshot fails with a line a user can act on.
"""

from __future__ import annotations

import dataclasses
import enum
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
        return [v if type(v) in _SCALAR_TYPES else encode(v) for v in obj]
    if cls is dict:
        return {k: encode(v) for k, v in obj.items()}
    names = _names(cls)
    if names is not None:
        scalar = _SCALAR_TYPES
        values = obj.__dict__ if hasattr(obj, "__dict__") else {n: getattr(obj, n)
                                                                  for n in names}
        return {name: (v if type(v) in scalar else encode(v))
                for name in names for v in (values[name],)}
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


class _Bad(Exception):
    """A decoding failure on its way up: `where` gathers the path, innermost part first."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.where: list[str] = []


def decode(tp: Any, value: Any, path: str = "") -> Any:
    """Build a value of type `tp` from JSON data, or raise DecodeError naming `path`."""
    try:
        return _decoder(tp)(value)
    except _Bad as e:
        where = (path + "".join(reversed(e.where))).lstrip(".")
        raise DecodeError(f"{where or 'top level'}: {e.what}") from None


# one decoding function per type, made once: a snapshot of 5,000 namespaces holds about a
# million values, and re-reading type hints for each was most of the load time
_DECODERS: dict[Any, Any] = {}


def _decoder(tp: Any):
    try:
        return _DECODERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type form: build it each time
        return _make_decoder(tp)
    dec = _make_decoder(tp)
    _DECODERS[tp] = dec
    return dec


def _expected(tp: Any, value: Any) -> _Bad:
    return _Bad(f"expected {_describe(tp)}, got {value!r:.60}")


def _make_decoder(tp: Any):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(tp)
    if origin is tuple:
        item_type = typing.get_args(tp)[0]

        def tuple_of(value):
            if type(value) is not list:
                raise _Bad(f"expected a list, got {value!r:.60}")
            item = _decoder(item_type)
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(item(v))
                except _Bad as e:
                    e.where.append(f"[{i}]")
                    raise
            return tuple(out)
        return tuple_of
    if origin is dict:
        key_type, value_type = typing.get_args(tp)

        def dict_of(value):
            if type(value) is not dict:
                raise _Bad(f"expected an object, got {value!r:.60}")
            key, item = _decoder(key_type), _decoder(value_type)
            out = {}
            for k, v in value.items():
                try:
                    out[key(k)] = item(v)
                except _Bad as e:
                    e.where.append(f".{k}")
                    raise
            return out
        return dict_of
    if dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    return _scalar_decoder(tp)


def _scalar_decoder(tp: Any):
    if tp is Any:
        return lambda value: value
    if tp is float:
        def as_float(value):
            if type(value) is float:
                return value
            if type(value) is int:
                return float(value)
            raise _expected(tp, value)
        return as_float
    if tp is type(None):
        def as_none(value):
            if value is None:
                return None
            raise _expected(tp, value)
        return as_none
    if tp in (int, str, bool):
        def exact(value):  # json gives exact types; bool is not an int here
            if type(value) is tp:
                return value
            raise _expected(tp, value)
        return exact
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        def member(value):  # an enum is written as its value (StrEnum: the string)
            try:
                return tp(value)
            except ValueError:
                words = ", ".join(repr(m.value) for m in tp)
                raise _Bad(f"expected one of {words}, got {value!r:.60}") from None
        return member

    def instance(value):
        if isinstance(tp, type) and isinstance(value, tp):
            return value
        raise _expected(tp, value)
    return instance


def _union_decoder(tp: Any):
    options = typing.get_args(tp)
    if len(options) == 2 and type(None) in options:
        other = options[0] if options[1] is type(None) else options[1]

        def optional(value):
            if value is None:
                return None
            try:
                return _decoder(other)(value)
            except _Bad:
                raise _expected(tp, value) from None
        return optional

    def union(value):
        for option in options:
            try:
                return _decoder(option)(value)
            except _Bad:
                continue
        raise _expected(tp, value)
    return union


def _dataclass_decoder(cls: type):
    # (name, decoder, default) per field, filled on first use (types may recurse); default
    # is _REQUIRED, a value, or a _Factory
    table: list = []
    names: set[str] = set()
    # the model's frozen dataclasses have no __post_init__: their objects are made without
    # running __init__ (its frozen setattr per field was a third of the load time)
    direct = hasattr(cls, "__dict__") and not hasattr(cls, "__post_init__") \
        and not getattr(cls, "__slots__", None)

    def build(value):
        if type(value) is not dict:
            raise _Bad(f"expected an object, got {value!r:.60}")
        if not table:
            hints = _hints(cls)
            for f in dataclasses.fields(cls):
                default = (f.default if f.default is not dataclasses.MISSING
                           else _Factory(f.default_factory)
                           if f.default_factory is not dataclasses.MISSING else _REQUIRED)
                table.append((f.name, _decoder(hints[f.name]), default))
                names.add(f.name)
        if not names.issuperset(value):
            raise _Bad(f"unknown field {sorted(set(value) - names)[0]!r}")
        kwargs = {}
        for name, dec, default in table:
            if name in value:
                try:
                    kwargs[name] = dec(value[name])
                except _Bad as e:
                    e.where.append(f".{name}")
                    raise
            elif default is _REQUIRED:
                bad = _Bad("missing")
                bad.where.append(f".{name}")
                raise bad
            elif direct:
                kwargs[name] = default.make() if type(default) is _Factory else default
        if not direct:
            return cls(**kwargs)
        obj = object.__new__(cls)
        obj.__dict__.update(kwargs)
        return obj
    return build


_REQUIRED = object()


class _Factory:
    """A field's default_factory, told apart from a default value that is a tuple."""

    def __init__(self, make) -> None:
        self.make = make
