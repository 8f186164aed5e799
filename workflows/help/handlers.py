"""``help`` / ``帮助``: what the bot can do, with examples, in the user's language; and the reply to unknown commands."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.i18n import Join, _, join
from bot.router import Router
from bot.types import Card, Event, Outcome

router = Router()


def help_text() -> Join:
    return join(
        [
            _("**collabbot** runs cross-department collaboration in this group: requests, subtasks, progress, acceptance, archive."),
            _("Type a command after @collabbot (or /collab on Slack). Chinese and English both work; fields are “name: value” lines."),
            _("- `new` — raise a collaboration request (without fields: a form and a template)"),
            _("- `accept XZB2026112301` / `decline XZB2026112301 reason: 当前人力饱和 counter date: 12月20日` — a department head answers (or use the card)"),
            _("- `rescope XZB2026112301 deadline: 2026-12-30`, `reroute XZB2026112301 from: design to: rd`, `cancel XZB2026112301` — the initiator after a decline"),
            _("- `task XZB2026112301` + lines title / owner / collaborators / resources / standard / deadline — add a subtask"),
            _("- `progress XZB2026112301-01 60% done: … problems: … support: … next: …` — report progress"),
            _("- `submit XZB2026112301-01 deliverables: 海报 https://… v2 statement: … self-check: …` — ask for acceptance"),
            _("- `pass XZB2026112301-01` / `fail XZB2026112301-01 comments: …` — the reviewer's verdict (or use the card)"),
            _("- `complete XZB2026112301` — the initiator completes and archives"),
            _("- `show`, `list`, `log`, `pending` — read a collaboration, the open ones, its audit trail, who still has to confirm"),
            _("- `lang en` / `语言 中文`, `whoami`, `bind XZB2026112301` — your language, your directory entry, follow a collaboration in this group"),
            _("- `guide` — stand-ups, risks, delays, change requests, meetings and minutes, improvements, retrospectives and SOPs"),
            _("Dates: 2026-12-01, 12月1日, 下周五, next Friday."),
        ]
    )


@router.command("help", "帮助", "?", "？", "h", "说明", "菜单")
async def show_help() -> Outcome:
    return Outcome().reply(Card(title=_("collabbot help"), body=help_text(), color="blue"))


@router.unhandled()
async def unknown_command(event: Event) -> Outcome:
    word = event.text.strip().split()[0] if event.text.strip() else ""
    raise InvalidInput(join([_("Unknown command “{word}”.", word=word[:40]), help_text()]))
