"""The rows about one collaboration: its own code, and the codes of its documents (``CODE-…``: its subtasks,
risks, changes…), in the ``subject`` of the audit and of the confirmations.

A prefix is not enough: the tenth collaboration of a day, ``XZB2026112310``, is a prefix of the hundredth,
``XZB20261123100``. And ``LIKE`` reads the whole table, the audit's the largest of all. So: the code itself,
or the range from ``CODE-`` to ``CODE.`` ("." follows "-"), which the column's index reads in byte order (on
PostgreSQL the column compares as "C": ``storage/pg_indexes.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from tortoise.expressions import Q

T = TypeVar("T")

CODES_PER_STATEMENT = 300  # three parameters a code: far below the 32,767 PostgreSQL's driver takes, and the
# statement's OR of ranges stays one index read per code on both databases


def about(code: str) -> Q:
    """A filter for the rows whose ``subject`` is ``code`` or a code of one of its documents."""
    return Q(subject=code) | Q(subject__gte=f"{code}-", subject__lt=f"{code}.")


def about_any(codes: Sequence[str]) -> Q:
    """A filter for the rows about any of ``codes`` (at most ``CODES_PER_STATEMENT``: see ``in_batches``); of
    no codes, no rows."""
    if not codes:
        return Q(id__in=[])
    return Q(*(about(code) for code in codes), join_type="OR")


def in_batches(codes: Sequence[T], size: int = CODES_PER_STATEMENT) -> Iterator[Sequence[T]]:
    """``codes`` (or ids) a statement's worth at a time: the rows about many collaborations in a few statements, not
    one each — and not one whose rows, built into model instances at once, would hold up the event loop."""
    for start in range(0, len(codes), size):
        yield codes[start : start + size]
