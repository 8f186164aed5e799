"""The per-process cache of directory rows, and how it learns what other processes changed.

Each entry is a pristine model instance read from the database; readers get a copy of it
(``storage.directory``), so what a handler does to its copy never reaches another event.
Bounded: least recently used entries go first (``capacity`` people, as many identities' owners, groups and
collaborations' groups); departments are few and kept whole.

Once per event, inside its transaction, the cache catches up (``catch_up``): the inbox claim reads
``directory_version`` and the changes recorded since the version this cache reflects (``storage.event_rows``,
``storage/directory_triggers.py``), and exactly those rows are evicted — or everything, when the ring of
changes no longer reaches back far enough. ``refresh`` reads them with a statement of its own, for when the
claim's reading cannot serve (another event moved the cache meanwhile; the database was reset).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from storage.directory_triggers import RING
from storage.models import Department, Group, Identity, Person

K = TypeVar("K")
V = TypeVar("V")
M = TypeVar("M", bound=Model)

DEFAULT_CAPACITY = 5000


class LRU(Generic[K, V]):
    """A bounded mapping that forgets the least recently used key first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def copy_of(instance: M) -> M:
    """A model instance of its own with the same column values (directory rows hold no mutable values)."""
    fresh = instance.__class__.__new__(instance.__class__)
    fresh.__dict__.update(instance.__dict__, _await_when_save={})  # (past tortoise's __setattr__ and its checks)
    return fresh


class DirectoryCache:
    """Directory rows of one process: people, their identities, groups, departments, and the groups each
    collaboration is bound to.

    Secondary keys (a handle, a name, an account, a conversation) map to a row id and are checked
    against the row on use, so evicting the row by id is all a change needs.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.version: int | None = None  # the directory version this cache reflects; None: not yet read
        self.generation = 0  # counts evictions: a row read before one is not stored after it
        self.people: LRU[int, Person] = LRU(capacity)
        self.person_ids: LRU[tuple[str, str], int] = LRU(capacity * 2)  # ("handle" | "name", text) → id
        self.absent: LRU[tuple[str, str], bool] = LRU(capacity)  # ("handle" | "name", text) nobody has
        self.identities: LRU[int, tuple[Identity, ...]] = LRU(capacity)  # person id → their accounts
        self.identity_owner: LRU[tuple[str, str], int] = LRU(capacity * 2)  # (platform, user id) → person id
        self.groups: LRU[int, Group] = LRU(capacity)
        self.group_ids: LRU[tuple[str, str], int] = LRU(capacity)  # (platform, conversation id) → id
        self.bindings: LRU[int, tuple[int, ...]] = LRU(capacity)  # collaboration id → its groups' ids
        self.departments: tuple[Department, ...] | None = None
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self.generation += 1
        for table in (self.people, self.person_ids, self.absent, self.identities, self.identity_owner, self.groups, self.group_ids, self.bindings):
            table.clear()
        self.departments = None

    def evict(self, kind: str, row_id: int) -> None:
        self.generation += 1
        if kind == "person":
            self.people.pop(row_id)
            # the changed person may now have a handle or name that was nobody's, or someone else's first
            self.absent.clear()
            self.person_ids.clear()
        elif kind == "identity":
            self.identities.pop(row_id)
        elif kind == "group":
            self.groups.pop(row_id)
        elif kind == "binding":
            self.bindings.pop(row_id)
        elif kind == "department":
            self.departments = None
        else:  # a kind this version does not know: be safe
            self.clear()

    async def refresh(self, connection: BaseDBAsyncClient, current: int | None = None) -> None:
        """Catch up with the directory's committed changes: one statement, none when ``current`` (the version
        the caller read in this transaction) is the one this cache reflects."""
        if current is not None and current == self.version:
            return
        since = self.version if self.version is not None else 0
        mark = "?" if connection.capabilities.dialect == "sqlite" else "$1"
        rows = await connection.execute_query_dict(
            "SELECT v.version AS version, c.version AS changed, c.kind AS kind, c.row_id AS row_id "
            "FROM directory_version v LEFT JOIN directory_change c "
            f"ON c.version > {mark} AND c.version <= v.version WHERE v.id = 1",
            [since],
        )
        current = int(rows[0]["version"]) if rows else 0
        self.catch_up(current, [(int(r["changed"]), str(r["kind"]), int(r["row_id"])) for r in rows if r["changed"] is not None])

    def catch_up(self, current: int, changes: Iterable[tuple[int, str, int]]) -> None:
        """Evict what ``changes`` (version, kind, row id) name, or everything when they are incomplete."""
        if current == self.version:
            return
        known = self.version
        self.version = current
        changes = list(changes)
        if known is None or current < known or current - known > RING or len({v for v, _k, _r in changes}) != current - known:
            self.clear()
            return
        for _version, kind, row_id in changes:
            self.evict(kind, row_id)
