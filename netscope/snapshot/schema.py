"""The JSON Schema of the snapshot format, generated from the model's dataclasses.

docs/snapshot.schema.json is this function's output, committed; a unit test keeps the two
equal, so the documented schema cannot drift from what netscope writes and reads.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any

from netscope.model.snapshot import (
    CLUSTER_FORMAT_NAME,
    CLUSTER_FORMAT_VERSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    Snapshot,
)

_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
            bool: {"type": "boolean"}, type(None): {"type": "null"}}


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in typing.get_args(tp)]}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object",
                "additionalProperties": _type_schema(typing.get_args(tp)[1], defs)}
    if dataclasses.is_dataclass(tp):
        _dataclass_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    return {}


def _dataclass_schema(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}  # placeholder against recursion
    hints = typing.get_type_hints(cls)
    props, required = {}, []
    for f in dataclasses.fields(cls):
        props[f.name] = _type_schema(hints[f.name], defs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    defs[cls.__name__] = {
        "description": inspect.cleandoc(cls.__doc__ or ""),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def snapshot_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a snapshot file of the current format version."""
    defs: dict[str, Any] = {}
    _dataclass_schema(Snapshot, defs)
    top = dict(defs.pop("Snapshot"))
    # a cluster document (`netscope merge`) is the same shape with header.nodes filled
    top["properties"] = {"format": {"enum": [FORMAT_NAME, CLUSTER_FORMAT_NAME]},
                         "version": {"enum": sorted({FORMAT_VERSION, CLUSTER_FORMAT_VERSION})},
                         **top["properties"]}
    top["required"] = ["format", "version", *top["required"]]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"netscope snapshot, format {FORMAT_VERSION}", **top, "$defs": defs}


if __name__ == "__main__":
    import json

    print(json.dumps(snapshot_schema(), indent=1))
