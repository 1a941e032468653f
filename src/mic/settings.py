"""Build the package's settings dataclasses from config mappings, naming any key that does not fit."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def from_config(cls: type[T], mapping: Mapping[str, Any], where: str = "config") -> T:
    """`cls(**mapping)` with YAML lists turned into tuples; unknown keys raise a ValueError naming them."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; {cls.__name__} takes {', '.join(sorted(fields))}"
        )
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in mapping.items()})
