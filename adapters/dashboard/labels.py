"""Every word the dashboard pages show, through gettext like the bot's messages (templates get them localized)."""

from __future__ import annotations

from types import SimpleNamespace

from markupsafe import escape

from bot.i18n import Msg, _, text

LABELS: dict[str, Msg] = {
    "app": _("Collaboration dashboard"),
    "board": _("Board"),
    "charts": _("Charts"),
    "gantt": _("Gantt chart"),
    "burndown": _("Burndown chart"),
    "timeline": _("Timeline"),
    "whole_timeline": _("Show the whole timeline"),
    "minutes": _("Minutes"),
    "acceptance": _("Acceptance history"),
    "health": _("Collaboration health"),
    "health_title": _("Collaboration health between departments"),
    "health_note": _("Hours are medians from request to answer and from submission to verdict."),
    "archive": _("Archive"),
    "my_page": _("My page"),
    "code": _("ID"),
    "title": _("Title"),
    "status": _("Status"),
    "owner": _("Owner"),
    "department": _("Department"),
    "departments": _("Departments"),
    "stage": _("Stage"),
    "progress": _("Progress"),
    "deadline": _("Deadline"),
    "priority": _("Priority"),
    "initiator": _("Initiator"),
    "goal": _("Goal"),
    "reviewer": _("Reviewer"),
    "attempt": _("Attempt"),
    "submitted": _("Submitted"),
    "submitted_by": _("Submitted by"),
    "decided": _("Decided"),
    "comments": _("Comments"),
    "result": _("Result"),
    "when": _("Time"),
    "who": _("Who"),
    "what": _("What"),
    "topic": _("Topic"),
    "attendees": _("Attendees"),
    "conclusions": _("Conclusions"),
    "resolutions": _("Resolutions"),
    "actions": _("Action items"),
    "no_minutes": _("No minutes yet."),
    "no_meetings": _("No meetings yet."),
    "no_subtasks": _("No subtasks yet."),
    "no_reviews": _("No acceptance requests yet."),
    "no_timeline": _("Nothing recorded yet."),
    "no_health": _("No answers, reviews or risks between departments to measure yet."),
    "search": _("Search"),
    "shown_of": _("{first}–{last} of {total}, newest first"),
    "previous_page": _("Previous page"),
    "next_page": _("Next page"),
    "newest_shown": _("The newest {n} are listed."),
    "all_in_archive": _("All of them in the archive"),
    "download": _("Download the tables:"),
    "download_xlsx": _("Excel workbook"),
    "download_zip": _("CSV files (ZIP)"),
    "search_text": _("Words"),
    "any": _("Any"),
    "person": _("Person"),
    "from": _("From"),
    "to": _("To"),
    "found": _("Found"),
    "nothing_found": _("Nothing found. Try fewer words or a wider date range."),
    "members": _("Members"),
    "head": _("Head"),
    "collaborations": _("Collaborations"),
    "open_subtasks": _("Open subtasks"),
    "waiting": _("Waiting for this person"),
    "nothing_waiting": _("Nothing is waiting."),
    "to_decide": _("To decide"),
    "reviews_owed": _("Reviews owed"),
    "risks_to_answer": _("Risks to answer"),
    "subtasks_owned": _("Subtasks owned"),
    "page": _("Page"),
    "expires": _("This link works until {time}."),
    "read_only": _("Read-only: decisions are taken in the chat."),
    "summary_total": _("{n} subtasks"),
    "average_progress": _("average progress {n}%"),
    "the_bot": _("the bot"),
    "recorded": _("recorded a decision"),
}

# Refusal pages: a title and an explanation per reason.
REFUSALS: dict[str, tuple[Msg, Msg]] = {
    "expired": (_("This link has expired"), _("Links to the dashboard work for a limited time. Send “my tasks” (我的任务) to the bot for a fresh link.")),
    "altered": (_("This link is not valid"), _("The link was changed or cut off after the bot made it. Open it again from the bot's message, or ask the bot for a fresh one.")),
    "not_yours": (_("This link was made for someone else"), _("Dashboard links are personal. Send “my tasks” (我的任务) to the bot to get your own link.")),
    "missing": (_("A link from the bot is needed"), _("Open the dashboard from a link the bot posted, e.g. after “my tasks” (我的任务).")),
    "disabled": (_("The dashboard is switched off"), _("An admin can switch it on in the [dashboard] section of the configuration.")),
    "not_visible": (_("You may not see this"), _("This page belongs to departments you are not part of. Ask its initiator to add you if you need it.")),
    "not_found": (_("Not found"), _("There is no such page. The link may point to something that was removed.")),
    "bad_input": (_("That search could not be read"), _("Check the dates (e.g. 2026-12-01) and try again.")),
}


def localized(locale: str) -> SimpleNamespace:
    """The labels in ``locale`` as attributes (``t.board`` in a template is a plain attribute read)."""
    return SimpleNamespace(**{key: escape(text(value, locale)) for key, value in LABELS.items()})  # escaped once, not per row
