"""Stand-up records: who takes part, who is away, what they answered, and the timer rows of a stand-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.calendar import WorkCalendar
from bot.types import TimerSpec
from storage.db import id_list
from storage.models import Collaboration, Group, GroupBinding, Person, Subtask
from storage.models_clocks import Standup, StandupAbsence, StandupAnswer, StandupRun

from .schedule import Plan, occurrences, timer_specs

CLOSED_COLLABORATION = ("completed", "archived", "cancelled")
HORIZON = timedelta(hours=36)


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


async def open_subtasks(person_id: int) -> list[Subtask]:
    """The person's subtasks that are not done, in collaborations that are still open (one query)."""
    return list(
        await Subtask.filter(owner_id=person_id)
        .exclude(stage="done")
        .exclude(collaboration__state__in=CLOSED_COLLABORATION)
        .order_by("deadline", "code")
    )


async def previous_plan(person_id: int, before: date) -> str:
    """What the person planned for "today" in their last answer before ``before`` (prefills "yesterday")."""
    answer = (
        await StandupAnswer.filter(person_id=person_id, status="answered", run__day__lt=before)
        .exclude(today="")
        .order_by("-run__day", "-id")
        .first()
    )
    return answer.today if answer else ""


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
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A participant as the digest and the reminder show them."""

    id: int
    name: str
    timezone: str | None


_ANSWER_COLUMNS = ("id", "person_id", "status", "yesterday", "today", "blockers", "late", "answered_at")
_PERSON_COLUMNS = ("id", "name", "timezone")


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

    Two plain reads, not one ``select_related`` join: tortoise builds and decodes a join at about twice the
    CPU of the two small queries (measured with bench/bench_standup.py)."""
    standup = run.standup
    if not isinstance(standup, Standup):
        standup = await Standup.get(id=run.standup_id)
        run.standup = standup
    group = standup.group
    if not isinstance(group, Group):
        group = await Group.get(id=standup.group_id)
        standup.group = group
    return standup, group


async def run_state(run: StandupRun) -> RunState:
    rows = await StandupAnswer.filter(run_id=run.id).order_by("id").values(*_ANSWER_COLUMNS)
    answers = {row["person_id"]: AnswerRow(**row) for row in rows}
    ids = {int(p) for p in run.participants or []} | set(answers)
    people = {row["id"]: PersonRow(**row) for row in await Person.filter(id__in=list(ids)).values(*_PERSON_COLUMNS)}
    return RunState(run, answers, people)


async def current_runs(person_id: int, now: datetime, group_id: int | None = None) -> list[StandupRun]:
    """The runs a person's answer right now belongs to: the latest run of each stand-up they were asked in,
    if it was prompted within the last 20 hours."""
    query = StandupRun.filter(prompted_at__lte=now, prompted_at__gte=now - timedelta(hours=20)).order_by("-day", "-id")
    if group_id is not None:
        query = query.filter(standup__group_id=group_id)
    seen: set[int] = set()
    found = []
    for run in await query:
        if run.standup_id in seen:
            continue
        seen.add(run.standup_id)
        if person_id in [int(p) for p in run.participants or []]:
            found.append(run)
    return found


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
