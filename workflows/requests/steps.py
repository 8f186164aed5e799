"""The steps that raising, deciding and re-scoping a request share: naming departments, checking dates, asking a head."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context
from bot.types import Outcome, ToPerson
from storage.models import Collaboration, Department, RequestedDepartment

from ..common import lookup
from ..common.fields import split_list
from ..common.records import open_confirmation, sla_timers
from .cards import decision_card


async def departments(text: str) -> list[Department]:
    names = split_list(text)
    if not names:
        raise InvalidInput(_("Name at least one department, e.g. “departments: 设计部, 研发部”."), field="departments")
    found: list[Department] = []
    for name in names:
        dept = await lookup.department(name, field="departments")
        if dept.head_id is None:
            raise InvalidInput(
                _("{dept} has no head to accept requests. An admin sets one with “admin head {code} @name”.", dept=dept.name, code=dept.code),
                field="departments",
            )
        if dept.id not in {d.id for d in found}:
            found.append(dept)
    return found


def check_dates(start: date | None, deadline: date, today: date) -> None:
    if deadline < today:
        raise InvalidInput(_("The deadline {deadline} is in the past. Choose a later date.", deadline=deadline.isoformat()), field="deadline")
    if start is not None and deadline < start:
        raise InvalidInput(
            _("The deadline {deadline} is before the start {start}. The deadline must be on or after the start.", deadline=deadline.isoformat(), start=start.isoformat()),
            field="deadline",
        )


async def ask_head(ctx: Context, outcome: Outcome, collab: Collaboration, dept: Department, answer: RequestedDepartment) -> None:
    assert dept.head_id is not None
    await open_confirmation(collab.code, f"request:r{answer.round}:{dept.code}", dept.head_id, ctx.now, at_end=True)
    outcome.send(ToPerson(dept.head_id), await decision_card(collab, dept, answer, ctx))
    for key, kind, due, payload in sla_timers(
        ctx, f"sla:request:{collab.code}:{dept.code}", "sla.request", ctx.config.bot.request_answer_working_days,
        code=collab.code, dept=dept.code, round=answer.round,
    ):
        outcome.timer(key, kind, due, **payload)



async def unasked_departments(collab: Collaboration, answers: list[RequestedDepartment] | None = None) -> list[Department]:
    """Departments with a head that are not (or no longer) asked in ``collab``: where it can be re-routed
    (``answers``: its current answers, when the handler has them already)."""
    if answers is not None:
        asked: Any = [a.department_id for a in answers if a.state != "withdrawn"]
    else:
        asked = await RequestedDepartment.filter(collaboration_id=collab.id).exclude(state="withdrawn").values_list("department_id", flat=True)
    return list(await Department.filter(head_id__isnull=False).exclude(id__in=list(asked)).order_by("id"))
