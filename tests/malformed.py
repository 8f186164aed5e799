"""Hypothesis strategies for type-confused payloads: a real payload with some of its fields swapped for a
value of another JSON type (a string where an object belongs, a number where a list belongs, a dict as a
button value…). The shapes come from each platform's fake; these strategies only confuse them."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

# Values of each JSON type, plus the awkward strings parsers trip on.
BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "number": st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=False, allow_infinity=False)),
    "str": st.one_of(st.text(max_size=8), st.sampled_from(["", "not-a-number", "{", "[]", "{}", "null", "1e999", "\x00", "\u2028"])),
    "list": st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
    "dict": st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
}
ANY_JSON: st.SearchStrategy[Any] = st.one_of(*BY_KIND.values())


def other_kind(original: Any) -> st.SearchStrategy[Any]:
    """A value of any JSON type but ``original``'s (drawn directly: no filtering)."""
    kind = _kind(original)
    return st.sampled_from(sorted(k for k in BY_KIND if k != kind)).flatmap(lambda k: BY_KIND[k])


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def paths(payload: Any, prefix: Path = ()) -> list[Path]:
    """Every path into a JSON value (objects by key, lists by index), the root excluded."""
    found: list[Path] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            found.append((*prefix, key))
            found.extend(paths(value, (*prefix, key)))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found.append((*prefix, index))
            found.extend(paths(value, (*prefix, index)))
    return found


def get(payload: Any, path: Path) -> Any:
    for step in path:
        payload = payload[step]
    return payload


def replaced(payload: Any, changes: list[tuple[Path, Any]]) -> Any:
    result = copy.deepcopy(payload)
    for path, value in changes:
        try:
            parent = get(result, path[:-1])
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced an ancestor: nothing left to confuse there
    return result


@st.composite
def confused(draw: st.DrawFn, payload: Any, *, max_changes: int = 3) -> Any:
    """``payload`` with one to ``max_changes`` fields swapped for a value of a different JSON type."""
    candidates = paths(payload)
    chosen = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=max_changes, unique=True))
    changes = [(path, draw(other_kind(get(payload, path)))) for path in chosen]
    return replaced(payload, changes)
