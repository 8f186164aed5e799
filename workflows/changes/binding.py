"""A group bound to a collaboration later (``bind``) gets the cards still being decided, so a decision taken in
any group updates the copy in every group (§ one collaboration, several groups and platforms)."""

from __future__ import annotations

from bot.router import Context
from bot.types import Card
from storage.models import AcceptanceRequest, Collaboration, Subtask
from storage.models_workflows import ChangeRequest, DelayNotice, Issue, Meeting, Minutes, RiskReport


async def open_cards(ctx: Context, collab: Collaboration) -> list[Card]:
    """The collaboration's overview and every card that still takes a decision, newest state."""
    from ..acceptance.handlers import acceptance_card
    from ..meetings.cards import minutes_card, notice_card
    from ..requests.cards import overview_card
    from ..risks.cards import risk_card
    from ..risks.delays import delay_card
    from ..risks.issues import issue_card
    from ..tasks.cards import subtask_card
    from .cards import change_card

    cards = [await overview_card(collab, ctx)]
    for task in await Subtask.filter(collaboration_id=collab.id, acknowledged_at=None).exclude(stage="done").order_by("id"):
        cards.append(await subtask_card(task, ctx))
    for request in await AcceptanceRequest.filter(subtask__collaboration_id=collab.id, state="pending").order_by("id").select_related("subtask"):
        cards.append(await acceptance_card(request, request.subtask, ctx))
    for change in await ChangeRequest.filter(collaboration_id=collab.id, state="pending").order_by("id"):
        cards.append(await change_card(change, ctx))
    for risk in await RiskReport.filter(collaboration_id=collab.id, state__in=["open", "escalated"]).order_by("id"):
        cards.append(await risk_card(risk, ctx))
    for issue in await Issue.filter(collaboration_id=collab.id, state="open").order_by("id"):
        cards.append(await issue_card(issue, ctx))
    for notice in await DelayNotice.filter(collaboration_id=collab.id, state="pending").order_by("id"):
        cards.append(await delay_card(notice, ctx))
    for meeting in await Meeting.filter(collaboration_id=collab.id).exclude(state="confirmed").order_by("id"):
        cards.append(await notice_card(meeting, ctx))
        minutes = await Minutes.filter(meeting_id=meeting.id, state="pending").order_by("-number").first()
        if minutes is not None:
            cards.append(await minutes_card(minutes, meeting, ctx))
    return cards
