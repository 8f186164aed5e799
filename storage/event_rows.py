"""The rows every event writes — inbox, audit, outbox, cards and timers — as plain parameterised SQL.

Every event passes here (``bot.engine`` claims its delivery id and records its decisions,
``bot.outcome_writer`` turns its ``Outcome`` into these rows, ``storage.event_end`` writes them), so these
statements skip tortoise's query builder (``storage.sql``). Each runs on the current transaction's connection,
one text for SQLite (>= 3.35, for ``RETURNING``) and PostgreSQL; several rows of one kind are one multi-row
statement. Where several statements of an event can be one, PostgreSQL gets that one (data-modifying ``WITH``
clauses: ``update_cards``, ``place_card``, and the end of an event in ``storage.event_end``): a statement is a
round trip there, and a function call on SQLite, which keeps the plain ones. The tables are the ORM's
(``storage.models``) and so is each value's encoding: what is written here reads back through the models
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from storage import sql
from storage.directory_triggers import RING
from storage.models import AuditEntry, CardPost, CardRecord, InboxEntry, OutboxMessage, Timer

# --- inbox ------------------------------------------------------------------------------------------

_CLAIM = (
    'INSERT INTO "inbox" ("platform", "delivery_id", "received_at") VALUES (?, ?, ?) '
    'ON CONFLICT ("platform", "delivery_id") DO NOTHING '
    'RETURNING "id", (SELECT "version" FROM "directory_version" WHERE "id" = 1) AS "directory_version", '
    '(SELECT {concat}(CAST("version" AS TEXT) || \' \' || "kind" || \' \' || CAST("row_id" AS TEXT), \',\') '
    'FROM "directory_change" WHERE "version" > ? AND "version" <= ?) AS "directory_changes"'
)
# the upper bound changes nothing the cache keeps (further behind than the ring, it empties itself), but it lets
# PostgreSQL keep one generic plan for the claim: with "> ?" alone its estimate for a generic plan (a third of the
# ring) lost to a plan made for each value, and it planned the claim afresh every event (85 µs of server CPU)
_CLAIMS = {dialect: _CLAIM.format(concat=concat) for dialect, concat in (("sqlite", "group_concat"), ("postgres", "string_agg"))}
_INBOX = sql.encoders(InboxEntry, ("platform", "delivery_id", "received_at"))
_NOTHING_SINCE = 1 << 62  # a version no directory reaches: no changes are read


async def claim_delivery(platform: str, delivery_id: str, received_at: datetime) -> bool:
    """Record a delivery id as handled: False when it already was (a redelivery)."""
    return await claim_and_read_directory(platform, delivery_id, received_at) is not None


@dataclass(slots=True)
class DirectoryState:
    """The directory's version as the inbox claim read it, and the changes recorded after ``since``:
    (version, kind, row id), in no order (``storage.directory_cache``)."""

    version: int
    changes: list[tuple[int, str, int]]


async def claim_and_read_directory(platform: str, delivery_id: str, received_at: datetime, since: int | None = None) -> DirectoryState | None:
    """Record a delivery id as handled and read, in the same statement, the directory's version (0 before its
    first change) and the changes recorded after version ``since`` (none when it is None): None when the id
    already was handled (a redelivery).

    No failed statement on a duplicate (PostgreSQL would abort the transaction): the insert does nothing.
    A concurrent transaction inserting the same id makes this one wait for its outcome, as a plain insert would.
    The directory is read inside the event's transaction by its first statement, a write, in one snapshot: a
    process catches up with other processes' directory changes without a statement of its own
    (``storage.directory``).
    """
    since = _NOTHING_SINCE if since is None else since
    rows = await sql.fetch(_CLAIMS[sql.dialect()], [*sql.encoded(_INBOX, (platform, delivery_id, received_at)), since, since + RING])
    if not rows:
        return None
    version, changed = rows[0]["directory_version"], rows[0]["directory_changes"]
    changes = []
    for change in changed.split(",") if changed else ():
        number, kind, row_id = change.split(" ")
        changes.append((int(number), kind, int(row_id)))
    return DirectoryState(int(version) if version is not None else 0, changes)


# --- audit ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class AuditRow:
    """One decision: when, who (person and platform account), what, on what, from which delivery."""

    at: datetime
    actor_id: int | None
    platform: str
    platform_user_id: str | None
    action: str
    subject: str
    detail: dict[str, Any]
    delivery_id: str | None


_AUDIT_COLUMNS = tuple(f.name for f in fields(AuditRow))
_AUDIT = sql.encoders(AuditEntry, _AUDIT_COLUMNS)
_audit_values = attrgetter(*_AUDIT_COLUMNS)
_AUDIT_INSERT = 'INSERT INTO "audit_entry" (' + ", ".join(f'"{c}"' for c in _AUDIT_COLUMNS) + ") VALUES "


async def insert_audit(rows: Sequence[AuditRow]) -> None:
    """Append audit entries (append-only: there is no other write to this table)."""
    if rows:
        await sql.execute(*audit_statement(rows))


def audit_statement(rows: Sequence[AuditRow]) -> tuple[str, list[Any]]:
    params = [value for row in rows for value in sql.encoded(_AUDIT, _audit_values(row))]
    return _AUDIT_INSERT + sql.rows_of(len(rows), len(_AUDIT_COLUMNS)), params


# --- outbox -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class OutboxRow:
    """A message to send or a card copy to update, pending from ``next_attempt_at``."""

    dedupe_key: str
    platform: str
    conversation_id: str
    is_direct: bool
    recipient: str | None
    thread: str | None
    kind: str
    payload: dict[str, Any]
    locale: str
    reply_to: dict[str, Any] | None
    post_id: int | None
    next_attempt_at: datetime
    created_at: datetime


OUTBOX_ROW_COLUMNS = tuple(f.name for f in fields(OutboxRow))
_OUTBOX_COLUMNS = (*OUTBOX_ROW_COLUMNS, "status", "attempts")
_outbox_values = attrgetter(*OUTBOX_ROW_COLUMNS)
_OUTBOX = sql.encoders(OutboxMessage, _OUTBOX_COLUMNS)
_OUTBOX_INSERT = 'INSERT INTO "outbox" (' + ", ".join(f'"{c}"' for c in _OUTBOX_COLUMNS) + ") VALUES "


async def insert_outbox(rows: Sequence[OutboxRow], *, skip_existing: bool = False) -> list[int | None]:
    """Queue rows in one statement; returns their ids in the order given.

    A row's id is its place in its conversation's queue (``storage.outbox_queue``): the rows of one
    statement get ascending ids in the order of its ``VALUES``. A ``dedupe_key`` that exists already
    is an ``IntegrityError``, or with ``skip_existing`` a row not written (its id is ``None``).
    """
    if not rows:
        return []
    return _outbox_ids(rows, await sql.fetch(*_outbox_statement(rows, skip_existing)))


def outbox_values(row: OutboxRow) -> list[Any]:
    """The row's values as the database stores them, in the order of ``OUTBOX_ROW_COLUMNS``."""
    return sql.encoded(_OUTBOX[:-2], _outbox_values(row))


def _outbox_statement(rows: Sequence[OutboxRow], skip_existing: bool = False) -> tuple[str, list[Any]]:
    params = [value for row in rows for value in (*outbox_values(row), "pending", 0)]
    text = _OUTBOX_INSERT + sql.rows_of(len(rows), len(_OUTBOX_COLUMNS))
    if skip_existing:
        text += ' ON CONFLICT ("dedupe_key") DO NOTHING'
    return text + ' RETURNING "id", "dedupe_key"', params


def _outbox_ids(rows: Sequence[OutboxRow], written: list[dict[str, Any]]) -> list[int | None]:
    ids = {r["dedupe_key"]: int(r["id"]) for r in written}
    return [ids.get(row.dedupe_key) for row in rows]


# --- cards ------------------------------------------------------------------------------------------

_CARD_INSERT = 'INSERT INTO "card" ("key", "content", "version", "updated_at") VALUES '
_CARD_ON_CONFLICT = (
    ' ON CONFLICT ("key") DO UPDATE SET "content" = excluded."content", "version" = "card"."version" + 1, '
    '"updated_at" = excluded."updated_at" RETURNING "id", "version"'
)
_CARD_UPSERT = _CARD_INSERT + "(?, ?, 1, ?)" + _CARD_ON_CONFLICT
_CARD = sql.encoders(CardRecord, ("key", "updated_at"))


async def upsert_card(key: str, content: str, now: datetime) -> tuple[int, int]:
    """Store a keyed card's new content in one statement: ``(id, version)``, version 1 for a new card.

    ``content`` is the JSON text as the ORM would store it (``Card.json_text``: the card's dict encoded as
    ``CardRecord.content``'s field encodes it); it is written as it is."""
    key_value, updated_at = sql.encoded(_CARD, (key, now))
    rows = await sql.fetch(_CARD_UPSERT, [key_value, content, updated_at])
    return int(rows[0]["id"]), int(rows[0]["version"])


@dataclass(slots=True)
class PostRow:
    """One copy of a card in one conversation (``CardPost``)."""

    id: int
    platform: str
    conversation_id: str
    recipient: str | None
    locale: str
    message_ref: str | None


_POST_FIELDS = '"id", "platform", "conversation_id", "recipient", "locale", "message_ref"'
_POST_ONE = f'SELECT {_POST_FIELDS} FROM "card_post" WHERE "card_id" = ? AND "platform" = ? AND "conversation_id" = ?'
_POST_INSERT = (
    'INSERT INTO "card_post" ("card_id", "platform", "conversation_id", "recipient", "locale", "sent_version") '
    'VALUES (?, ?, ?, ?, ?, 0) RETURNING "id"'
)
_POST = sql.encoders(CardPost, ("card_id", "platform", "conversation_id", "recipient", "locale"))


async def card_post(card_id: int, platform: str, conversation_id: str) -> PostRow | None:
    """The card's copy in this conversation, if it was posted there."""
    rows = await sql.fetch(_POST_ONE, [card_id, platform, conversation_id])
    return PostRow(**rows[0]) if rows else None


async def card_posts(card_id: int) -> list[PostRow]:
    """Every copy of the card, oldest first."""
    return (await card_posts_of([card_id])).get(card_id, [])


async def card_posts_of(card_ids: Sequence[int]) -> dict[int, list[PostRow]]:
    """Every copy of each of these cards, oldest first, in one statement (a card without copies is absent)."""
    if not card_ids:
        return {}
    ids = sorted(set(card_ids))
    text = f'SELECT "card_id", {_POST_FIELDS} FROM "card_post" WHERE "card_id" IN ({", ".join("?" * len(ids))}) ORDER BY "id"'
    posts: dict[int, list[PostRow]] = {}
    for row in await sql.fetch(text, ids):
        card_id = int(row.pop("card_id"))
        posts.setdefault(card_id, []).append(PostRow(**row))
    return posts


@dataclass(slots=True)
class PlacedCard:
    """A keyed card stored and placed in one conversation: its row and version, and its copy there — the one
    posted before (``existing``), or the one just added (``new_post_id``)."""

    id: int
    version: int
    existing: PostRow | None
    new_post_id: int | None


_POST_FIELDS_OF_P = ", ".join(f'"p".{column}' for column in _POST_FIELDS.split(", "))


Place = tuple[str, str, str | None, str]
"""Where a card goes: platform, conversation id, recipient (a direct conversation's person), locale."""


def place_values(place: Place) -> list[Any]:
    """A place's values as a copy (``CardPost``) stores them."""
    return sql.encoded(_POST[1:], place)


async def place_card(key: str, content: str, now: datetime, places: Sequence[Place]) -> list[PlacedCard]:
    """Store a keyed card's content (``upsert_card``) and, in each of ``places`` (conversations, each once), find
    its copy or add one (not yet sent: ``insert_card_post``); in the order given: the upsert, then for each
    conversation — unless the card is new — the read of its copy, then the insert when there is none. (On
    PostgreSQL an event's cards are placed by its last statement: ``storage.event_end``.)"""
    card_id, version = await upsert_card(key, content, now)
    return [await place_copy(card_id, version, *place) for place in places]


async def place_copy(card_id: int, version: int, platform: str, conversation_id: str, recipient: str | None, locale: str) -> PlacedCard:
    """The card's copy in this conversation, or a new one (not yet sent) when there is none; a card at version 1
    was just created and has none yet."""
    existing = await card_post(card_id, platform, conversation_id) if version > 1 else None
    new_post = None if existing is not None else await insert_card_post(card_id, platform, conversation_id, recipient, locale)
    return PlacedCard(card_id, version, existing, new_post)


@dataclass(slots=True)
class UpdatedCard:
    """A keyed card given new content: its row, its new version, and — unless it is new — its copies, oldest first."""

    id: int
    version: int
    posts: list[PostRow]


async def update_cards(contents: dict[str, str], now: datetime) -> dict[str, UpdatedCard]:
    """Store each keyed card's new content (``{key: JSON text}``, as ``upsert_card``) and read every copy of the
    cards that existed before: by key.

    One statement on PostgreSQL (the upsert a ``WITH`` clause of the read of the copies: a round trip is what
    costs there), two on SQLite (the upsert of all cards, then the copies).
    """
    if not contents:
        return {}
    upsert, params = card_upsert_statement(contents, now)
    if sql.dialect() == "postgres":
        rows = await sql.fetch(
            f'WITH "c" AS ({upsert}) SELECT "c"."key" AS "card_key", "c"."id" AS "card_id", "c"."version" AS "card_version", '
            + _POST_FIELDS_OF_P
            + ' FROM "c" LEFT JOIN "card_post" "p" ON "p"."card_id" = "c"."id" AND "c"."version" > 1 ORDER BY "p"."id"',
            params,
        )
        cards: dict[str, UpdatedCard] = {}
        for row in rows:
            card = cards.setdefault(row.pop("card_key"), UpdatedCard(int(row.pop("card_id")), int(row.pop("card_version")), []))
            if row["id"] is not None:
                card.posts.append(PostRow(**row))
        return cards
    cards = {row["key"]: UpdatedCard(int(row["id"]), int(row["version"]), []) for row in await sql.fetch(upsert, params)}
    copies = await card_posts_of([card.id for card in cards.values() if card.version > 1])
    for card in cards.values():
        card.posts = copies.get(card.id, [])
    return cards


def card_upsert_statement(contents: dict[str, str], now: datetime) -> tuple[str, list[Any]]:
    """``upsert_card`` for each card of ``contents`` (JSON text by key) in one statement, returning each card's
    ``"id"``, ``"version"`` and ``"key"``; and its parameters."""
    params: list[Any] = []
    for key, content in contents.items():
        key_value, updated_at = sql.encoded(_CARD, (key, now))
        params += [key_value, content, updated_at]
    return _CARD_INSERT + ", ".join(["(?, ?, 1, ?)"] * len(contents)) + _CARD_ON_CONFLICT + ', "key"', params


async def insert_card_post(card_id: int, platform: str, conversation_id: str, recipient: str | None, locale: str) -> int:
    """A new copy of a card, not yet sent; returns its id."""
    rows = await sql.fetch(_POST_INSERT, sql.encoded(_POST, (card_id, platform, conversation_id, recipient, locale)))
    return int(rows[0]["id"])


# --- timers -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class TimerRow:
    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]


_TIMER = sql.encoders(Timer, ("key", "kind", "due_at", "payload", "status", "created_at"))
_TIMER_INSERT = 'INSERT INTO "timer" ("key", "kind", "due_at", "payload", "status", "created_at") VALUES '
_TIMER_RESET = (
    ' ON CONFLICT ("key") DO UPDATE SET "kind" = excluded."kind", "due_at" = excluded."due_at", '
    '"payload" = excluded."payload", "status" = \'pending\''
)


def _timer_params(timers: Sequence[TimerRow], now: datetime) -> list[Any]:
    return [value for t in timers for value in sql.encoded(_TIMER, (t.key, t.kind, t.due_at, t.payload, "pending", now))]


async def set_timers(timers: Sequence[TimerRow], now: datetime) -> None:
    """Create the timers, or re-arm the existing ones with the same key (kind, due time, payload, pending).

    One statement. A key given twice counts once, the last one given (as if set one after the other).
    """
    if timers:
        await sql.execute(*set_timers_statement(timers, now))


def set_timers_statement(timers: Sequence[TimerRow], now: datetime) -> tuple[str, list[Any]]:
    latest = list({t.key: t for t in timers}.values())
    return _TIMER_INSERT + sql.rows_of(len(latest), len(_TIMER)) + _TIMER_RESET, _timer_params(latest, now)


async def add_timers(timers: Sequence[TimerRow], now: datetime) -> int:
    """Insert timers whose key does not exist yet, never touching an existing row; returns how many are new."""
    fresh = list({t.key: t for t in timers}.values())
    if not fresh:
        return 0
    text = _TIMER_INSERT + sql.rows_of(len(fresh), len(_TIMER)) + ' ON CONFLICT ("key") DO NOTHING RETURNING "id"'
    return len(await sql.fetch(text, _timer_params(fresh, now)))


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _after_prefix(prefix: str) -> str | None:
    """The first text after every text that starts with ``prefix``, in byte (code point) order (None: none simple)."""
    if not prefix or ord(prefix[-1]) >= 0xD7FF:
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def cancel_timers(keys: Sequence[str]) -> int:
    """Cancel the pending timers named: a key, or a key prefix ending in ``*``. One statement for all."""
    if not keys:
        return 0
    return await sql.execute(*cancel_statement(keys, sql.dialect()))


def cancel_statement(keys: Sequence[str], dialect: str) -> tuple[str, list[str]]:
    """``cancel_timers``' statement and its parameters.

    A prefix is a range of keys in byte order, read from an index (``LIKE`` would read every pending timer:
    0.1 ms each event that closes something on SQLite, growing with the timers pending): the key's own index
    on SQLite, whose text order is byte order; on PostgreSQL, whose order follows the database's language,
    the keys compared as "C" and the index of pending keys in that order (``storage/pg_indexes.py``).
    """
    sqlite = dialect == "sqlite"
    in_bytes = '"key"' if sqlite else '"key" COLLATE "C"'
    conditions, params = [], []
    for key in keys:
        after = _after_prefix(key[:-1]) if key.endswith("*") else None
        if after is not None:
            conditions.append(f"({in_bytes} >= ? AND {in_bytes} < ?)")
            params += [key[:-1], after]
        elif key.endswith("*"):
            # LIKE, as tortoise's ``key__startswith`` writes it, with the wildcards of the prefix escaped
            conditions.append('"key" LIKE ? ESCAPE \'\\\'')
            params.append(_like_prefix(key[:-1]))
        else:
            conditions.append('"key" = ?')
            params.append(key)
    # SQLite: "+" keeps the planner off the status index, which it would otherwise prefer to the key's range
    status = '+"status"' if sqlite else '"status"'
    return f'UPDATE "timer" SET "status" = \'cancelled\' WHERE {status} = \'pending\' AND (' + " OR ".join(conditions) + ")", params
