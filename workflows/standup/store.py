"""Stand-up records: who takes part, who is away, what they answered, and the timer rows of a stand-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal

from tortoise.exceptions import DoesNotExist

from bot.calendar import WorkCalendar
from bot.types import TimerSpec
from storage import directory, sql
from storage.db import id_list
from storage.models import Collaboration, Group, GroupBinding, Subtask
from storage.models_clocks import Standup, StandupAbsence, StandupAnswer, StandupRun
from storage.sql import columns_of, row_instance

from ..common.records import loaded
from .schedule import Plan, occurrences, timer_specs

CLOSED_COLLABORATION = ("completed", "archived", "cancelled")
HORIZON = timedelta(hours=36)

_DAY = sql.encoders(StandupRun, ("day",))


# -- hand-written reads ------------------------------------------------------------
# The stand-up's reads run on every answer, edit and status command: written once here rather than built by
# tortoise's query builder for each event (it cost more than the statements; see bench/bench_standup.py).
# The statements are made on first use, when tortoise has added the foreign key columns to each model.


async def standup_where(column: Literal["id", "group_id"], value: int) -> Standup | None:
    """The stand-up whose ``id`` or ``group_id`` (``column``) is ``value``, or None."""
    return await sql.select_one(Standup, f'"t"."{column}" = ?', (value,))


async def collaboration_ids(group_id: int) -> list[int]:
    ids = set(await id_list(GroupBinding.filter(group_id=group_id), "collaboration_id"))
    if not ids:
        return []
    return sorted(await id_list(Collaboration.filter(id__in=list(ids)).exclude(state__in=CLOSED_COLLABORATION)))


async def active_owners(group_id: int) -> list[int]:
    """Owners of open subtasks in the group's open collaborations."""
    ids = await collaboration_ids(group_id)
    if not ids:
        return []
    return sorted(set(await id_list(Subtask.filter(collaboration_id__in=ids).exclude(stage="done"), "owner_id")))


async def participants(standup: Standup) -> list[int]:
    """The configured participants, or else the group's active subtask owners."""
    if standup.participants:
        return [int(p) for p in standup.participants]
    return await active_owners(standup.group_id)


async def absences(person_ids: list[int], day: date) -> dict[int, str]:
    """Person id → ``skip`` / ``leave`` for those away on ``day``."""
    if not person_ids:
        return {}
    rows = await StandupAbsence.filter(person_id__in=person_ids, start__lte=day, end__gte=day).order_by("id")
    return {row.person_id: row.kind for row in rows}


@cache
def _open_subtasks() -> str:
    closed = ", ".join(f"'{state}'" for state in CLOSED_COLLABORATION)
    return (
        f'SELECT {columns_of(Subtask, "t")} FROM "subtask" "t" JOIN "collaboration" "c" ON "c"."id" = "t"."collaboration_id"'
        f' WHERE "t"."owner_id" = ? AND "t"."stage" <> \'done\' AND "c"."state" NOT IN ({closed})'
        ' ORDER BY "t"."deadline", "t"."code"'
    )


async def open_subtasks(person_id: int) -> list[Subtask]:
    """The person's subtasks that are not done, in collaborations that are still open (one query)."""
    return [row_instance(Subtask, "t", row) for row in await sql.fetch(_open_subtasks(), [person_id])]


async def card_exists(key: str) -> bool:
    """Whether a card with this key was ever sent."""
    return bool(await sql.fetch('SELECT 1 AS "found" FROM "card" WHERE "key" = ? LIMIT 1', [key]))


_PREVIOUS_PLAN = (
    'SELECT "a"."today" AS "today" FROM "standup_answer" "a" JOIN "standup_run" "r" ON "r"."id" = "a"."run_id"'
    ' WHERE "a"."person_id" = ? AND "a"."status" = \'answered\' AND "r"."day" < ? AND "a"."today" <> \'\''
    ' ORDER BY "r"."day" DESC, "a"."id" DESC LIMIT 1'
)


async def previous_plan(person_id: int, before: date) -> str:
    """What the person planned for "today" in their last answer before ``before`` (prefills "yesterday")."""
    rows = await sql.fetch(_PREVIOUS_PLAN, [person_id, *sql.encoded(_DAY, (before,))])
    return str(rows[0]["today"]) if rows else ""


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """An answer as the digest, the reminder and the statistics read it: plain values, not a model (tortoise
    builds a model at several times the CPU, for every participant of every digest)."""

    id: int
    person_id: int
    status: str
    yesterday: str
    today: str
    blockers: str
    late: bool
    stored_answered_at: Any  # as the database returned it: decoded on use (a digest shows late answers' only)

    @property
    def answered_at(self) -> datetime:
        value: datetime = StandupAnswer._meta.fields_map["answered_at"].to_python_value(self.stored_answered_at)
        return value


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A participant as the digest and the reminder show them."""

    id: int
    name: str
    timezone: str | None


_ANSWER_COLUMNS = ("id", "person_id", "status", "yesterday", "today", "blockers", "late", "answered_at")


@dataclass(slots=True)
class RunState:
    run: StandupRun
    answers: dict[int, AnswerRow]
    people: dict[int, PersonRow]

    def status(self, person_id: int) -> str:
        """answered / late / skipped / leave / missing."""
        absent = (self.run.absent or {}).get(str(person_id))
        answer = self.answers.get(person_id)
        if answer is not None:
            if answer.status == "answered":
                return "late" if answer.late else "answered"
            return answer.status
        return absent or "missing"


async def standup_and_group(run: StandupRun) -> tuple[Standup, Group]:
    """The run's stand-up and its group, read once and kept on the run for the rest of the event.

    The stand-up is often read with the run already (``current_runs``, ``open_run``); the group comes from the
    directory's cache. (``loaded``: reading ``run.standup`` itself builds a query when it is not loaded.)"""
    standup = loaded(run, "standup")
    if standup is None:
        standup = await standup_where("id", run.standup_id)
        if standup is None:
            raise DoesNotExist(Standup)
        run.standup = standup
    return standup, await group_of(standup)


async def group_of(standup: Standup) -> Group:
    """The stand-up's group, from the directory's cache, kept on the stand-up for the rest of the event."""
    group = loaded(standup, "group")
    if group is None:
        group = await directory.group_by_id(standup.group_id)
        if group is None:
            raise DoesNotExist(Group)
        standup.group = group
    return group


@cache
def _answers_of_run() -> str:
    columns = ", ".join(f'"{c}"' for c in _ANSWER_COLUMNS)
    return f'SELECT {columns} FROM "standup_answer" WHERE "run_id" = ? ORDER BY "id"'


async def run_state(run: StandupRun) -> RunState:
    """The run's answers and its people (participants and whoever answered), read once."""
    late = StandupAnswer._meta.fields_map["late"].to_python_value
    answers = {
        row["person_id"]: AnswerRow(
            row["id"], row["person_id"], row["status"], row["yesterday"], row["today"], row["blockers"], late(row["late"]), row["answered_at"]
        )
        for row in await sql.fetch(_answers_of_run(), [run.id])
    }
    ids = {int(p) for p in run.participants or []} | set(answers)
    people = {pid: PersonRow(p.id, p.name, p.timezone) for pid, p in (await directory.people(ids, shared=True)).items()}
    return RunState(run, answers, people)


_PROMPTED = sql.encoders(StandupRun, ("prompted_at", "prompted_at"))


@cache
def _current_runs(in_group: bool, dialect: str) -> str:
    window = '"{run}"."prompted_at" <= ? AND "{run}"."prompted_at" >= ?'
    return (
        f'SELECT {columns_of(StandupRun, "r")}, {columns_of(Standup, "s")} FROM "standup_run" "r"'
        ' JOIN "standup" "s" ON "s"."id" = "r"."standup_id" WHERE ' + window.format(run="r")
        + (' AND "s"."group_id" = ?' if in_group else "")
        + " AND " + sql.json_list_holds('"r"."participants"', dialect)
        # the latest run of its stand-up in the window: a person not asked in it answers none of that stand-up's
        + ' AND NOT EXISTS (SELECT 1 FROM "standup_run" "n" WHERE "n"."standup_id" = "r"."standup_id" AND '
        + window.format(run="n")
        + ' AND ("n"."day" > "r"."day" OR ("n"."day" = "r"."day" AND "n"."id" > "r"."id")))'
        ' ORDER BY "r"."day" DESC, "r"."id" DESC'
    )


async def current_runs(person_id: int, now: datetime, group_id: int | None = None) -> list[StandupRun]:
    """The runs a person's answer right now belongs to: the latest run of each stand-up they were asked in,
    if it was prompted within the last 20 hours. Each comes with its stand-up (``run.standup``).

    One statement that returns only those runs: every DM answer asks this, and an organisation runs a
    stand-up in each of hundreds of groups."""
    window = sql.encoded(_PROMPTED, (now, now - timedelta(hours=20)))
    params = [*window, *([group_id] if group_id is not None else []), str(person_id), *window]
    found = []
    for row in await sql.fetch(_current_runs(group_id is not None, sql.dialect()), params):
        run = row_instance(StandupRun, "r", row)
        run.standup = row_instance(Standup, "s", row)
        found.append(run)
    return found


@cache
def _open_run() -> str:
    return (
        f'SELECT {columns_of(StandupRun, "r")}, {columns_of(Standup, "s")} FROM "standup_run" "r"'
        ' JOIN "standup" "s" ON "s"."id" = "r"."standup_id" WHERE "r"."standup_id" = ? AND "r"."day" = ? AND "r"."state" = \'open\' LIMIT 1'
    )


async def open_run(standup_id: int, day: date) -> StandupRun | None:
    """The open run of ``standup_id`` on ``day``, with its stand-up (``run.standup``), or None."""
    rows = await sql.fetch(_open_run(), [standup_id, *sql.encoded(_DAY, (day,))])
    if not rows:
        return None
    run = row_instance(StandupRun, "r", rows[0])
    run.standup = row_instance(Standup, "s", rows[0])
    return run


async def close_run(run_id: int, now: datetime) -> bool:
    """Close the run if it is still open; False when another event closed it first."""
    return await sql.update_where(StandupRun, {"state": "closed", "closed_at": now}, {"id": run_id, "state": "open"}) > 0


async def answer_of(run_id: int, person_id: int) -> StandupAnswer | None:
    """The person's answer (or skip, or leave) of the run, if any."""
    return await sql.select_one(StandupAnswer, '"t"."run_id" = ? AND "t"."person_id" = ?', (run_id, person_id))


_ANSWER_INSERT = ("run_id", "person_id", "status", "yesterday", "today", "blockers", "late", "edits", "answered_at", "updated_at")


@cache
def _answer_insert() -> tuple[str, list[sql.Encoder | None]]:
    columns = ", ".join(f'"{c}"' for c in _ANSWER_INSERT)
    text = (
        f'INSERT INTO "standup_answer" ({columns}) VALUES {sql.rows_of(1, len(_ANSWER_INSERT))}'
        ' ON CONFLICT ("run_id", "person_id") DO NOTHING RETURNING "id"'
    )
    return text, sql.encoders(StandupAnswer, _ANSWER_INSERT)


async def insert_answer(answer: StandupAnswer) -> bool:
    """Insert a new answer row and set its id; False (nothing written) when the person's answer to that run
    exists already: a concurrent event wrote it first, and no statement failed (the transaction stays usable)."""
    text, codecs = _answer_insert()
    rows = await sql.fetch(text, sql.encoded(codecs, [getattr(answer, c) for c in _ANSWER_INSERT]))
    if not rows:
        return False
    answer.id = rows[0]["id"]
    answer._saved_in_db = True
    return True


async def update_answer(answer: StandupAnswer, names: tuple[str, ...]) -> None:
    """Write the ``names`` fields of an answer read before, as ``save(update_fields=names)`` would."""
    await sql.update_where(StandupAnswer, {name: getattr(answer, name) for name in names}, {"id": answer.id})


# -- timer rows ------------------------------------------------------------------


def desired_timers(standup: Standup, calendar: WorkCalendar, since: datetime, until: datetime) -> list[TimerSpec]:
    if not standup.active:
        return []
    plan = Plan.of(standup)
    cal = calendar.with_country(standup.calendar)
    specs: list[TimerSpec] = []
    for occ in occurrences(plan, cal, since, until):
        specs += timer_specs(plan, occ)
    return specs


async def reconcile(standup: Standup, calendar: WorkCalendar, now: datetime) -> None:
    """After a configuration change: future rows follow the new plan; occurrences whose prompt is still
    ahead are inserted (a stand-up set up at 10:00 with a 09:30 prompt starts tomorrow)."""
    from bot.scheduler import reconcile_timers

    specs = desired_timers(standup, calendar, now - timedelta(hours=24), now + HORIZON)
    fresh_days = {s.payload["day"] for s in specs if s.kind == "standup.prompt" and s.due_at > now}
    fresh = [s.key for s in specs if s.payload["day"] in fresh_days]
    await reconcile_timers(f"standup:{standup.group_id}:", specs, now, insert=fresh)
