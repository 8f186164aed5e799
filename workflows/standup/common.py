"""What the stand-up sub-flows share: the answer fields, the caller's group and person, refreshing a
participant's cards. Imports none of the sub-flow modules."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context
from bot.types import Outcome
from storage.models import Group, Person, Subtask
from storage.models_clocks import Standup, StandupAnswer, StandupRun

from ..common.fields import FieldSet, parse_fields
from ..tasks.cards import status_colour
from .cards import digest_card, prompt_card
from .store import card_exists, open_subtasks, previous_plan, run_state, standup_and_group, standup_where

ANSWER_FIELDS = FieldSet(
    {
        "yesterday": ("yesterday", "昨天", "昨日", "昨日完成", "昨天完成"),
        "today": ("today", "今天", "今日", "今日计划", "今天计划"),
        "blockers": ("blockers", "blocker", "blocked", "障碍", "遇到障碍", "阻碍", "卡点"),
    }
)


def answer_fields(text: str) -> tuple[str, dict[str, str]]:
    try:
        head, values = parse_fields(text, ANSWER_FIELDS)
    except InvalidInput:
        return text, {}
    return head, {k: v for k, v in values.items() if k in ("yesterday", "today", "blockers")}


async def existing_standup(ctx: Context) -> Standup | None:
    return await standup_where("group_id", ctx.group.id) if ctx.group else None


def need_group(ctx: Context) -> Group:
    if ctx.group is None:
        raise InvalidInput(_("Set up a stand-up in the group it is for: send “standup set …” there."))
    return ctx.group


def standup_today(ctx: Context) -> date:
    """The stand-up's day: runs are dated in the group's (or the person's) timezone, which may differ
    from the organisation's (a team in another office)."""
    tz = (ctx.group.timezone if ctx.group and ctx.group.timezone else None) or (
        ctx.actor.timezone if ctx.actor and ctx.actor.timezone else None
    ) or ctx.config.bot.timezone
    return ctx.now.astimezone(ZoneInfo(tz)).date()


def actor_person(ctx: Context) -> Person:
    if ctx.actor is None:
        raise InvalidInput(_("I could not tell who you are. Ask an admin to add you to the directory."))
    return ctx.actor


def task_colours(ctx: Context, tasks: list[Subtask], day: date) -> dict[int, str]:
    """Each subtask's deadline colour on ``day`` by the board's rule (red overdue, yellow due soon, green)."""
    calendar = ctx.services["calendar"]
    return {t.id: status_colour(t, day, calendar, ctx.config.bot.due_soon_working_days) for t in tasks}


async def refresh_cards(ctx: Context, run: StandupRun, person: Person, answer: StandupAnswer | None, outcome: Outcome) -> None:
    standup, group = await standup_and_group(run)
    if await card_exists(f"standup:{run.id}:{person.id}"):
        tasks = await open_subtasks(person.id)
        # an answer fills the card's form itself: the previous plan only prefills an unanswered one
        plan = await previous_plan(person.id, run.day) if answer is None else ""
        outcome.update(prompt_card(standup, group, run, person, tasks, plan, answer, colours=task_colours(ctx, tasks, run.day)))
    if run.state == "closed":
        outcome.update(digest_card(standup, group, await run_state(run)))
