"""The writes that end an event: its keyed cards and their copies, the cards it updates, its outbox rows, timers
and audit entries — in one statement on PostgreSQL.

``bot.outcome_writer`` turns a handler's ``Outcome`` into the rows here; whether a card's copy is posted or
edited depends on what the database holds, so that is decided here:

- a keyed card sent to a conversation is stored (``event_rows.place_card``) and its copy there is found or added.
  A new copy is posted (the ``CardCopy``'s row, kind ``post``); a copy posted before is edited (``edit_key``);
  a copy not sent yet gets no row (it goes out with the newest content anyway);
- a card given new content (an update) is stored and every sent copy of it edited, oldest first.

The outbox rows get ascending ids in the order given, the updates' edits after them: their order in their
queues. On SQLite, where a statement is a function call, the parts stay the statements of ``event_rows``. On
PostgreSQL, where each statement is a round trip, they are one: the cards, copies, timers and audit entries as
data-modifying ``WITH`` clauses of the outbox insert, which reads the copies' fate from them. The clauses run
side by side on one snapshot and must not write the same row, so an event that places and updates one card,
or cancels and sets timers, runs those parts first, apart. The writes handlers handed to the event's end
(``storage.at_end``) are clauses too, or statements first on SQLite; a compare-and-set among them that changed no
row calls its ``on_stale``, which refuses the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from storage import at_end, event_rows, sql
from storage.event_rows import AuditRow, OutboxRow, PlacedCard, TimerRow
from storage.models import Confirmation
from storage.unique import upsert_statement


@dataclass(slots=True)
class CardCopy:
    """A keyed card's copy in one conversation: ``row`` posts it when the copy is new (kind ``post``, no
    ``post_id`` yet); the conversation and locale of the copy are the row's."""

    card_key: str
    row: OutboxRow

    @property
    def place(self) -> event_rows.Place:
        row = self.row
        return (row.platform, row.conversation_id, row.recipient if row.is_direct else None, row.locale)


@dataclass(slots=True)
class ConfirmationRow:
    """A person's answer to a confirmation asked of them (``Confirmation``): the row of the same subject, purpose
    and person takes the answer, and the platform account and time it came from."""

    subject: str
    purpose: str
    person_id: int
    state: str
    decided_at: datetime
    platform: str
    platform_user_id: str | None
    comment: str


def confirmation_row(subject: str, purpose: str, person_id: int) -> tuple[str, Any]:
    """How a write queued for the event's end (``storage.at_end``) names the confirmation row it writes."""
    return ("confirmation", (subject, purpose, person_id))


def _confirmation_statement(row: ConfirmationRow) -> tuple[str, list[Any]]:
    keys = {"subject": row.subject, "purpose": row.purpose, "person_id": row.person_id}
    values = {"state": row.state, "decided_at": row.decided_at, "platform": row.platform, "platform_user_id": row.platform_user_id, "comment": row.comment}
    return upsert_statement(Confirmation, keys, {**values, "created_at": row.decided_at}, values.keys())


def edit_key(post_id: int, version: int) -> str:
    """The dedupe key of the edit that brings a card's copy to ``version``: one edit per copy and version."""
    return f"edit:{post_id}:{version}"


async def finish_event(
    entries: Sequence[OutboxRow | CardCopy],
    cards: dict[str, str],
    updates: dict[str, str],
    audit: Sequence[AuditRow],
    timers: Sequence[TimerRow],
    now: datetime,
    cancel: Sequence[str] = (),
    confirmations: Sequence[ConfirmationRow] = (),
) -> list[int]:
    """Write an event's end: ``cards`` (each placed card's content by key, stored once with the content given;
    the card of every copy among ``entries`` is there) and the copies, the ``updates`` (content by key), the
    outbox rows (``entries`` in order, then the updates' edits), the timers cancelled and set, the audit entries
    and the ``confirmations`` (answers). Returns the ids of the outbox rows written, in their order."""
    answered = {(r.subject, r.purpose, r.person_id): r for r in confirmations}
    answers = [_confirmation_statement(row) for row in answered.values()]
    later = at_end.take()
    if any(confirmation_row(*key) in write.rows for key in answered for write in later):  # one row, two clauses: apart
        await sql.run_at_end(later)
        later = []
    postgres = sql.dialect() == "postgres"
    if not postgres or cards.keys() & updates.keys():  # the cards apart: a statement (or a few) each
        placed = await _place(entries, cards, now)
        rows = [row for entry in entries if (row := _row_of(entry, placed)) is not None]
        for card in (await event_rows.update_cards(updates, now)).values():
            for post in card.posts:
                if post.message_ref:
                    is_direct = bool(post.recipient)
                    rows.append(
                        OutboxRow(edit_key(post.id, card.version), post.platform, post.conversation_id, is_direct, post.recipient, None, "edit", {}, post.locale, None, post.id, now, now)
                    )
        entries, cards, updates = rows, {}, {}
    if postgres and (entries or updates):
        writes = [(write.text + (" RETURNING 1" if write.on_stale else ""), write.params) for write in later]
        checked = [number for number, write in enumerate(later) if write.on_stale]
        writes += await side_writes(audit, timers, now, cancel) + answers
        text, params = _one_statement(entries, cards, updates, writes, now, checked)
        returned = await sql.fetch(text, params)
        for changed, number in zip(next((row["changed"] for row in returned if row["id"] is None), ()), checked, strict=True):
            stale = later[number].on_stale
            if not changed and stale is not None:
                await stale()
        return sorted(int(row["id"]) for row in returned if row["id"] is not None)
    await sql.run_at_end(later)
    for text, params in answers:
        await sql.execute(text, params)
    await event_rows.cancel_timers(cancel)
    await event_rows.set_timers(timers, now)
    await event_rows.insert_audit(audit)
    return [row_id for row_id in await event_rows.insert_outbox([e for e in entries if isinstance(e, OutboxRow)]) if row_id is not None]


async def _place(entries: Sequence[OutboxRow | CardCopy], cards: dict[str, str], now: datetime) -> dict[int, PlacedCard]:
    """Each card stored and its copies found or added, a statement per card: by the copy's ``id()``."""
    copies: dict[str, list[CardCopy]] = {}
    for entry in entries:
        if isinstance(entry, CardCopy):
            copies.setdefault(entry.card_key, []).append(entry)
    placed: dict[int, PlacedCard] = {}
    for key, content in cards.items():
        of_key = copies.get(key, [])
        if of_key:
            for copy, result in zip(of_key, await event_rows.place_card(key, content, now, [c.place for c in of_key]), strict=True):
                placed[id(copy)] = result
    return placed


def _row_of(entry: OutboxRow | CardCopy, placed: dict[int, PlacedCard]) -> OutboxRow | None:
    if isinstance(entry, OutboxRow):
        return entry
    copy = placed[id(entry)]
    if copy.new_post_id is not None:
        return replace(entry.row, post_id=copy.new_post_id)
    if copy.existing is not None and copy.existing.message_ref:
        return replace(entry.row, dedupe_key=edit_key(copy.existing.id, copy.version), kind="edit", post_id=copy.existing.id)
    return None


async def side_writes(audit: Sequence[AuditRow], timers: Sequence[TimerRow], now: datetime, cancel: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """The PostgreSQL statements (and parameters) of an event's timers cancelled and set and of its audit
    entries, to be ``WITH`` clauses of its last statement. The clauses of one statement run side by side on one
    snapshot, so they must not write the same row: an event that cancels timers and sets some cancels them here,
    in a statement of its own."""
    if cancel and timers:
        await event_rows.cancel_timers(cancel)
        cancel = ()
    writes = [event_rows.cancel_statement(cancel, "postgres")] if cancel else []
    return writes + ([event_rows.set_timers_statement(timers, now)] if timers else []) + ([event_rows.audit_statement(audit)] if audit else [])


# --- PostgreSQL: one statement ----------------------------------------------------------------------

# the outbox columns of a row given by value, each typed: a parameter in a VALUES list is otherwise text
_TYPES = {"is_direct": "BOOLEAN", "payload": "JSONB", "reply_to": "JSONB", "post_id": "INTEGER", "next_attempt_at": "TIMESTAMPTZ", "created_at": "TIMESTAMPTZ"}
_COLUMNS = ", ".join(f'"{column}"' for column in event_rows.OUTBOX_ROW_COLUMNS)
_TYPED = ", ".join(f"CAST(? AS {_TYPES.get(column, 'VARCHAR')})" for column in event_rows.OUTBOX_ROW_COLUMNS)
_EDIT = "'edit:' || {post} || ':' || {version}"  # edit_key, in SQL

_OF_R = {column: f'"r"."{column}"' for column in event_rows.OUTBOX_ROW_COLUMNS}


def _select(order: str, sub: str, columns: dict[str, str], source: str) -> str:
    """A select of rows for the outbox insert: their place in its order (``order``, then ``sub``), then each
    outbox column — its expression in ``columns``, else the entry's own (``r``'s)."""
    values = ", ".join(f'{columns.get(column, _OF_R[column])} AS "{column}"' for column in event_rows.OUTBOX_ROW_COLUMNS)
    return f'SELECT {order} AS "ord", {sub} AS "sub", {values} FROM {source}'


_FROM_ENTRIES = _select('"r"."ord"', "0", {}, '"r"')
# a copy's row: the new copy posted, or the copy posted before edited, or none when that copy is not sent yet
_AS_COPY = {
    "dedupe_key": 'CASE WHEN "n"."id" IS NULL THEN ' + _EDIT.format(post='"e"."id"', version='"c"."version"') + ' ELSE "r"."dedupe_key" END',
    "kind": 'CASE WHEN "n"."id" IS NULL THEN \'edit\' ELSE "r"."kind" END',
    "post_id": 'COALESCE("n"."id", "e"."id")',
}
_FROM_COPIES = _select(
    '"r"."ord"',
    "0",
    _AS_COPY,
    '"r" JOIN "t" ON "t"."ord" = "r"."ord" JOIN "c" ON "c"."key" = "t"."key" LEFT JOIN "e" ON "e"."ord" = "r"."ord" '
    'LEFT JOIN "n" ON "n"."card_id" = "c"."id" AND "n"."platform" = "t"."platform" AND "n"."conversation_id" = "t"."conversation_id" '
    'WHERE "n"."id" IS NOT NULL OR "e"."message_ref" IS NOT NULL',
)
_PLACES = (
    # each copy of a placed card: the one in its conversation (``e``), or one added (``n``). ``e`` looks each place up
    # through the copies' unique index. As a join — and a plain LATERAL is flattened into one — a young table's
    # statistics led the planner to read all of ``card_post``, and the plan stayed cached as the table grew; the
    # ``LIMIT`` keeps the lookup a subquery of its own, run once per place (``tests/core/test_end_plans.py``)
    '"e" AS (SELECT "t"."ord", "p"."id", "p"."message_ref" FROM "t" JOIN "c" ON "c"."key" = "t"."key" '
    'CROSS JOIN LATERAL (SELECT "id", "message_ref" FROM "card_post" WHERE "card_id" = "c"."id" '
    'AND "platform" = "t"."platform" AND "conversation_id" = "t"."conversation_id" LIMIT 1) "p"), '
    '"n" AS (INSERT INTO "card_post" ("card_id", "platform", "conversation_id", "recipient", "locale", "sent_version") '
    'SELECT "c"."id", "t"."platform", "t"."conversation_id", "t"."recipient", "t"."locale", 0 FROM "t" JOIN "c" ON "c"."key" = "t"."key" '
    'WHERE NOT EXISTS (SELECT 1 FROM "e" WHERE "e"."ord" = "t"."ord") ORDER BY "t"."ord" '
    'RETURNING "id", "card_id", "platform", "conversation_id")'
)
_UPDATED = {
    "dedupe_key": _EDIT.format(post='"p"."id"', version='"u"."version"'),
    "platform": '"p"."platform"',
    "conversation_id": '"p"."conversation_id"',
    "is_direct": 'COALESCE("p"."recipient", \'\') <> \'\'',
    "recipient": '"p"."recipient"',
    "thread": "CAST(NULL AS VARCHAR)",
    "kind": "'edit'",
    "payload": "CAST('{}' AS JSONB)",
    "locale": '"p"."locale"',
    "reply_to": "CAST(NULL AS JSONB)",
    "post_id": '"p"."id"',
    "next_attempt_at": "CAST(? AS TIMESTAMPTZ)",
    "created_at": "CAST(? AS TIMESTAMPTZ)",
}
# every sent copy of each updated card that existed before: in the order of the updates, then of the copies (each
# card's copies read through the copies' index, ``OFFSET 0`` keeping the lookup from being flattened into a join)
_FROM_UPDATES = _select(
    '"uk"."ord"',
    '"p"."id"',
    _UPDATED,
    '"u" JOIN "uk" ON "uk"."key" = "u"."key" CROSS JOIN LATERAL (SELECT * FROM "card_post" WHERE "card_id" = "u"."id" '
    'AND "message_ref" IS NOT NULL OFFSET 0) "p" WHERE "u"."version" > 1',
)


def _one_statement(
    entries: Sequence[OutboxRow | CardCopy],
    cards: dict[str, str],
    updates: dict[str, str],
    writes: Sequence[tuple[str, list[Any]]],
    now: datetime,
    checked: Sequence[int] = (),
) -> tuple[str, list[Any]]:
    """The statement ``finish_event`` runs on PostgreSQL (no card both placed and updated), with the event's
    other ``writes`` as clauses (``side_writes``, ``storage.at_end``), and its parameters in the order of its
    placeholders. It returns the outbox rows' ``id``s; with writes ``checked`` (numbers in ``writes``, each
    ``… RETURNING 1``), one more row, its ``id`` null, whose ``changed`` holds how many rows each changed."""
    clauses: list[str] = []
    params: list[Any] = []

    def clause(head: str, text: str, values: Sequence[Any] = ()) -> None:
        clauses.append(f"{head} AS ({text})")
        params.extend(values)

    for number, (text, values) in enumerate(writes):
        clause(f'"w{number}"', text, values)
    selects: list[str] = []
    copies = [(order, entry) for order, entry in enumerate(entries) if isinstance(entry, CardCopy)]
    if copies:
        clause('"c"', *event_rows.card_upsert_statement(cards, now))
        places = ", ".join(f"({order}, ?, ?, ?, ?, ?)" for order, _copy in copies)
        clause('"t" ("ord", "key", "platform", "conversation_id", "recipient", "locale")', f"VALUES {places}", [v for _o, copy in copies for v in (copy.card_key, *event_rows.place_values(copy.place))])
        clauses.append(_PLACES)
        selects.append(_FROM_COPIES)
    if entries:
        typed = ", ".join(f"({order}, {_TYPED})" for order in range(len(entries)))
        rows = [entry.row if isinstance(entry, CardCopy) else entry for entry in entries]
        clause(f'"r" ("ord", {_COLUMNS})', f"VALUES {typed}", [value for row in rows for value in event_rows.outbox_values(row)])
        if len(copies) < len(entries):
            selects.append(_FROM_ENTRIES + (' WHERE "r"."ord" NOT IN (SELECT "ord" FROM "t")' if copies else ""))
    if updates:
        clause('"u"', *event_rows.card_upsert_statement(updates, now))
        keys = ", ".join(f"(?, {len(entries) + order})" for order in range(len(updates)))
        clause('"uk" ("key", "ord")', f"VALUES {keys}", list(updates))
        selects.append(_FROM_UPDATES)
    insert = (
        f'INSERT INTO "outbox" ({_COLUMNS}, "status", "attempts") SELECT {_COLUMNS}, \'pending\', 0 '
        'FROM (' + " UNION ALL ".join(selects) + ') "q" ORDER BY "q"."ord", "q"."sub" RETURNING "id"'
    )
    if checked:
        counts = ", ".join(f'(SELECT COUNT(*) FROM "w{number}")' for number in checked)
        clauses.append(f'"o" AS ({insert})')
        insert = f'SELECT "id", CAST(NULL AS BIGINT[]) AS "changed" FROM "o" UNION ALL SELECT NULL, ARRAY[{counts}]'
    return "WITH " + ", ".join(clauses) + " " + insert, params + ([now, now] if updates else [])  # the edits' times, the last placeholders
