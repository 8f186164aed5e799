"""``help`` / ``帮助``: what the bot can do, with examples, in the user's language; and the reply to unknown commands."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.i18n import Join, _, join
from bot.router import Router
from bot.types import Card, Event, Outcome

router = Router()


def help_text() -> Join:
    """The everyday commands, each with an example that works as written (tests/language/test_examples.py runs them)."""
    return join(
        [
            _("**collabbot** runs cross-department collaboration in this group: requests, subtasks, progress, acceptance, archive."),
            _("Type a command after @collabbot (or /collab on Slack). Chinese and English both work; fields are “name: value” lines."),
            _("- `new` — raise a collaboration request (without fields: a form and a template)"),
            _("- `accept XZB2026112301 design` / `decline XZB2026112301 rd reason: fully booked counter date: 2026-12-20` — a department head answers (or use the card)"),
            _("- `rescope XZB2026112301 deadline: 2026-12-30`, `reroute XZB2026112301 from: rd to: design`, `cancel XZB2026112301` — the initiator after a decline"),
            _("- `task XZB2026112301 title: Poster owner: hanmei standard: 300DPI deadline: 2026-12-10` — add a subtask (also collaborators, resources, priority, depends)"),
            _("- `ack XZB2026112301-01` — the owner takes the subtask (or use the card)"),
            _("- `progress XZB2026112301-01 60% done: first draft problems: none support: none next: revise colours` — report progress"),
            _("- `submit XZB2026112301-01 deliverables: poster https://files.example/poster.pdf v2 statement: done self-check: meets the standard` — ask for acceptance"),
            _("- `pass XZB2026112301-01` / `fail XZB2026112301-01 comments: colours do not match the brand guide` — the reviewer's verdict (or use the card)"),
            _("- `complete XZB2026112301` — the initiator completes and archives"),
            _("- `show XZB2026112301`, `list`, `log XZB2026112301`, `pending XZB2026112301` — a collaboration, the open ones, its audit trail, who still has to confirm"),
            _("- `lang en` / `语言 中文`, `whoami`, `bind XZB2026112301` — your language, your directory entry, follow a collaboration in this group"),
            _("- `guide` — stand-ups, weekly reports, risks, issues, delays, change requests, meetings and minutes, improvements, retrospectives and SOPs"),
            _("- `help` — this list"),
            _("Dates: 2026-12-01, next Friday."),
        ]
    )


def guide_text() -> Join:
    """What the later workflows add to ``help``, each with an example that works as written."""
    return join(
        [
            _("- `standup set time: 09:30 cutoff: 10:00 participants: hanmei` — a daily stand-up for this group; answer the prompt with “yesterday: … today: … blockers: …”; `standup skip`, `standup leave 2026-12-01 to 2026-12-05`, `standup back`"),
            _("- `weekly XZB2026112301 completion: 40% risks: none support: none` — your line of the weekly progress report; `report` shows when it is compiled, `report now` compiles it at once, `report set day: fri time: 17:00` moves it"),
            _("- `mytasks` — what waits for you: subtasks, reviews, decisions"),
            _("- `risk XZB2026112301-01 description: materials are late level: high impact: poster solution: marketing sends them today` — a risk report for the initiator to answer within 4 hours; `respond XZB2026112301-R01 coordinate comment: marketing sends them today`"),
            _("- `issue XZB2026112301 tier: general description: materials missing` — an issue on its escalation ladder (general / severe / dispute); `resolve XZB2026112301-P01 resolution: materials arrived`, `escalate XZB2026112301-P01`"),
            _("- `delay XZB2026112301-01 reason: materials are late new date: 2026-12-14` — a delay notice, effective once the initiator confirms; `ontrack XZB2026112301-01` / `late XZB2026112301-01 reason: materials are late new date: 2026-12-14` — answer a deadline alert"),
            _("- `change XZB2026112301 reason: a video was added impact: four more days deadline: 2026-12-24` — a change request every collaborating head confirms; the bot applies it"),
            _("- `meeting XZB2026112301 topic: kickoff time: 2026-12-01 14:00 attendees: liuyang, chenjie recorder: hanmei` — a meeting notice; `absent XZB2026112301-M01 reason: client visit`; `minutes XZB2026112301-M01 conclusions: roles agreed resolutions: first draft by Dec 5` — the minutes"),
            _("- `improve XZB2026112301 problem: changes were not shared category: information measure: a change notice owner: liuyang deadline: 2026-12-11` — the improvement log"),
            _("- `retro XZB2026112301`, `sop`, `search poster` — the retrospective, the SOPs, the archive"),
            _("- `risks XZB2026112301`, `changes XZB2026112301`, `meetings XZB2026112301`, `improvements XZB2026112301` — what was raised, changed, met and improved"),
            _("- `gantt XZB2026112301`, `burndown XZB2026112301`, `export XZB2026112301` — charts and the documents' tables"),
        ]
    )


@router.command("help", "帮助", "?", "？", "h", "说明", "菜单")
async def show_help() -> Outcome:
    return Outcome().reply(Card(title=_("collabbot help"), body=help_text(), color="blue"))


@router.command("guide", "更多帮助", "更多命令")
async def guide() -> Outcome:
    return Outcome().reply(Card(title=_("Stand-ups, reports, risks, changes, meetings and reviews"), body=guide_text(), color="blue"))


@router.unhandled()
async def unknown_command(event: Event) -> Outcome:
    word = event.text.strip().split()[0] if event.text.strip() else ""
    raise InvalidInput(join([_("Unknown command “{word}”.", word=word[:40]), help_text()]))
