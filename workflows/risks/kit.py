"""Helpers the later workflows share: document codes under a collaboration, who takes part in it,
working days (through the injected ``calendar`` when there is one), local times and names."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from tortoise.models import Model

from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import Msg, _
from bot.router import Context
from storage.models import Collaboration, Person, RequestedDepartment, Subtask

from ..common import lookup
from ..common.records import next_number, require_actor

M = TypeVar("M", bound=Model)

DOC = re.compile(r"\b([A-Za-z]{1,8}\d{10,12})-([A-Za-z])(\d{2,3})\b")
SHORT_DOC = re.compile(r"(?:^|\s)-?([A-Za-z])(\d{2,3})\b")


async def new_code(collab: Collaboration, letter: str) -> str:
    """``XZB2026112301-R01``: the next number of this kind of document under the collaboration."""
    number = await next_number(f"doc:{letter}:{collab.code}")
    return f"{collab.code}-{letter}{number:02d}"


async def find_document(ctx: Context, model: type[M], text: str, letter: str, example: Msg, *, lock: bool = False) -> M:
    """A document by its code (``XZB…-C01``), or by ``C01`` in the collaboration's group."""
    match = next((m for m in DOC.finditer(text or "") if m.group(2).upper() == letter), None)
    if match is not None:
        code = f"{match.group(1).upper()}-{letter}{int(match.group(3)):02d}"
    else:
        short = next((m for m in SHORT_DOC.finditer(text or "") if m.group(1).upper() == letter), None)
        bound = await lookup.default_collaboration(ctx) if short else None
        if short is None or bound is None:
            raise InvalidInput(_("Which one? Add its id, e.g. “{example}”.", example=example))
        code = f"{bound.code}-{letter}{int(short.group(2)):02d}"
    query = model.filter(code=code)
    if lock:
        query = query.select_for_update()
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no {code}. Send “show {parent}” to see the collaboration.", code=code, parent=code.rsplit("-", 1)[0]))
    return row


async def department_heads(collab: Collaboration) -> list[tuple[int, list[str]]]:
    """The heads of the departments collaborating (accepted), each with their department codes."""
    answers = await RequestedDepartment.filter(collaboration_id=collab.id, state="accepted").order_by("id").select_related("department")
    heads: dict[int, list[str]] = {}
    for answer in answers:
        if answer.department.head_id is not None:
            heads.setdefault(answer.department.head_id, []).append(answer.department.code)
    return list(heads.items())


async def participants(collab: Collaboration) -> set[int]:
    """Everyone with a role on the collaboration: initiator, tracker, reviewer, decision maker, the heads of
    the departments asked, and the owners and collaborators of its subtasks."""
    ids: set[int | None] = {collab.initiator_id, collab.tracker_id, collab.reviewer_id, collab.decision_maker_id}
    heads = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").values_list("department__head_id", flat=True)
    ids.update(cast(list[int | None], heads))
    for owner_id, collaborators, reviewer_id in await Subtask.filter(collaboration_id=collab.id).values_list("owner_id", "collaborators", "reviewer_id"):
        ids.add(owner_id)
        ids.add(reviewer_id)
        ids.update(int(p) for p in collaborators or [])
    return {i for i in ids if i is not None}


async def require_participant(ctx: Context, collab: Collaboration, what: Msg) -> Person:
    actor = require_actor(ctx)
    if actor.id not in await participants(collab):
        raise NotAllowed(_("Only people taking part in {code} can {what}.", code=collab.code, what=what))
    return actor


def require_initiator(ctx: Context, collab: Collaboration, what: Msg) -> Person:
    actor = require_actor(ctx)
    if actor.id not in (collab.initiator_id, collab.tracker_id):
        raise NotAllowed(_("Only the initiator of {code} can {what}.", code=collab.code, what=what))
    return actor


# ---------------------------------------------------------------- working days and times


def _calendar(ctx: Context) -> Any:
    return ctx.services.get("calendar")


def add_working_days(ctx: Context, start: date, days: int) -> date:
    calendar = _calendar(ctx)
    if calendar is not None:
        return cast(date, calendar.add_working_days(start, days))
    step = 1 if days >= 0 else -1
    current = start
    for _n in range(abs(days)):
        current += timedelta(days=step)
        while current.weekday() >= 5:
            current += timedelta(days=step)
    return current


def working_days_between(ctx: Context, a: date, b: date) -> int:
    """Working days in ``(a, b]`` (negative when ``b`` is before ``a``)."""
    calendar = _calendar(ctx)
    if calendar is not None:
        return cast(int, calendar.working_days_between(a, b))
    sign, lo, hi = (1, a, b) if b >= a else (-1, b - timedelta(days=1), a - timedelta(days=1))
    count, day = 0, lo + timedelta(days=1)
    while day <= hi:
        count += day.weekday() < 5
        day += timedelta(days=1)
    return sign * count


def zone(ctx: Context) -> ZoneInfo:
    tz = (ctx.group.timezone if ctx.group and ctx.group.timezone else None) or ctx.config.bot.timezone
    return ZoneInfo(tz)


def end_of_day(ctx: Context, day: date, at: time = time(18, 0)) -> datetime:
    return datetime.combine(day, at, ZoneInfo(ctx.config.bot.timezone)).astimezone(ZoneInfo("UTC"))


async def name_of(person_id: int | None) -> str:
    person = await Person.get_or_none(id=person_id) if person_id else None
    return person.name if person else "—"


async def names_of(ids: list[int]) -> list[str]:
    people = {p.id: p.name for p in await Person.filter(id__in=list(ids))}
    return [people.get(i, "?") for i in ids]


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def superior_of(person_id: int, *, skip: tuple[int | None, ...] = ()) -> int | None:
    """Whom a person's matters escalate to: their superior, else their department's head, else the
    department's superior, else the first admin — never the person themselves or anyone in ``skip``."""
    from storage.models import Department

    person = await Person.get_or_none(id=person_id)
    candidates: list[int | None] = []
    if person is not None:
        candidates.append(person.superior_id)
        if person.department_id:
            dept = await Department.get_or_none(id=person.department_id)
            if dept is not None:
                candidates += [dept.head_id, dept.superior_id]
    candidates += cast(list[int | None], await Person.filter(is_admin=True).order_by("id").values_list("id", flat=True))
    for candidate in candidates:
        if candidate is not None and candidate != person_id and candidate not in skip:
            return candidate
    return None


async def update_subtask(task: Subtask, subject: str, **values: Any) -> None:
    """Write ``values`` on the subtask with compare-and-set on its version."""
    from bot.errors import TransitionNotAllowed

    if not await Subtask.filter(id=task.id, version=task.version).update(version=task.version + 1, **values):
        raise TransitionNotAllowed(_("{code} was changed by someone else just now. Nothing was changed: try again.", code=subject))
    for name, value in values.items():
        setattr(task, name, value)
    task.version += 1


def subtask_line(task: Subtask, owner_name: str) -> str:
    return f"{task.code} {task.title} · {owner_name} · {task.deadline.isoformat()} · {task.progress}%"


def check_new_deadline(ctx: Context, collab: Collaboration, new_date: date, field: str, limit: date | None = None) -> None:
    """A new subtask deadline: not in the past, not after the collaboration's deadline."""
    today = lookup.local_today(ctx)
    if new_date < today:
        raise InvalidInput(_("The date {date} is in the past. Choose a later date.", date=new_date.isoformat()), field=field)
    limit = limit or collab.deadline
    if new_date > limit:
        raise InvalidInput(
            _("{date} is after the collaboration's deadline {limit}: moving past it needs a change request (“change {code} …”).", date=new_date.isoformat(), limit=limit.isoformat(), code=collab.code),
            field=field,
        )


async def subtask_of(collab: Collaboration, text: str) -> Subtask:
    found = lookup.find_code(text)
    if found and found[1]:
        code = f"{found[0]}-{found[1]}"
    elif match := re.fullmatch(r"\s*-?(\d{1,3})\s*", text or ""):
        code = f"{collab.code}-{int(match.group(1)):02d}"
    else:
        raise InvalidInput(_("“{text}” is not a subtask id. Write it like {code}-01.", text=(text or "")[:40], code=collab.code), field="subtask")
    task = await Subtask.filter(code=code).first()
    if task is None or task.collaboration_id != collab.id:
        raise NotFound(_("{ref} is not a subtask of {code}. Send “show {code}” to see its subtasks.", ref=code, code=collab.code), field="subtask")
    return task
