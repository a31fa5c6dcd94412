"""Fast constructors for frozen model dataclasses, for readers that make tens of thousands.

A frozen dataclass's generated __init__ sets each field through object.__setattr__ (about
1.8 us for a 16-field Link here); `maker(Link)` returns a function taking every field
positionally, in declaration order, that fills the instance's __dict__ in one step (0.8 us).
The objects are equal to the constructor's (tests compare them); there are no defaults, so
every field must be given, and no __post_init__ runs (model classes have none).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A positional constructor of `cls` (every field, in declaration order)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: maker() only builds plain frozen dataclasses")
    params = ", ".join(f"f{i}" for i in range(len(names)))
    items = ", ".join(f"{name!r}: f{i}" for i, name in enumerate(names))
    source = (f"def make_{cls.__name__}({params}):\n"
              f"    obj = new(cls)\n"
              f"    obj.__dict__.update({{{items}}})\n"
              f"    return obj\n")
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(source, scope)  # built from the class's own field names, nothing else
    return scope[f"make_{cls.__name__}"]


def replaced(obj: T, **changes: Any) -> T:
    """dataclasses.replace for plain frozen model dataclasses, without re-running __init__
    (about 10x faster: 1 us instead of 10 for a Link). `changes` must name fields."""
    cls = type(obj)
    new = object.__new__(cls)
    values = new.__dict__
    values.update(obj.__dict__)
    for name in changes:
        if name not in values:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    values.update(changes)
    return new
