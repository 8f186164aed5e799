"""协作SOP: a finished collaboration saved as a template (departments, goal, measures, subtasks with their
delivery standards), and a new collaboration started from one (``new sop: <name>`` + title and deadline)."""

from __future__ import annotations

from typing import Any, cast

from bot.calendar import WorkCalendar
from bot.errors import InvalidInput, NotFound
from bot.i18n import _, join
from bot.router import Context
from bot.types import Outcome
from storage.models import Collaboration, Department, Person, RequestedDepartment, Subtask
from storage.models_workflows import SopTemplate

from . import planned


async def find_sop(name: str, field: str | None = "sop") -> SopTemplate:
    key = (name or "").strip()
    sop = await SopTemplate.filter(name=key).first() or await SopTemplate.filter(name__iexact=key).first()
    if sop is None:
        known = join(cast(list[str], await SopTemplate.all().order_by("name").values_list("name", flat=True)), ", ")
        raise NotFound(_("There is no SOP “{name}”. Known SOPs: {known}.", name=key[:40], known=known or "—"), field=field)
    return sop


async def save_sop(collab: Collaboration, name: str, measures: str, author: Person, now: Any, calendar: WorkCalendar | None = None) -> SopTemplate:
    """Each step keeps its deadline as working days before the collaboration's (calendar days without ``calendar``)."""
    name = name.strip()[:64]
    if not name:
        raise InvalidInput(_("Give the SOP a name, e.g. “sop: 新品发布物料”."), field="sop")
    if await SopTemplate.filter(name=name).exists():
        raise InvalidInput(_("An SOP called “{name}” already exists. Choose another name.", name=name), field="sop")
    departments = await RequestedDepartment.filter(collaboration_id=collab.id, state="accepted").order_by("id").values_list("department__code", flat=True)
    subtasks = []
    for task in await Subtask.filter(collaboration_id=collab.id).order_by("id").select_related("owner"):
        subtasks.append(
            {
                "title": task.title,
                "standard": task.delivery_standard,
                "owner": task.owner.handle,
                "priority": task.priority,
                "resources": task.resources,
                "days_before_deadline": max(
                    calendar.working_days_between(task.deadline, collab.deadline) if calendar else (collab.deadline - task.deadline).days, 0
                ),
            }
        )
    return await SopTemplate.create(
        name=name,
        source=collab.code,
        goal=collab.goal,
        scope=collab.scope_in,
        deliverables=collab.deliverables,
        departments=list(departments),
        measures=measures,
        subtasks=subtasks,
        created_by=author,
        created_at=now,
    )


async def prefill(values: dict[str, Any]) -> tuple[dict[str, Any], SopTemplate | None]:
    """A request's fields with the SOP's defaults under what the person wrote themselves."""
    if not (values.get("sop") or "").strip():
        return values, None
    sop = await find_sop(values["sop"])
    codes = sop.departments or []
    names = cast(list[str], await Department.filter(code__in=codes).values_list("code", flat=True))
    merged = dict(values)
    for key, default in (("goal", sop.goal), ("scope", sop.scope), ("deliverables", sop.deliverables), ("departments", ", ".join(names))):
        if not (merged.get(key) or "").strip() and default:
            merged[key] = default
    return merged, sop


async def plan_from_sop(ctx: Context, collab: Collaboration, sop: SopTemplate) -> Outcome:
    """The SOP's subtasks, planned now and created (with their delivery standards) when the request is active."""
    items = []
    for step in sop.subtasks or []:
        owner = await Person.filter(handle=step.get("owner", "")).first()
        owner_id = owner.id if owner else collab.initiator_id
        items.append(
            {
                "title": step["title"],
                "owner": owner_id,
                "standard": step["standard"],
                "priority": step.get("priority", "medium"),
                "resources": step.get("resources", ""),
                "days_before_deadline": int(step.get("days_before_deadline") or 0),
            }
        )
    await planned.plan(collab, f"sop:{sop.name}", items, ctx.now)
    return Outcome().record("sop.applied", collab.code, sop=sop.name, subtasks=len(items))
