"""Stand-up cards: the prompt (one per participant), the reminder, the digest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import Msg, _, join
from bot.types import Button, Card, CardField, Form, FormField
from storage.models import Group, Person, Subtask
from storage.models_clocks import Standup, StandupAnswer, StandupRun

from .store import AnswerRow, PersonRow, RunState

WEEKDAYS: tuple[Msg, ...] = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def day_label(day: date) -> Msg:
    return _("{date} ({weekday})", date=day.isoformat(), weekday=WEEKDAYS[day.weekday()])


def local_time(moment: datetime, tz: str, person_tz: str | None = None) -> str:
    """``11:00``; with a person in another timezone also their wall time with its offset: ``11:00 / 04:00 (+01:00)``.

    No zone abbreviation (CST, CET): they are English words and ambiguous (CST is also US Central).
    """
    local = moment.astimezone(ZoneInfo(tz))
    text = f"{local:%H:%M}"
    if person_tz and person_tz != tz:
        theirs = moment.astimezone(ZoneInfo(person_tz))
        if theirs.utcoffset() != local.utcoffset():
            text += f" / {theirs:%H:%M} ({theirs:%z})"
            text = text[:-3] + ":" + text[-3:]
    return text


def late_note(late_seconds: int | None) -> Msg | None:
    if not late_seconds:
        return None
    minutes = max(1, round(late_seconds / 60))
    return _("⏰ Sent late ({minutes} min): the bot was not running at the scheduled time.", minutes=minutes)


# the board's status colours (workflows/tasks/cards.py: status_colour)
DOTS = {"red": "🔴", "yellow": "🟡", "green": "🟢", "grey": "⚪"}
PROGRESS_FIELD = "progress_"  # + the subtask's id: one progress field per open subtask in the answer form


def subtask_line(task: Subtask, colour: str | None = None) -> str:
    dot = f"{DOTS[colour]} " if colour in DOTS else ""
    return f"{dot}{task.code} {task.title} ({task.progress}%, {task.deadline.isoformat()})"


def progress_fields(tasks: list[Subtask]) -> list[FormField]:
    """One field per subtask whose progress its owner may still report: answering the stand-up updates it."""
    return [
        FormField(f"{PROGRESS_FIELD}{t.id}", _("{code} {title}: progress (%)", code=t.code, title=t.title), initial=str(t.progress))
        for t in tasks
        if t.stage in ("not_started", "in_progress")
    ]


def answer_form(run: StandupRun, yesterday: str, today: str, blockers: str = "", tasks: list[Subtask] | None = None) -> Form:
    return Form(
        id="standup.answer",
        title=_("Stand-up"),
        fields=[
            FormField("yesterday", _("Yesterday (done)"), "textarea", initial=yesterday or None),
            FormField("today", _("Today (plan)"), "textarea", required=True, initial=today or None),
            FormField("blockers", _("Blockers"), "textarea", initial=blockers or None, placeholder=_("none")),
            *progress_fields(tasks or []),
        ],
        submit_label=_("Send"),
        value={"run": run.id},
        template=_("昨天 / yesterday: …\n今天 / today: …\n障碍 / blockers: …"),
    )


def prompt_card(
    standup: Standup,
    group: Group,
    run: StandupRun,
    person: Person,
    tasks: list[Subtask],
    yesterday: str,
    answer: StandupAnswer | None = None,
    late_seconds: int | None = None,
    colours: dict[int, str] | None = None,
) -> Card:
    """The prompt a participant gets, prefilled from open work: each open subtask with its progress and
    deadline colour (a progress field each in the form), "today" from them and "yesterday" from the last
    answer's plan; after an answer the same card shows it (still editable)."""
    colours = colours or {}
    today = "\n".join(f"- {subtask_line(t)}" for t in tasks)
    lines: list[Any] = [
        late_note(late_seconds),
        _(
            "Stand-up for **{group}** on {day}. Answer by {cutoff}; you can edit your answer until then.",
            group=group.name or group.conversation_id,
            day=day_label(run.day),
            cutoff=local_time(run.cutoff_at, standup.timezone, person.timezone),
        ),
    ]
    if tasks:
        lines.append(_("Your open subtasks:"))
        lines += [f"- {subtask_line(t, colours.get(t.id))}" for t in tasks]
    lines.append(_("Use the form, or reply with three lines: “昨天: …”, “今天: …”, “障碍: …” (or yesterday / today / blockers)."))
    status = None
    buttons = [Button(_("Skip today"), "standup.skip", {"run": run.id}, command=_("standup skip"))]
    if answer is not None:
        if answer.status == "answered":
            status = _("Answered at {time}", time=local_time(answer.updated_at, standup.timezone))
            yesterday, today, blockers = answer.yesterday, answer.today, answer.blockers
        else:
            status = _("Skipped today") if answer.status == "skipped" else _("On leave")
            buttons = []
            blockers = ""
    else:
        blockers = ""
    return Card(
        title=_("Stand-up · {day}", day=day_label(run.day)),
        key=f"standup:{run.id}:{person.id}",
        body=join(lines),
        form=answer_form(run, yesterday, today, blockers, tasks) if answer is None or answer.status == "answered" else None,
        buttons=buttons,
        status=status,
        color="blue",
        mentions=[str(person.id)] if standup.mode == "group" else [],
    )


def reminder_card(standup: Standup, run: StandupRun, person: Person | PersonRow, yesterday: str, tasks: list[Subtask]) -> Card:
    today = "\n".join(f"- {subtask_line(t)}" for t in tasks)
    return Card(
        title=_("Reminder: stand-up · {day}", day=day_label(run.day)),
        key=f"standup-remind:{run.id}:{person.id}",
        body=_("Your stand-up answer is still missing. The digest goes to the group at {cutoff}.", cutoff=local_time(run.cutoff_at, standup.timezone, person.timezone)),
        form=answer_form(run, yesterday, today, tasks=tasks),
        buttons=[Button(_("Skip today"), "standup.skip", {"run": run.id}, command=_("standup skip"))],
        color="yellow",
        mentions=[str(person.id)] if standup.mode == "group" else [],
    )


def _answer_lines(answer: StandupAnswer | AnswerRow) -> list[Any]:
    lines: list[Any] = []
    if answer.yesterday.strip():
        lines.append(_("  Yesterday: {text}", text=answer.yesterday.strip().replace("\n", "; ")))
    if answer.today.strip():
        lines.append(_("  Today: {text}", text=answer.today.strip().replace("\n", "; ")))
    if has_blocker(answer):
        lines.append(_("  ⚠ **Blocker:** {text}", text=answer.blockers.strip().replace("\n", "; ")))
    return lines


_NO_BLOCKER = {"", "none", "no", "n/a", "na", "-", "—", "无", "没有", "暂无", "无障碍", "nothing"}


def has_blocker(answer: StandupAnswer | AnswerRow) -> bool:
    return answer.status == "answered" and answer.blockers.strip().lower().rstrip(".。") not in _NO_BLOCKER


def digest_card(standup: Standup, group: Group, state: RunState, late_seconds: int | None = None) -> Card:
    """One digest per run: answers, who is missing, every blocker with a "raise as risk" button."""
    run = state.run
    ids = [int(p) for p in run.participants or []]
    ids += [pid for pid in state.answers if pid not in ids]
    name = {pid: (state.people[pid].name if pid in state.people else str(pid)) for pid in ids}
    status = {pid: state.status(pid) for pid in ids}
    answered = [pid for pid in ids if status[pid] == "answered"]
    late = [pid for pid in ids if status[pid] == "late"]
    away = [pid for pid in ids if status[pid] in ("skipped", "leave")]
    missing = [pid for pid in ids if status[pid] == "missing"]
    lines: list[Any] = [late_note(late_seconds)]
    lines.append(
        _(
            "{answered} of {total} answered ({away} away, {missing} missing).",
            answered=len(answered) + len(late),
            total=len(ids),
            away=len(away),
            missing=len(missing),
        )
    )
    blockers = [state.answers[pid] for pid in answered + late if has_blocker(state.answers[pid])]
    if blockers:
        lines.append(_("**Blockers ({count})**", count=len(blockers)))
        lines += [f"- ⚠ {name[a.person_id]}: {a.blockers.strip()}".replace("\n", "; ") for a in blockers]
    for pid in answered:
        lines.append(f"**{name[pid]}**")
        lines += _answer_lines(state.answers[pid])
    if late:
        lines.append(_("**Late answers**"))
        for pid in late:
            lines.append(_("**{name}** (late, {time})", name=name[pid], time=local_time(state.answers[pid].answered_at, standup.timezone)))
            lines += _answer_lines(state.answers[pid])
    fields = []
    if away:
        fields.append(
            CardField(
                _("Away"),
                join([_("{name} (skipped)", name=name[p]) if status[p] == "skipped" else _("{name} (on leave)", name=name[p]) for p in away], ", "),
            )
        )
    if missing:
        fields.append(CardField(_("Missing"), join([name[p] for p in missing], ", ")))
    buttons = [
        Button(_("Raise as risk: {name}", name=name[a.person_id]), "standup.raise_risk", {"answer": a.id}, style="danger")
        for a in blockers
    ]
    return Card(
        title=_("Stand-up digest · {group} · {day}", group=group.name or group.conversation_id, day=day_label(run.day)),
        key=f"standup-digest:{run.id}",
        body=join(lines),
        fields=fields,
        buttons=buttons,
        color="red" if blockers else ("yellow" if missing else "green"),
        mentions=[str(p) for p in missing] if standup.mode == "group" else [],
    )
