"""Who may read what: one rule for the dashboard, "my tasks", the chat's views (show, list, log, pending; the
lists of risks, meetings, improvements and changes; a change request or minutes shown by code), the archive's search,
charts and exports.

A person may read a collaboration when they are an admin, take part in it (initiator, tracker, reviewer,
decision maker, owner, collaborator or reviewer of a subtask, head of a department asked), or belong to
the initiator's department or to a department asked (not withdrawn). Nothing else: another department's
collaborations stay out of sight.

And where an answer about a collaboration goes: into the conversation when that is a direct chat or a group
the collaboration is shown in; anywhere else to the person directly, so a group never reads another
department's records because one of its members may.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.errors import NotAllowed
from bot.i18n import _
from bot.router import Context
from bot.types import Audience, Content, Outcome, Reply, Text, ToPerson
from storage import directory, sql
from storage.models import Collaboration, GroupBinding, Person

from . import lookup
from .records import require_actor

ROLES = ("initiator_id", "tracker_id", "reviewer_id", "decision_maker_id")
"""The collaboration's own roles: each may read it."""
_ROLE_COLUMNS = ", ".join(f'"c"."{role}"' for role in ROLES)


def _admin_or_role(person: Person, collab: Collaboration) -> bool:
    """The rule's first clauses, which the collaboration's row answers."""
    return person.is_admin or any(getattr(collab, role) == person.id for role in ROLES)


async def visible_collaboration_ids(person: Person) -> set[int] | None:
    """The ids of the collaborations ``person`` may read; ``None`` means all of them (an admin). One statement:
    each collaboration asked the rule, through the indexes of its departments and subtasks."""
    if person.is_admin:
        return None
    rows = await sql.fetch(_visible(sql.dialect()), _rule_params(person))
    return {int(row["id"]) for row in rows}


@cache
def _rule(dialect: str) -> str:
    """The condition that ``person`` may read the collaboration ``"c"`` (the module docstring's rule: an admin
    flag, then each role); its parameters are ``_rule_params``."""
    return (
        "(? = 1"
        f" OR ? IN ({_ROLE_COLUMNS})"
        ' OR EXISTS (SELECT 1 FROM "person" "i" WHERE "i"."id" = "c"."initiator_id" AND "i"."department_id" = ?)'
        ' OR EXISTS (SELECT 1 FROM "requested_department" "r" JOIN "department" "d" ON "d"."id" = "r"."department_id"'
        ' WHERE "r"."collaboration_id" = "c"."id" AND "r"."state" <> \'withdrawn\' AND ("d"."head_id" = ? OR "r"."department_id" = ?))'
        ' OR EXISTS (SELECT 1 FROM "subtask" "s" WHERE "s"."collaboration_id" = "c"."id"'
        ' AND ("s"."owner_id" = ? OR "s"."reviewer_id" = ? OR '
        + sql.json_list_holds('"s"."collaborators"', dialect)
        + ")))"
    )


def _rule_params(person: Person) -> list[Any]:
    pid, department = person.id, person.department_id
    return [1 if person.is_admin else 0, pid, department, pid, department, pid, pid, str(pid)]


@cache
def _visible(dialect: str) -> str:
    return 'SELECT "c"."id" FROM "collaboration" "c" WHERE ' + _rule(dialect)


@cache
def _seen_and_shown(dialect: str) -> str:
    """Whether the person may read the collaboration and whether the group asked in shows it."""
    return (
        'SELECT EXISTS (SELECT 1 FROM "collaboration" "c" WHERE "c"."id" = ? AND '
        + _rule(dialect)
        + ') AS "seen",'
        ' EXISTS (SELECT 1 FROM "group_binding" "b" WHERE "b"."collaboration_id" = ? AND "b"."group_id" = ?) AS "shown"'
    )


async def _read_rule(person: Person, collaboration_id: int, group_id: int | None) -> tuple[bool, bool]:
    """``(may read, shown in the group)``: one statement."""
    row = (await sql.fetch(_seen_and_shown(sql.dialect()), [collaboration_id, *_rule_params(person), collaboration_id, group_id]))[0]
    return bool(row["seen"]), bool(row["shown"])


async def can_see(person: Person, collaboration_id: int) -> bool:
    """Whether ``person`` may read the collaboration (see the module docstring): the same rule as
    ``visible_collaboration_ids``, asked of one collaboration in one statement."""
    return (await _read_rule(person, collaboration_id, None))[0]


def _group_asked_in(ctx: Context) -> int | None:
    """The group the command was given in; None in a direct chat (or without a conversation)."""
    conversation = ctx.event.conversation
    in_group = conversation is not None and not conversation.is_direct
    return ctx.group.id if in_group and ctx.group is not None else None


def _answer_to(ctx: Context, actor: Person, shown_here: bool) -> Audience:
    """Here, when this is a direct chat or a group that shows what the answer is about; else the actor's DM."""
    conversation = ctx.event.conversation
    if conversation is None or conversation.is_direct or shown_here:
        return Reply()
    return ToPerson(actor.id)


async def readable_collaboration(ctx: Context, text: str) -> tuple[Collaboration, Person, Audience]:
    """The collaboration named (or bound to this group) when the actor may read it, and where an answer about
    it goes (as ``audience_for`` says); else a specific refusal."""
    actor = require_actor(ctx)
    collab = await lookup.collaboration(ctx, text)
    group_id = _group_asked_in(ctx)
    if _admin_or_role(actor, collab):
        # the rule's first clauses, read off the row: no statement (the groups bound come from the directory's cache)
        seen, shown = True, group_id is not None and group_id in await directory.bound_groups(collab.id)
    else:
        seen, shown = await _read_rule(actor, collab.id, group_id)
    if not seen:
        raise _not_yours(collab.code)
    return collab, actor, _answer_to(ctx, actor, shown)


async def readable_document(ctx: Context, collaboration_id: int, code: str) -> Audience:
    """Where to show the actor a document of a collaboration (its minutes, a change request: ``code``
    ``XZB…-M01``), as ``readable_collaboration`` says for the collaboration itself; else the same refusal."""
    actor = require_actor(ctx)
    seen, shown = await _read_rule(actor, collaboration_id, _group_asked_in(ctx))
    if not seen:
        raise _not_yours(code.split("-", 1)[0])
    return _answer_to(ctx, actor, shown)


def _not_yours(code: str) -> NotAllowed:
    return NotAllowed(
        _("You cannot see {code}: neither you nor your department takes part in it. Ask its initiator if you need it.", code=code)
    )


async def audience_for(ctx: Context, actor: Person, collaboration_ids: list[int]) -> Audience:
    """Here, when this is a direct chat or a group that shows every one of these collaborations; else the actor's DM."""
    group_id = _group_asked_in(ctx)
    shown = False
    if group_id is not None and collaboration_ids:
        bound = await GroupBinding.filter(group_id=group_id, collaboration_id__in=collaboration_ids).values_list("collaboration_id", flat=True)
        shown = set(bound) == set(collaboration_ids)
    return _answer_to(ctx, actor, shown)


def sent_to(audience: Audience, contents: list[Content]) -> Outcome:
    """``contents`` to ``audience``; when that is the actor's DM rather than here, a short note here says so."""
    outcome = Outcome()
    for content in contents:
        outcome.send(audience, content)
    if isinstance(audience, ToPerson):
        outcome.reply(Text(_("I sent it to you in a direct message, so only you see it."), ephemeral=True))
    return outcome
