"""Who may take a chart or an export away, and where it goes.

Shared by the chart and export commands (it imports neither). A person gets what they may read
(``workflows/common/visibility.py``); a file about a collaboration is posted in the conversation only
when that is a direct chat or a group the collaboration is shown in — anywhere else it goes to the
person directly, so a group never sees another department's records.
"""

from __future__ import annotations

from datetime import timedelta

from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from bot.router import Context
from bot.types import Audience, FileContent, Outcome, Reply, Text, ToPerson
from storage.models import Collaboration, GroupBinding, Person

from ..common import lookup
from ..common.records import require_actor
from ..common.visibility import can_see

LINK_TTL = timedelta(days=7)


async def readable_collaboration(ctx: Context, text: str) -> tuple[Collaboration, Person]:
    """The collaboration named (or bound to this group) when the actor may read it; else a specific refusal."""
    actor = require_actor(ctx)
    collab = await lookup.collaboration(ctx, text)
    if not await can_see(actor, collab.id):
        raise NotAllowed(
            _("You cannot see {code}: neither you nor your department takes part in it. Ask its initiator if you need it.", code=collab.code)
        )
    return collab, actor


async def audience_for(ctx: Context, actor: Person, collaboration_ids: list[int]) -> Audience:
    """Here, when this is a direct chat or a group that shows every one of these collaborations; else the actor's DM."""
    conversation = ctx.event.conversation
    if conversation is None or conversation.is_direct:
        return Reply()
    if ctx.group is not None and collaboration_ids:
        shown = set(await GroupBinding.filter(group_id=ctx.group.id, collaboration_id__in=collaboration_ids).values_list("collaboration_id", flat=True))
        if shown == set(collaboration_ids):
            return Reply()
    return ToPerson(actor.id)


def dashboard_link(ctx: Context, scope: str, person_id: int) -> str | None:
    """A signed dashboard link for platforms that cannot take the file, when the dashboard is configured."""
    try:
        from bot.links import LinkError, links_enabled, sign_link
    except ImportError:  # a build without the dashboard
        return None
    if not links_enabled(ctx.config):
        return None
    try:
        return sign_link(ctx.config, scope=scope, person_id=person_id, now=ctx.now, ttl=LINK_TTL)
    except LinkError:
        return None


def no_subtasks(code: str) -> InvalidInput:
    return InvalidInput(_("{code} has no subtasks yet, so there is nothing to draw. Add one with “task {code}”.", code=code))


def with_fallback(file: FileContent) -> FileContent:
    """Say what a chat that cannot take files shows instead: the caption and the signed link, or where to get it."""
    if file.link:
        file.fallback = _("{caption} Open it here: {link}", caption=file.caption or file.filename, link=file.link)
    else:
        file.fallback = _(
            "{caption} This chat cannot receive files from the bot ({name}): ask for it in a direct message, or ask an admin for the dashboard or “collabbot export”.",
            caption=file.caption or "", name=file.filename,
        )
    return file


def send_files(audience: Audience, files: list[FileContent]) -> Outcome:
    """The files to ``audience``; when that is the actor's DM rather than here, a short note here says so."""
    outcome = Outcome()
    for content in files:
        outcome.send(audience, with_fallback(content))
    if isinstance(audience, ToPerson):
        outcome.reply(Text(_("I sent it to you in a direct message, so only you see it."), ephemeral=True))
    return outcome
