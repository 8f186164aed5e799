"""The rows about one collaboration: its own code, and the codes of its documents (``CODE-…``: its subtasks,
risks, changes…), in the ``subject`` of the audit and of the confirmations.

A prefix is not enough: the tenth collaboration of a day, ``XZB2026112310``, is a prefix of the hundredth,
``XZB20261123100``. And ``LIKE`` reads the whole table, the audit's the largest of all. So: the code itself,
or the range from ``CODE-`` to ``CODE.`` ("." follows "-"), which the column's index reads in byte order (on
PostgreSQL the column compares as "C": ``storage/pg_indexes.py``).
"""

from __future__ import annotations

from tortoise.expressions import Q


def about(code: str) -> Q:
    """A filter for the rows whose ``subject`` is ``code`` or a code of one of its documents."""
    return Q(subject=code) | Q(subject__gte=f"{code}-", subject__lt=f"{code}.")
