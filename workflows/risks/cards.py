"""Cards of the risk report (《风险说明》) and the one-click "raise as risk" progress card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.i18n import Msg, _
from bot.router import Context
from bot.types import Button, Card, CardField, Choice, Color, Form, FormField
from storage.models import Collaboration, Person, ProgressUpdate, Subtask
from storage.models_workflows import RiskReport

from ..common.format import PRIORITIES, when
from .kit import subtask_line
from .states import RiskFlow

LEVEL_COLORS: dict[str, Color] = {"high": "red", "medium": "yellow", "low": "blue"}

RESPONSES: dict[str, Msg] = {
    "coordinate": _("Coordinate resources"),
    "move": _("Move the deadline"),
    "reassign": _("Reassign"),
    "comment": _("Comment"),
}
RESPONSE_COMMANDS: dict[str, Callable[[str], Msg]] = {
    "coordinate": lambda code: _("respond {code} coordinate comment: ", code=code),
    "move": lambda code: _("respond {code} move comment: ", code=code),
    "reassign": lambda code: _("respond {code} reassign comment: ", code=code),
    "comment": lambda code: _("respond {code} comment comment: ", code=code),
}
RESPONSE_WORDS = {
    "coordinate": "coordinate", "resources": "coordinate", "协调": "coordinate", "协调资源": "coordinate",
    "move": "move", "deadline": "move", "move deadline": "move", "调整时间": "move", "调整时间节点": "move", "延期": "move",
    "reassign": "reassign", "改派": "reassign", "转派": "reassign", "调整分工": "reassign",
    "comment": "comment", "意见": "comment", "评论": "comment", "备注": "comment",
}


def risk_form(collab: Collaboration, subtask: str = "") -> Form:
    return Form(
        id="risk.new",
        title=_("Risk report for {code}", code=collab.code),
        submit_label=_("Report the risk"),
        value={"code": collab.code},
        template=_("risk {code}-01\ndescription: 素材未及时提供，海报需延迟1天\nlevel: high / medium / low\nimpact: …\nsolution: …", code=collab.code),
        fields=[
            FormField("subtask", _("Related subtask"), initial=subtask or None, placeholder=_("e.g. {code}-01", code=collab.code)),
            FormField("level", _("Risk level"), "select", required=True, choices=[Choice(k, v) for k, v in PRIORITIES.items()], initial="medium"),
            FormField("description", _("Risk"), "textarea", required=True),
            FormField("impact", _("Impact scope"), "textarea", required=True),
            FormField("solution", _("Suggested solution"), "textarea", required=True),
        ],
    )


def respond_form(risk: RiskReport, choice: str) -> Form:
    fields: list[FormField] = []
    if choice == "move":
        fields.append(FormField("new_date", _("New deadline"), "date", required=True))
    if choice == "reassign":
        fields.append(FormField("owner", _("New owner"), "person", required=True))
    fields.append(FormField("comment", _("What you decided"), "textarea", required=choice in ("coordinate", "comment")))
    return Form(
        id="risk.respond",
        title=_("{choice}: {code}", choice=RESPONSES[choice], code=risk.code),
        submit_label=_("Send the response"),
        value={"code": risk.code, "choice": choice},
        template=_("{command}…", command=RESPONSE_COMMANDS[choice](risk.code)),
        fields=fields,
    )


async def risk_card(risk: RiskReport, ctx: Context) -> Card:
    """The risk as the group, the initiator and (after escalation) the superior see it; updated in place."""
    collab = await Collaboration.get(id=risk.collaboration_id)
    task = await Subtask.get_or_none(id=risk.subtask_id) if risk.subtask_id else None
    raiser = await Person.get(id=risk.raised_by_id)
    initiator = await Person.get(id=collab.initiator_id)
    tz = ctx.config.bot.timezone
    subtask_text = subtask_line(task, (await Person.get(id=task.owner_id)).name) if task else "—"
    fields = [
        CardField(_("Collaboration"), f"{collab.code} {collab.title}"),
        CardField(_("Related subtask"), subtask_text),
        CardField(_("Risk level"), PRIORITIES.get(risk.level, risk.level)),
        CardField(_("Impact scope"), risk.impact or "—"),
        CardField(_("Suggested solution"), risk.solution or "—"),
        CardField(_("Raised by"), _("{name} at {time}", name=raiser.name, time=when(risk.created_at, tz))),
        CardField(_("Respond by"), when(risk.due_at, tz)),
    ]
    buttons: list[Button] = []
    status: Any
    if risk.state in ("open", "escalated"):
        for choice, label in RESPONSES.items():
            if choice in ("move", "reassign") and task is None:
                continue
            buttons.append(
                Button(label, f"risk.{choice}", {"code": risk.code, "choice": choice}, "primary" if choice == "coordinate" else "default", command=RESPONSE_COMMANDS[choice](risk.code), opens_form=respond_form(risk, choice))
            )
        if risk.state == "open":
            status = _("Waiting for {initiator} to respond by {time}.", initiator=initiator.name, time=when(risk.due_at, tz))
        else:
            boss = await Person.get_or_none(id=risk.escalated_to_id) if risk.escalated_to_id else None
            status = _(
                "Not answered within 4 hours: escalated to {boss} at {time}. {initiator} or {boss} can still respond.",
                boss=boss.name if boss else "?",
                time=when(risk.escalated_at, tz),
                initiator=initiator.name,
            )
            fields.append(CardField(_("Escalated to"), boss.name if boss else "—"))
    else:
        responder = await Person.get_or_none(id=risk.responded_by_id) if risk.responded_by_id else None
        status = response_line(risk, responder.name if responder else "?", tz)
    return Card(
        key=f"risk:{risk.code}",
        title=_("Risk report {code} ({level} risk)", code=risk.code, level=PRIORITIES.get(risk.level, risk.level)),
        body=risk.description,
        fields=fields,
        buttons=buttons,
        color="green" if risk.state == "responded" else LEVEL_COLORS.get(risk.level, "yellow"),
        status=status,
        mentions=[str(collab.initiator_id)] if risk.state == "open" else [],
    )


def response_line(risk: RiskReport, name: str, tz: str) -> Msg:
    detail = risk.response_detail or {}
    extra: Any = ""
    if risk.response_kind == "move" and detail.get("deadline"):
        extra = _(" (deadline {before} → {after})", before=detail["deadline"][0], after=detail["deadline"][1])
    elif risk.response_kind == "reassign" and detail.get("owner_names"):
        extra = _(" (owner {before} → {after})", before=detail["owner_names"][0], after=detail["owner_names"][1])
    return _(
        "{choice} — {name} at {time}{extra}: {text}",
        choice=RESPONSES.get(risk.response_kind, risk.response_kind),
        name=name,
        time=when(risk.responded_at, tz),
        extra=extra,
        text=risk.response or "—",
    )


_NO_PROBLEM = {"", "none", "no", "n/a", "na", "-", "—", "无", "没有", "暂无", "无问题", "nothing"}


def has_problem(text: str) -> bool:
    return (text or "").strip().lower().rstrip(".。") not in _NO_PROBLEM


def progress_card(body: Any, update: ProgressUpdate, task: Subtask) -> Card:
    """A progress update that reported problems: the same text, with a button to raise them as a risk."""
    return Card(
        title=_("Progress of {code}: problems reported", code=task.code),
        body=body,
        buttons=[Button(_("Raise as risk"), "risk.from_progress", {"update": update.id}, "danger", command=_("risk {code} description: ", code=task.code))],
        color="yellow",
    )


def summary_lines(rows: list[RiskReport]) -> list[Msg]:
    return [
        _("{code} [{level}] {text} — {state}", code=r.code, level=PRIORITIES.get(r.level, r.level), text=r.description[:60], state=RiskFlow.label(r.state))
        for r in rows
    ]
