"""Reading the directory — people, their platform accounts, groups, departments and their heads, and the groups
each collaboration is bound to — through the process's cache.

Inside an event (``Engine.dispatch`` opens an ``EventScope`` on its ``DirectoryCache``) a read is served
from the cache when it can be; outside one (the delivery worker, the dashboard, scripts) it is a plain
query. Every function returns model instances of the caller's own: change them, save them — nothing
reaches another event through the cache.

Why it is never stale (see docs/developing.md, "The directory cache"):

* every write to a directory table bumps ``directory_version`` in its own transaction (database
  triggers, ``storage/directory_triggers.py``); each event's first statement (its inbox claim) reads
  that version, and when it moved one more reads and evicts what changed since — in every process;
* an event that wrote a directory row reads that row from the database for the rest of the event (a
  tortoise signal marks it for ``save``/``create``/``delete``; a ``QuerySet.update`` of a directory table
  calls ``written``), so it sees its own change at once;
* what an event reads is only kept after its transaction committed, and only if nothing was evicted
  meanwhile: a rolled-back event leaves no trace, and a slow reader cannot put back an old row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from tortoise.exceptions import DoesNotExist
from tortoise.models import Model
from tortoise.signals import post_delete, post_save

from storage import db, sql
from storage.directory_cache import DirectoryCache, copy_of
from storage.directory_triggers import OWNERS
from storage.event_rows import DirectoryState
from storage.models import Department, Group, GroupBinding, Identity, Person


class EventScope:
    """One event's view of the cache: what it read (kept when it commits) and which rows it wrote."""

    def __init__(self, cache: DirectoryCache) -> None:
        self.cache = cache
        self.read = DirectoryCache(capacity=1 << 30)  # this event's reads, until its commit
        self.dirty: set[tuple[str, int]] = set()  # rows this event wrote: read from the database
        self.everything_dirty = False  # a write whose row is unknown: read everything from the database
        self.generation = cache.generation

    async def refresh(self, current: int | None = None) -> None:
        """Catch up with other processes' changes. ``current``: the directory version this transaction
        read already (the inbox claim reads it): no statement unless it moved."""
        await self.cache.refresh(db.connection(), current)
        self.generation = self.cache.generation

    async def catch_up(self, state: DirectoryState, since: int | None) -> None:
        """Catch up with other processes' changes from what the inbox claim read: ``state``, the version and the
        changes after ``since`` (the version the cache reflected when the claim was sent). No statement, unless
        another event of this process moved the cache meanwhile, or the version went back (a database reset):
        then ``refresh``."""
        cache = self.cache
        if cache.version != since or (since is not None and state.version < since):
            await self.refresh(state.version)
            return
        cache.catch_up(state.version, state.changes)
        self.generation = cache.generation

    def kind_dirty(self, kind: str) -> bool:
        return self.everything_dirty or any(k == kind for k, _ in self.dirty)

    def wrote(self, kind: str | None, row_id: int | None) -> None:
        if kind is None or row_id is None:
            self.everything_dirty = True
            return
        self.dirty.add((kind, row_id))
        own = self.generation == self.cache.generation
        self.cache.evict(kind, row_id)
        self.read.evict(kind, row_id)
        if own:  # its own eviction does not make what it read of other rows suspect
            self.generation = self.cache.generation

    def commit(self) -> None:
        """The event's transaction committed: keep what it read of rows it did not write, unless another
        event evicted something meanwhile (what it read may be older than that)."""
        if self.everything_dirty or self.generation != self.cache.generation:
            return
        shared, read = self.cache, self.read
        for name, kind in (("people", "person"), ("identities", "identity"), ("groups", "group"), ("bindings", "binding")):
            target = getattr(shared, name)
            for key, value in getattr(read, name)._data.items():
                if (kind, key) not in self.dirty:
                    target.put(key, value)
        if not self.kind_dirty("person"):  # (a person's change forgets every name and handle looked up)
            for key, value in read.person_ids._data.items():
                shared.person_ids.put(key, value)
            for key in read.absent._data:
                shared.absent.put(key, True)
        for name in ("identity_owner", "group_ids"):  # checked against the row on use
            target = getattr(shared, name)
            for key, value in getattr(read, name)._data.items():
                target.put(key, value)
        if read.departments is not None and not self.kind_dirty("department"):
            shared.departments = read.departments

    def find(self, table: str, key: Any, *, row: tuple[str, int] | None = None) -> Any:
        """The cached value, from this event's own reads only when it wrote ``row``."""
        value = None if row is not None and row in self.dirty else getattr(self.cache, table).get(key)
        if value is None:
            value = getattr(self.read, table).get(key)
        if value is None:
            self.cache.misses += 1
        else:
            self.cache.hits += 1
        return value


_scope: ContextVar[EventScope | None] = ContextVar("collabbot_directory_scope", default=None)


@contextmanager
def event_scope(cache: DirectoryCache) -> Iterator[EventScope]:
    """Serve this event's directory reads from ``cache`` (the engine opens it around one event)."""
    scope = EventScope(cache)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def _active() -> EventScope | None:
    """The event's scope, unless the event wrote rows it cannot name (then it reads the database)."""
    scope = _scope.get()
    return None if scope is None or scope.everything_dirty else scope


KINDS: dict[type[Model], str] = {Person: "person", Identity: "identity", Department: "department", Group: "group", GroupBinding: "binding"}


def _cached_under(instance: Model) -> int:
    """The id a written row is cached under, as its trigger names it (``directory_triggers.OWNERS``): its own, its
    person's for an account, its collaboration's for a group binding."""
    return int(getattr(instance, OWNERS.get(instance._meta.db_table, "pk")))


def written(kind: str | None = None, row_id: int | None = None) -> None:
    """A directory row was written in this event (other processes learn of it by the version row): forget
    it here at once and read it from the database for the rest of the event. ``save``, ``create`` and
    ``delete`` call this through tortoise's signals; a ``QuerySet.update`` of a directory table must call it
    itself (``kind`` as in ``storage.directory_triggers.TABLES``; an identity is named by its person's id;
    without a row, the whole directory is read from the database for the rest of the event)."""
    scope = _scope.get()
    if scope is not None:
        scope.wrote(kind, row_id)


@post_save(Person, Identity, Department, Group, GroupBinding)
async def _saved(sender: type[Model], instance: Model, created: bool, using_db: Any, update_fields: Any) -> None:
    written(KINDS[sender], _cached_under(instance))


@post_delete(Person, Identity, Department, Group, GroupBinding)
async def _deleted(sender: type[Model], instance: Model, using_db: Any) -> None:
    written(KINDS[sender], _cached_under(instance))


# ---------------------------------------------------------------- people


async def person(person_id: int | None) -> Person | None:
    """The person with this id, or None."""
    if person_id is None:
        return None
    scope = _active()
    if scope is not None and (found := scope.find("people", person_id, row=("person", person_id))) is not None:
        return copy_of(found)
    row = await sql.select_one(Person, '"t"."id" = ?', (person_id,))
    if scope is not None and row is not None:
        scope.read.people.put(row.id, row)
        return copy_of(row)
    return row


async def require_person(person_id: int) -> Person:
    """The person with this id; ``DoesNotExist`` as ``Person.get`` when there is none (a foreign key said there is)."""
    found = await person(person_id)
    if found is None:
        raise DoesNotExist(Person)
    return found


async def people(ids: Iterable[int | None], *, shared: bool = False) -> dict[int, Person]:
    """The people with these ids (those that exist), by id: one query for the ones not cached.

    ``shared``: the cache's own rows instead of copies, for a caller that only reads them (never change one).
    """
    wanted = {int(i) for i in ids if i is not None}
    scope = _active()
    keep = (lambda row: row) if shared else copy_of
    found: dict[int, Person] = {}
    if scope is not None:
        for pid in wanted:
            if (row := scope.find("people", pid, row=("person", pid))) is not None:
                found[pid] = keep(row)
    missing = wanted - found.keys()
    if missing:
        for row in await sql.select(Person, f'"t"."id" IN ({", ".join("?" * len(missing))})', sorted(missing)):
            if scope is not None:
                scope.read.people.put(row.id, row)
                row = keep(row)
            found[row.id] = row
    return found


async def person_named(field: str, text: str) -> Person | None:
    """The first person whose ``handle`` or ``name`` (``field``) is exactly ``text``."""
    scope = _active()
    key = (field, text)
    if scope is not None:
        if not scope.kind_dirty("person") and scope.find("absent", key):
            return None
        if (pid := scope.find("person_ids", key)) is not None:
            cached = await person(pid)
            if cached is not None and getattr(cached, field) == text:
                return cached
    row = await Person.filter(**{field: text}).first()
    if scope is not None:
        if row is None:
            scope.read.absent.put(key, True)
            return None
        scope.read.person_ids.put(key, row.id)
        scope.read.people.put(row.id, row)
        return copy_of(row)
    return row


# ---------------------------------------------------------------- identities


def _sorted(rows: Iterable[Identity]) -> tuple[Identity, ...]:
    return tuple(sorted(rows, key=lambda i: i.id))


async def identities_of(person_id: int) -> list[Identity]:
    """A person's platform accounts, oldest first."""
    scope = _active()
    if scope is not None and (found := scope.find("identities", person_id, row=("identity", person_id))) is not None:
        return [copy_of(i) for i in found]
    rows = _sorted(await sql.select(Identity, '"t"."person_id" = ?', (person_id,)))
    if scope is None:
        return list(rows)
    scope.read.identities.put(person_id, rows)
    for row in rows:
        scope.read.identity_owner.put((row.platform, row.platform_user_id), person_id)
    return [copy_of(i) for i in rows]


_ACCOUNTS_OF_OWNER = '"t"."person_id" IN (SELECT "person_id" FROM "identity" WHERE "platform" = ? AND "platform_user_id" = ?)'


async def identity(platform: str, platform_user_id: str) -> Identity | None:
    """The account ``platform_user_id`` on ``platform``; a miss loads all its owner's accounts in one query."""
    scope = _active()
    key = (platform, platform_user_id)
    if scope is None:
        return await Identity.filter(platform=platform, platform_user_id=platform_user_id).first()
    owner = scope.find("identity_owner", key)
    if owner is not None and (accounts := scope.find("identities", owner, row=("identity", owner))) is not None:
        for account in accounts:
            if (account.platform, account.platform_user_id) == key:
                return copy_of(account)
    rows = _sorted(await sql.select(Identity, _ACCOUNTS_OF_OWNER, key))
    match = next((row for row in rows if (row.platform, row.platform_user_id) == key), None)
    if match is None:
        return None
    scope.read.identities.put(match.person_id, rows)
    for row in rows:
        scope.read.identity_owner.put((row.platform, row.platform_user_id), match.person_id)
    return copy_of(match)


async def mark_seen(account: Identity, now: datetime) -> None:
    """Record that ``account`` was just used: one ``UPDATE`` of its ``last_seen_at``.

    No directory change (the triggers ignore that column alone, ``storage/directory_triggers.py``): no other
    process re-reads the person for it. This process's cached copies take the new time at once, so it writes
    again only when the time it knows is old; a rolled-back event leaves them a little ahead of the row, which
    only delays that next write.
    """
    await sql.update_where(Identity, {"last_seen_at": now}, {"id": account.id})
    account.last_seen_at = now
    scope = _scope.get()
    for cache in (scope.cache, scope.read) if scope is not None else ():
        for cached in cache.identities.get(account.person_id) or ():
            if cached.id == account.id:
                cached.last_seen_at = now


async def last_seen(person_id: int) -> dict[int, datetime | None]:
    """When each of a person's accounts was last used, by account id, read from the database: another process
    may have seen them since this one cached them (``mark_seen`` is no directory change)."""
    return {row.id: row.last_seen_at for row in await sql.select(Identity, '"t"."person_id" = ?', (person_id,))}


# ---------------------------------------------------------------- groups


async def group_by_id(group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    scope = _active()
    if scope is not None and (found := scope.find("groups", group_id, row=("group", group_id))) is not None:
        return copy_of(found)
    row = await sql.select_one(Group, '"t"."id" = ?', (group_id,))
    if scope is not None and row is not None:
        scope.read.groups.put(row.id, row)
        scope.read.group_ids.put((row.platform, row.conversation_id), row.id)
        return copy_of(row)
    return row


async def groups_by_id(ids: Iterable[int]) -> dict[int, Group]:
    """The groups with these ids (those that exist), by id."""
    found: dict[int, Group] = {}
    for gid in dict.fromkeys(int(i) for i in ids):
        if (group := await group_by_id(gid)) is not None:
            found[gid] = group
    return found


async def group(platform: str, conversation_id: str) -> Group | None:
    """The group of this conversation, if the bot knows it."""
    scope = _active()
    key = (platform, conversation_id)
    if scope is not None and (gid := scope.find("group_ids", key)) is not None:
        cached = await group_by_id(gid)
        if cached is not None and (cached.platform, cached.conversation_id) == key:
            return cached
    row = await sql.select_one(Group, '"t"."platform" = ? AND "t"."conversation_id" = ? ORDER BY "t"."id"', key)
    if scope is not None and row is not None:
        scope.read.groups.put(row.id, row)
        scope.read.group_ids.put(key, row.id)
        return copy_of(row)
    return row


# ---------------------------------------------------------------- the groups that follow a collaboration


_BOUND_GROUPS = 'SELECT "group_id" FROM "group_binding" WHERE "collaboration_id" = ? ORDER BY "id"'


async def bound_groups(collaboration_id: int) -> tuple[int, ...]:
    """The ids of the groups bound to a collaboration, in the order they were bound (its cards go to each)."""
    scope = _active()
    if scope is not None and (found := scope.find("bindings", collaboration_id, row=("binding", collaboration_id))) is not None:
        return found
    ids = tuple(int(row["group_id"]) for row in await sql.fetch(_BOUND_GROUPS, (collaboration_id,)))
    if scope is not None:
        scope.read.bindings.put(collaboration_id, ids)
    return ids


def bound_from_creation(collaboration_id: int, group_ids: tuple[int, ...]) -> None:
    """A collaboration created in this event is bound to exactly ``group_ids``, bound by this event (no other
    transaction can bind a collaboration it cannot see yet): the rest of the event finds them without reading its
    own bindings back. Call it after the bindings are created (each creation forgets what the event knew)."""
    scope = _active()
    if scope is not None:
        scope.read.bindings.put(collaboration_id, group_ids)


# ---------------------------------------------------------------- departments


async def departments() -> list[Department]:
    """Every department, in id order (a company has hundreds at most: they are cached whole)."""
    scope = _active()
    if scope is not None:
        shared = None if scope.kind_dirty("department") else scope.cache.departments
        cached = shared if shared is not None else scope.read.departments
        if cached is not None:
            scope.cache.hits += 1
            return [copy_of(d) for d in cached]
        scope.cache.misses += 1
    rows = tuple(await Department.all().order_by("id"))
    if scope is None:
        return list(rows)
    scope.read.departments = rows
    return [copy_of(d) for d in rows]


async def department(department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    return next((d for d in await departments() if d.id == department_id), None)


async def department_named(text: str) -> Department | None:
    """A department by code (any case), else by name (exact, then any case)."""
    key = text.strip()
    folded = key.casefold()
    every = await departments()
    for match in (
        lambda d: d.code.casefold() == folded,
        lambda d: d.name == key,
        lambda d: d.name.casefold() == folded,
    ):
        found = next((d for d in every if match(d)), None)
        if found is not None:
            return found
    return None
