"""``help`` / ``帮助``: what the bot can do, with examples, in the user's language."""

from __future__ import annotations

from bot.i18n import _, join
from bot.router import Router
from bot.types import Outcome

router = Router()


def help_text() -> object:
    return join(
        [
            _("**collabbot** runs cross-department collaboration in this group."),
            _("Commands (type them after @collabbot, or use /collab):"),
            _("- `help` — this message"),
        ]
    )


@router.command("help", "帮助", "?", "？", "h")
async def show_help() -> Outcome:
    return Outcome().reply(help_text(), ephemeral=True)


@router.unhandled()
async def unknown_command(command: str | None, args: str, event: object) -> Outcome:
    from bot.types import Event

    assert isinstance(event, Event)
    word = event.text.strip().split()[0] if event.text.strip() else ""
    return Outcome().reply(
        join([_("Unknown command “{word}”.", word=word[:40]), help_text()]),
        ephemeral=True,
    )
