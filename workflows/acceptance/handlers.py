"""§6 Acceptance (《验收申请》/《成果验收表》): submit → pass / fail with comments → resubmit; complete and archive."""

from __future__ import annotations

import re
from typing import Any

from bot.errors import InvalidInput, NotAllowed, TransitionNotAllowed
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Outcome, Text, ToPerson
from storage import sql
from storage.models import AcceptanceRequest, Collaboration, Person, Subtask
from storage.unique import create_numbered

from ..common import lookup
from ..common.card_values import clicked_version
from ..common.fields import FieldSet, parse_fields, require
from ..common.forms import answer_typed, ask
from ..common.records import (
    announce_to,
    open_confirmation,
    require_actor,
    require_open,
    sla_timers,
)
from ..requests.cards import overview_card
from ..requests.states import CollaborationFlow
from ..tasks.cards import subtask_card
from ..tasks.states import SubtaskFlow
from .cards import acceptance_card, fail_form, numbered, submit_form
from .checklist import (
    checklist_items,
    failed_indexes,
    failed_items,
    judged,
    new_checklist,
    parse_marks,
    self_checked,
    ticked_from_form,
)
from .states import AcceptanceFlow

router = Router()


SUBMIT_FIELDS = FieldSet(
    {
        "deliverables": ("deliverables", "deliverable", "交付物", "成果", "交付成果"),
        "statement": ("statement", "completion", "完成说明", "完成情况"),
        "self_check": ("self-check", "self check", "selfcheck", "自检", "自检结果"),
    }
)
VERDICT_FIELDS = FieldSet(
    {
        "failed_items": ("failed items", "failed", "failing items", "不通过项", "未通过项", "不合格项"),
        "comments": ("comments", "comment", "意见", "验收意见", "原因"),
    }
)

_URL = re.compile(r"https?://\S+")
_VERSION = re.compile(r"\b(v\d+[\w.\-]*)|(第[一二三四五六七八九十\d]+版[\w\-]*)", re.I)


def parse_deliverables(text: str) -> list[dict[str, str]]:
    """One deliverable per line or ``;``: a name, an optional link and an optional version label (``v2-修改后``)."""
    items = []
    for part in re.split(r"[\n;；]+", text or ""):
        part = part.strip(" -•\t")
        if not part:
            continue
        link = _URL.search(part)
        rest = part.replace(link.group(0), "") if link else part  # a version label inside the link is the file's, not the label
        version = _VERSION.search(rest)
        name = (rest.replace(version.group(0), "") if version else rest).strip()
        items.append(
            {
                "name": name or (link.group(0) if link else part),
                "link": link.group(0) if link else "",
                "version": version.group(0) if version else "",
                "text": part,  # exactly as typed, for whoever shows it
            }
        )
    return items


async def _submittable(ctx: Context, code_text: str) -> tuple[Subtask, Collaboration]:
    task, collab = await lookup.owned_subtask(ctx, code_text, _("submit it for acceptance"))
    if task.reviewer_id is None:
        raise InvalidInput(_("{code} has no reviewer. The initiator names one with “rescope … reviewer: @name”.", code=task.code))
    return task, collab


async def submit_for_acceptance(ctx: Context, found: tuple[Subtask, Collaboration], values: dict[str, Any], ticked: dict[int, bool] | None) -> Outcome:
    """One 《验收申请》 of the subtask ``found`` by ``_submittable``: the deliverables, and the delivery standard's
    items with the owner's ticks (``ticked``: item index → met; None when the owner did not go through the items)."""
    task, collab = found
    assert task.reviewer_id is not None  # _submittable refuses a subtask without one
    actor = require_actor(ctx)
    deliverables = parse_deliverables(require(values, "deliverables", _("deliverables")))
    checklist = self_checked(new_checklist(checklist_items(task.delivery_standard)), ticked)
    await SubtaskFlow.fire_at_end(task, "submit", task.code, updated_at=ctx.now)
    request = await create_numbered(
        AcceptanceRequest,
        "attempt",
        {"subtask_id": task.id},
        deliverables=deliverables,
        statement=values.get("statement", ""),
        self_check=values.get("self_check", ""),
        checklist=checklist,
        submitted_by=actor,
        submitted_at=ctx.now,
    )
    attempt = request.attempt
    await open_confirmation(task.code, f"acceptance:{attempt}", task.reviewer_id, ctx.now, at_end=True)
    card = await acceptance_card(request, task, ctx)
    outcome = Outcome().record("acceptance.submitted", task.code, attempt=attempt, deliverables=deliverables, checklist=checklist)
    outcome.send(await announce_to(collab), card)
    outcome.send(ToPerson(task.reviewer_id), card)
    outcome.update(await subtask_card(task, ctx))
    for key, kind, due, payload in sla_timers(ctx, f"sla:review:{task.code}:{attempt}", "sla.review", ctx.config.bot.review_working_days, code=task.code, attempt=attempt):
        outcome.timer(key, kind, due, **payload)
    return outcome


@router.command("submit", "deliver", "提交验收", "验收申请", "验收", "交付")
async def submit(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, SUBMIT_FIELDS)
    if not values:
        task, _collab = await _submittable(ctx, head)
        return ask(submit_form(task), *numbered(checklist_items(task.delivery_standard)), ctx=ctx)
    found = await _submittable(ctx, head)
    items = checklist_items(found[0].delivery_standard)
    return await submit_for_acceptance(ctx, found, values, parse_marks(values.get("self_check", ""), items))


@router.form("acceptance.submit")
async def submit_form_submitted(ctx: Context, event: Any) -> Outcome:
    code = str(event.value.get("code", ""))
    found = await _submittable(ctx, code)
    items = checklist_items(found[0].delivery_standard)
    values = {k: v for k, v in event.form.items() if isinstance(v, str) and v.strip()}
    ticked = ticked_from_form(event.form["self_check_items"], items) if "self_check_items" in event.form else parse_marks(values.get("self_check", ""), items)
    return await submit_for_acceptance(ctx, found, values, ticked)


# the subtask's latest attempt, and how many other subtasks of its collaboration have not passed yet
_LATEST_ATTEMPT = (
    f'SELECT {sql.columns_of(AcceptanceRequest, "t")}, (SELECT COUNT(*) FROM "subtask" "s" WHERE "s"."collaboration_id" = ? '
    'AND "s"."id" <> ? AND "s"."stage" <> \'done\') AS "others_open" '
    'FROM "acceptance_request" "t" WHERE "t"."subtask_id" = ? ORDER BY "t"."attempt" DESC LIMIT 1'
)


async def _judgeable(ctx: Context, code_text: str, attempt: int | None) -> tuple[Subtask, Collaboration, AcceptanceRequest, int]:
    """The pending acceptance the actor may judge now, or why not (own work, not the reviewer, decided, stale);
    and how many other subtasks of the collaboration have not passed acceptance."""
    task = await lookup.subtask(ctx, code_text, lock=True)
    collab: Collaboration = task.collaboration  # loaded by lookup.subtask
    require_open(collab)
    actor = require_actor(ctx)
    if actor.id == task.owner_id:
        raise NotAllowed(_("You own {code}: nobody reviews their own deliverable.", code=task.code))
    if actor.id != task.reviewer_id:
        reviewer: Person | None = task.reviewer  # loaded by lookup.subtask
        raise NotAllowed(_("Only {reviewer}, the reviewer of {code}, can pass or fail it.", reviewer=reviewer.name if reviewer else "?", code=task.code))
    found = await sql.fetch(_LATEST_ATTEMPT, (collab.id, task.id, task.id))
    if not found:
        raise TransitionNotAllowed(_("{code} has not been submitted for acceptance yet.", code=task.code))
    latest = sql.row_instance(AcceptanceRequest, "t", found[0])
    if attempt is not None and attempt != latest.attempt:
        raise TransitionNotAllowed(_("This card is out of date: {code} was resubmitted (attempt {attempt}). Use the newest card.", code=task.code, attempt=latest.attempt))
    if latest.state != "pending":
        raise TransitionNotAllowed(
            _("Attempt {attempt} of {code} was already {state}. Nothing was changed.", attempt=latest.attempt, code=task.code, state=AcceptanceFlow.label(latest.state))
        )
    return task, collab, latest, int(found[0]["others_open"])


async def verdict(ctx: Context, code_text: str, attempt: int | None, passed: bool, comments: str, named: Any = None) -> Outcome:
    """Pass every item of the delivery standard, or fail naming the items that fail (``named``: ticked
    item numbers, or the typed “failed items” text; see ``checklist.failed_indexes``)."""
    task, collab, latest, others_open = await _judgeable(ctx, code_text, attempt)
    actor = require_actor(ctx)
    if not passed and not comments.strip():
        raise InvalidInput(_("Failing needs comments saying what must change, e.g. “fail {code} comments: 主色调与VI不符”.", code=task.code), field="comments")
    items = [row["item"] for row in latest.checklist or []]
    checklist = judged(latest.checklist or [], passed, set() if passed else failed_indexes(named, comments, items))
    failed = failed_items(checklist)
    await AcceptanceFlow.fire_at_end(latest, "pass" if passed else "fail", task.code, reviewer_id=actor.id, decided_at=ctx.now, comments=comments.strip(), checklist=checklist)
    if passed:
        await SubtaskFlow.fire_at_end(task, "pass", task.code, progress=100, updated_at=ctx.now)
    else:
        await SubtaskFlow.fire_at_end(task, "fail", task.code, updated_at=ctx.now)
    outcome = Outcome().cancel(f"sla:review:{task.code}:{latest.attempt}:*")
    outcome.confirmed(task.code, f"acceptance:{latest.attempt}", "confirmed" if passed else "rejected", comments.strip())
    outcome.record("acceptance.passed" if passed else "acceptance.failed", task.code, attempt=latest.attempt, comments=comments.strip(), failed_items=failed)
    outcome.update(await acceptance_card(latest, task, ctx))
    outcome.update(await subtask_card(task, ctx))
    if passed:
        if others_open == 0:
            outcome.send(
                ToPerson(collab.initiator_id),
                Text(_("Every subtask of {code} passed acceptance. Complete and archive it with “complete {code}”.", code=collab.code)),
            )
    else:
        outcome.send(
            ToPerson(task.owner_id),
            Text(
                join(
                    [
                        _("{code} failed acceptance: {comments}\nRevise it and submit again with “submit {code} deliverables: …”.", code=task.code, comments=comments.strip()),
                        _("Items that fail: {items}", items=join(failed, ", ")) if failed else None,
                    ]
                )
            ),
        )
    return answer_typed(
        ctx,
        outcome,
        _("Recorded: {code} passed acceptance.", code=task.code)
        if passed
        else _("Recorded: {code} failed acceptance; items that fail: {items}.", code=task.code, items=join(failed, ", ") if failed else "—"),
    )



@router.action("acceptance.pass")
async def pass_clicked(ctx: Context, event: Any) -> Outcome:
    code = str(event.value.get("code", ""))
    return await verdict(ctx, code, clicked_version(event.value, "attempt", code), True, "")


@router.action("acceptance.fail")
async def fail_clicked(ctx: Context, event: Any) -> Outcome:
    """Without a form (platforms without modals): check the reviewer, then ask for comments."""
    code = str(event.value.get("code", ""))
    task, _collab, latest, _others = await _judgeable(ctx, code, clicked_version(event.value, "attempt", code))
    form = fail_form(latest, task.code)
    return ask(form, _("What must change?"), *numbered([row["item"] for row in latest.checklist or []]), ctx=ctx)


@router.form("acceptance.fail")
async def fail_submitted(ctx: Context, event: Any) -> Outcome:
    form = event.form
    code = str(event.value.get("code", ""))
    return await verdict(ctx, code, clicked_version(event.value, "attempt", code), False, str(form.get("comments", "")), form.get("failed_items"))


@router.command("pass", "approve", "通过", "验收通过")
async def pass_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, VERDICT_FIELDS)
    return await verdict(ctx, head, None, True, values.get("comments", ""))


@router.command("fail", "reject", "不通过", "驳回", "验收不通过")
async def fail_command(ctx: Context, args: str) -> Outcome:
    head, values = parse_fields(args, VERDICT_FIELDS)
    return await verdict(ctx, head, None, False, values.get("comments", ""), values.get("failed_items"))


# ---------------------------------------------------------------- complete and archive


@router.command("complete", "finish", "完成", "完成协作", "结项")
async def complete(ctx: Context, args: str) -> Outcome:
    collab = await lookup.collaboration(ctx, args, lock=True)
    actor = require_actor(ctx)
    if actor.id != collab.initiator_id:
        raise NotAllowed(_("Only the initiator of {code} can complete it.", code=collab.code))
    if not CollaborationFlow.can(collab, "complete"):
        raise CollaborationFlow.refuse(collab, "complete", collab.code)
    tasks = await Subtask.filter(collaboration_id=collab.id).order_by("id")
    if not tasks:
        raise TransitionNotAllowed(_("{code} has no subtasks yet: split the work with “task {code}” first.", code=collab.code))
    unfinished = [t for t in tasks if t.stage != "done"]
    if unfinished:
        raise TransitionNotAllowed(
            _("{code} cannot be completed: these subtasks have not passed acceptance: {list}.", code=collab.code, list=join([f"{t.code}（{t.progress}%）" for t in unfinished], ", "))
        )
    await CollaborationFlow.fire(collab, "complete", collab.code, completed_at=ctx.now)
    await CollaborationFlow.fire(collab, "archive", collab.code, archived_at=ctx.now)
    outcome = Outcome().record("collaboration.completed", collab.code).record("collaboration.archived", collab.code, subtasks=len(tasks))
    outcome.cancel(f"sla:request:{collab.code}:*")
    outcome.update(await overview_card(collab, ctx))
    outcome.send(
        await announce_to(collab),
        Text(_("🎉 {code} “{title}” is complete: {count} subtasks passed acceptance. It is archived and read-only; “show {code}” and “log {code}” still work.", code=collab.code, title=collab.title, count=len(tasks))),
    )
    return outcome
