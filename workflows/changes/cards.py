"""The change request card (《变更申请》): the change field by field, before → after, and every head's signature."""

from __future__ import annotations

from typing import Any

from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Button, Card, CardField, Form, FormField
from storage.models import Collaboration, Confirmation, Department, Person
from storage.models_workflows import ChangeRequest

from ..common.format import when
from .states import ChangeFlow

FIELD_LABELS: dict[str, Msg] = {
    "deadline": _("deadline"),
    "owner": _("owner"),
    "standard": _("delivery standard"),
    "goal": _("goal"),
}

def change_form(collab: Collaboration) -> Form:
    return Form(
        id="change.new",
        title=_("Change request for {code}", code=collab.code),
        submit_label=_("Send for confirmation"),
        value={"code": collab.code},
        template=_(
            "change {code}\nreason: 客户临时增加1支短视频需求\ngoal: …\nimpact: …\ndeadline: 2026-12-24\n-01 deadline: 2026-12-12 owner: anna standard: …\n-02 deadline: 2026-12-18",
            code=collab.code,
        ),
        fields=[
            FormField("reason", _("Reason for the change"), "textarea", required=True),
            FormField("goal", _("New goal (empty: unchanged)"), "textarea", initial=collab.goal),
            FormField("impact", _("Impact"), "textarea", required=True),
            FormField("deadline", _("New deadline of the collaboration (empty: unchanged)"), "date"),
            FormField("changes", _("Subtask changes, one line each"), "textarea", placeholder=_("-01 deadline: 2026-12-12 owner: anna standard: …")),
        ],
    )


def reject_form(change: ChangeRequest) -> Form:
    return Form(
        id="change.reject",
        title=_("Reject change request {code}", code=change.code),
        submit_label=_("Reject"),
        value={"code": change.code},
        template=_("change {code} reject reason: …", code=change.code),
        fields=[FormField("reason", _("Reason"), "textarea", required=True)],
    )


def change_lines(change: ChangeRequest, collab_code: str) -> list[Any]:
    lines: list[Any] = []
    if change.goal_after is not None:
        lines.append(_("- {code} {field}: {before} → {after}", code=collab_code, field=FIELD_LABELS["goal"], before=change.goal_before or "—", after=change.goal_after))
    if change.deadline_after is not None:
        lines.append(_("- {code} {field}: {before} → {after}", code=collab_code, field=FIELD_LABELS["deadline"], before=change.deadline_before.isoformat(), after=change.deadline_after.isoformat()))
    for entry in change.items or []:
        changes = entry["changes"]
        for name in ("deadline", "owner", "standard"):
            if name in changes:
                before, after = changes["owner_name"] if name == "owner" and "owner_name" in changes else changes[name]
                lines.append(_("- {code} {title} · {field}: {before} → {after}", code=entry["subtask"], title=entry["title"], field=FIELD_LABELS[name], before=before, after=after))
    return lines


async def signature_lines(change: ChangeRequest, ctx: Context) -> list[Any]:
    rows = {r.person_id: r for r in await Confirmation.filter(subject=change.code, purpose="change")}
    people = {p.id: p.name for p in await Person.filter(id__in=[int(a["person"]) for a in change.approvers or []])}
    tz = ctx.config.bot.timezone
    dept_names = {d.code: d.name for d in await Department.all()}
    lines: list[Any] = []
    for approver in change.approvers or []:
        pid = int(approver["person"])
        depts = join([dept_names.get(code, code) for code in approver["departments"]], ", ")
        row = rows.get(pid)
        name = people.get(pid, "?")
        if row is not None and row.state == "confirmed":
            lines.append(_("✅ {name} ({depts}) confirmed at {time}", name=name, depts=depts, time=when(row.decided_at, tz)))
        elif row is not None and row.state == "rejected":
            lines.append(_("❌ {name} ({depts}) rejected at {time}: {reason}", name=name, depts=depts, time=when(row.decided_at, tz), reason=row.comment))
        elif change.state == "pending":
            lines.append(_("⏳ {name} ({depts}) has not confirmed yet", name=name, depts=depts))
        else:
            lines.append(_("— {name} ({depts}) did not sign", name=name, depts=depts))
    return lines


async def change_card(change: ChangeRequest, ctx: Context) -> Card:
    collab = await Collaboration.get(id=change.collaboration_id)
    requester = await Person.get(id=change.requested_by_id)
    value = {"code": change.code}
    buttons: list[Button] = []
    if change.state == "pending":
        buttons = [
            Button(_("Confirm"), "change.confirm", value, "primary", command=_("change {code} confirm", code=change.code)),
            Button(_("Reject"), "change.reject", value, "danger", command=_("change {code} reject reason: ", code=change.code), opens_form=reject_form(change)),
            Button(_("Withdraw"), "change.withdraw", value, command=_("change {code} withdraw", code=change.code)),
        ]
    elif change.state == "rejected" and not change.resubmitted_as:
        buttons = [Button(_("Resubmit"), "change.resubmit", value, command=_("change {code} resubmit", code=change.code))]
    status: Any = _("Status: {state}", state=ChangeFlow.label(change.state))
    if change.resubmitted_as:
        status = _("Rejected, then resubmitted as {code}.", code=change.resubmitted_as)
    elif change.state == "rejected":
        status = _("Rejected: {reason}. Nothing was changed.", reason=change.rejection)
    elif change.state == "pending":
        status = _("Every collaborating department head must confirm; one rejection stops it.")
    body = join(
        [
            _("**Reason:** {text}", text=change.reason),
            _("**Impact:** {text}", text=change.impact or "—"),
            _("**Changes (before → after):**"),
            *change_lines(change, collab.code),
            _("**Signatures:**"),
            *await signature_lines(change, ctx),
        ]
    )
    return Card(
        key=f"chg:{change.code}",
        title=_("Change request {code}: {title}", code=change.code, title=collab.title),
        body=body,
        fields=[
            CardField(_("Requested by"), _("{name} at {time}", name=requester.name, time=when(change.created_at, ctx.config.bot.timezone))),
            CardField(_("Collaboration"), f"{collab.code} {collab.title}"),
        ],
        buttons=buttons,
        color={"pending": "yellow", "applied": "green", "rejected": "red"}.get(change.state, "grey"),  # type: ignore[arg-type]
        status=status,
        mentions=[str(a["person"]) for a in change.approvers or []] if change.state == "pending" else [],
    )
