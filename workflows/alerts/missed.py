"""``clock.missed``: the one report of timer rows that fell due while the bot was down and are past their
grace window (``bot.scheduler``). Stand-up rows are reported to their group, rows naming a collaboration
(``payload["code"]``) to its groups, anything else to the admins."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from bot.i18n import Msg, _, join
from bot.router import Context, Router
from bot.scheduler import MISSED_KIND
from bot.types import Audience, Card, Conversation, Outcome, ToCollaboration, ToConversation, ToPerson
from storage.db import id_list
from storage.models import Collaboration, Group, GroupBinding, Person
from storage.models_clocks import Standup

from ..common.format import when

router = Router()

KIND_LABELS: dict[str, Msg] = {
    "standup.prompt": _("stand-up prompts"),
    "standup.remind": _("stand-up reminders"),
    "standup.digest": _("stand-up digest"),
    "report.weekly.ask": _("weekly report questions"),
    "report.weekly.compile": _("weekly report"),
    "deadline.sweep": _("deadline alerts"),
    "change.escalate": _("change request escalation"),
    "change.remind": _("change request reminder"),
    "delay.remind": _("delay notice reminder"),
    "improvement.overdue": _("overdue improvement notice"),
    "improvement.remind": _("improvement reminder"),
    "issue.escalate": _("issue escalation"),
    "meeting.remind": _("meeting reminder"),
    "minutes.confirm_remind": _("minutes confirmation reminder"),
    "minutes.remind": _("minutes reminder"),
    "mytasks.digest": _("daily list of open subtasks"),
    "risk.escalate": _("risk escalation"),
    "risk.remind": _("risk reminder"),
    "sla.request.escalate": _("escalation of an unanswered request"),
    "sla.request.remind": _("reminder to answer a request"),
    "sla.review.escalate": _("escalation of a missing verdict"),
    "sla.review.remind": _("reminder to give a verdict"),
}


def kind_label(kind: str) -> Msg:
    """Every timer kind in words; a kind added without a label still reads as a reminder, never as its code."""
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if kind.endswith(".escalate"):
        return _("escalation")
    return _("reminder")


async def _audiences(payload: dict[str, Any]) -> tuple[list[Audience], str]:
    """Where to report a row, and the timezone to show its time in."""
    if payload.get("standup"):
        standup = await Standup.get_or_none(id=int(payload["standup"]))
        group = await Group.get_or_none(id=standup.group_id) if standup else None
        if standup and group:
            return [ToConversation(Conversation(group.platform, group.conversation_id))], standup.timezone
    code = payload.get("code")
    if code:
        collab = await Collaboration.get_or_none(code=str(code))
        if collab and await GroupBinding.exists(collaboration_id=collab.id):
            return [ToCollaboration(collab.id)], ""
        if collab:
            return [ToPerson(collab.initiator_id)], ""
    if payload.get("collaboration"):
        return [ToCollaboration(int(payload["collaboration"]))], ""
    return [ToPerson(pid) for pid in await id_list(Person.filter(is_admin=True).order_by("id"))], ""


@router.timer(MISSED_KIND)
async def report_missed(ctx: Context) -> Outcome:
    tz_default = ctx.config.bot.timezone
    grouped: dict[tuple[str, ...], tuple[list[Audience], list[Any]]] = {}
    per_target: dict[tuple[str, ...], dict[tuple[str, str], int]] = defaultdict(dict)
    for row in ctx.event.payload.get("timers", []):
        payload = row.get("payload") or {}
        audiences, tz = await _audiences(payload)
        if not audiences:
            continue
        key = tuple(sorted(repr(a) for a in audiences))
        due = datetime.fromisoformat(row["due_at"])
        label_key = (row["kind"], when(due, tz or tz_default))
        counts = per_target[key]
        counts[label_key] = counts.get(label_key, 0) + 1
        grouped.setdefault(key, (audiences, []))
    outcome = Outcome()
    for key, (audiences, _lines) in grouped.items():
        lines: list[Any] = [_("The bot was not running when these were due. They were not sent: too late now, or replaced by a newer one:")]
        for (kind, at), count in sorted(per_target[key].items(), key=lambda item: item[0][1]):
            label = kind_label(kind)
            lines.append(_("- {what}, due {time}", what=label, time=at) if count == 1 else _("- {what} ×{count}, due {time}", what=label, count=count, time=at))
        lines.append(_("Nothing was sent for them. Everything due from now on goes out on time."))
        card = Card(title=_("Missed while the bot was offline"), body=join(lines), color="grey")
        for audience in audiences:
            outcome.send(audience, card)
    outcome.record("clock.missed", "clock", count=len(ctx.event.payload.get("timers", [])))
    return outcome
