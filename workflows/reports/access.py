"""Who may take a chart or an export away, and where it goes.

Shared by the chart and export commands (it imports neither). A person gets what they may read, where
``workflows/common/visibility.py`` says (here or by direct message); a file also says what a chat that
cannot take files shows instead.
"""

from __future__ import annotations

from datetime import timedelta

from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context
from bot.types import Audience, FileContent, Outcome

from ..common.visibility import sent_to

LINK_TTL = timedelta(days=7)


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
    """Say what a chat that cannot take files, or not one this large, shows instead: the caption and the signed
    link, or where to get it."""
    size = f"{len(file.data) / (1024 * 1024):.1f}"
    if file.link:
        file.fallback = _("{caption} Open it here: {link}", caption=file.caption or file.filename, link=file.link)
        file.oversize = _(
            "{caption} The file ({name}, {size} MB) is larger than this chat takes. Open it here: {link}",
            caption=file.caption or "", name=file.filename, size=size, link=file.link,
        )
    else:
        file.fallback = _(
            "{caption} This chat cannot receive files from the bot ({name}): ask for it in a direct message, or ask an admin for the dashboard or “collabbot export”.",
            caption=file.caption or "", name=file.filename,
        )
        file.oversize = _(
            "{caption} The file ({name}, {size} MB) is larger than this chat takes: export one collaboration at a time (“export XZB…”) "
            "or a shorter date range (“export all from: 2026-10-01 to: 2026-10-31”), or ask an admin for “collabbot export”.",
            caption=file.caption or "", name=file.filename, size=size,
        )
    return file


def send_files(audience: Audience, files: list[FileContent]) -> Outcome:
    """The files to ``audience``, each saying what a chat that cannot take files shows instead."""
    return sent_to(audience, [with_fallback(content) for content in files])
