"""Stand-up answers: the answer form, free text (``昨天: … 今天: … 障碍: …``), late answers, raising a blocker as a risk."""

from __future__ import annotations

import re
from typing import Any

from tortoise.exceptions import DoesNotExist

from bot.errors import InvalidInput, NotFound
from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Conversation, Outcome, ToConversation
from storage import sql
from storage.models import CardPost, Person, Subtask
from storage.models_clocks import StandupAnswer, StandupRun

from ..tasks.handlers import report_progress
from .cards import PROGRESS_FIELD, day_label, local_time
from .common import actor_person, answer_fields, refresh_cards
from .store import answer_of, current_runs, insert_answer, open_subtasks, standup_and_group, update_answer

router = Router()


async def record_answer(ctx: Context, run: StandupRun, person: Person, values: dict[str, str], *, reply: bool = True) -> Outcome:
    """Save (or edit) an answer. After the cut-off it counts as late and is appended to the digest."""
    values = {k: (values.get(k) or "").strip() for k in ("yesterday", "today", "blockers")}
    if not any(values.values()):
        raise InvalidInput(_("Your answer is empty. Write at least what you plan today."), field="today")
    closed = run.state == "closed"
    answer = await answer_of(run.id, person.id)
    created = False
    if answer is None:
        answer = StandupAnswer(
            run_id=run.id, person_id=person.id, status="answered", late=closed, answered_at=ctx.now, updated_at=ctx.now, **values
        )
        created = await insert_answer(answer)
        if not created:  # two answers of one person at once: the other one's row, edited by this one
            answer = await answer_of(run.id, person.id)
            if answer is None:
                raise DoesNotExist(StandupAnswer)
    if created:
        edited = False
    else:
        edited = answer.status == "answered"
        if answer.status != "answered":
            answer.late = closed
            answer.answered_at = ctx.now
        answer.status = "answered"
        answer.yesterday, answer.today, answer.blockers = values["yesterday"], values["today"], values["blockers"]
        answer.edits += 1
        answer.updated_at = ctx.now
        await update_answer(answer, _ANSWER_WRITE)
    outcome = Outcome().record("standup.answer", f"run:{run.id}", person=person.id, late=closed, edited=edited)
    await refresh_cards(ctx, run, person, answer, outcome)
    standup, group = await standup_and_group(run)
    if closed:
        post = await CardPost.filter(card__key=f"standup-digest:{run.id}").first()
        if post is not None and post.message_ref:
            outcome.send(
                ToConversation(Conversation(group.platform, group.conversation_id, thread=post.message_ref)),
                _late_note(person, answer),
            )
        if reply:
            outcome.reply(_("Thanks. The digest already went out, so your answer was added to it as late."), ephemeral=True)
        return outcome
    if not reply:
        return outcome
    return outcome.reply(
        _("Thanks, your stand-up for {day} is recorded. You can change it until {cutoff}.", day=day_label(run.day), cutoff=local_time(run.cutoff_at, standup.timezone, person.timezone)),
        ephemeral=True,
    )


_ANSWER_WRITE: tuple[str, ...] = ("status", "yesterday", "today", "blockers", "late", "answered_at", "edits", "updated_at")


def _late_note(person: Person, answer: StandupAnswer) -> Any:
    from bot.types import Text

    from .cards import has_blocker

    lines: list[Any] = [_("Late stand-up answer from {name} (added to the digest).", name=person.name)]
    if has_blocker(answer):
        lines.append(_("⚠ Blocker: {text}", text=answer.blockers))
    return Text(join(lines))


@router.form("standup.answer")
async def answer_form(ctx: Context) -> Outcome:
    person = actor_person(ctx)
    run = await StandupRun.get_or_none(id=int(ctx.event.value.get("run", 0)))
    if run is None or person.id not in [int(p) for p in run.participants or []]:
        raise NotFound(_("This stand-up is not yours or no longer exists."))
    form = {k: str(v) for k, v in ctx.event.form.items()}
    outcome = Outcome()
    for task, percent in await progress_updates(person, form):
        # the same progress report as "进度 XZB…-01 60%": audited, the subtask card updated, the group told
        outcome.merge(await report_progress(ctx, task.code, {"progress": f"{percent}%"}))
    await sql.write_queued_now()  # the prompt shown again reads these subtasks' progress
    return outcome.merge(await record_answer(ctx, run, person, form))


_PERCENT = re.compile(r"^\s*(\d{1,3})\s*[%％]?\s*$")


async def progress_updates(person: Person, form: dict[str, str]) -> list[tuple[Subtask, int]]:
    """The answer form's progress fields that changed: (open subtask, new percentage). A subtask that is no
    longer open (submitted or done since the prompt) is left alone."""
    wanted = {
        int(name[len(PROGRESS_FIELD) :]): value
        for name, value in form.items()
        if name.startswith(PROGRESS_FIELD) and name[len(PROGRESS_FIELD) :].isdigit() and value.strip()
    }
    if not wanted:
        return []
    tasks = {t.id: t for t in await open_subtasks(person.id)}
    changed = []
    for task_id, text in sorted(wanted.items()):
        task = tasks.get(task_id)
        if task is None or task.stage not in ("not_started", "in_progress"):
            continue
        match = _PERCENT.match(text)
        if match is None or int(match.group(1)) > 100:
            raise InvalidInput(
                _("The progress of {code} is a number from 0 to 100, not “{text}”.", code=task.code, text=text.strip()[:20]),
                field=f"{PROGRESS_FIELD}{task_id}",
            )
        if int(match.group(1)) != task.progress:
            changed.append((task, int(match.group(1))))
    return changed


async def answer_now(ctx: Context, values: dict[str, str], runs: list[StandupRun] | None = None) -> Outcome:
    """Record the answer for each of ``runs`` (by default the caller's ``current_runs``)."""
    person = actor_person(ctx)
    if runs is None:
        runs = await current_runs(person.id, ctx.now, ctx.group.id if ctx.group else None)
    if not runs:
        raise NotFound(_("You have no stand-up to answer right now."))
    if len(runs) == 1:
        return await record_answer(ctx, run=runs[0], person=person, values=values)
    outcome = Outcome()
    for run in runs:
        outcome.merge(await record_answer(ctx, run, person, values, reply=False))
    return outcome.reply(_("Thanks, your stand-up is recorded for {count} groups.", count=len(runs)), ephemeral=True)


@router.message()
async def free_text_answer(ctx: Context) -> Outcome | None:
    """``昨天: … 今天: … 障碍: …`` (or yesterday/today/blockers) from someone with a stand-up open now."""
    if ctx.actor is None:
        return None
    head, values = answer_fields(ctx.event.text)
    if not values or head.strip():
        return None
    runs = await current_runs(ctx.actor.id, ctx.now, ctx.group.id if ctx.group else None)
    if not runs:
        return None
    return await answer_now(ctx, values, runs)


@router.action("standup.raise_risk")
async def raise_risk(ctx: Context) -> Outcome:
    """A blocker from the digest → a risk report. Until the risk workflow (workflows/risks) is in, this
    records nothing and says so."""
    answer = await StandupAnswer.filter(id=int(ctx.event.value.get("answer", 0))).select_related("person").first()
    if answer is None:
        raise NotFound(_("This stand-up answer no longer exists."))
    try:
        from workflows.risks import from_blocker
    except ImportError:
        return Outcome().reply(
            _(
                "Risk reports are not available in this version yet, so nothing was recorded. Blocker of {name}: {text}",
                name=answer.person.name,
                text=answer.blockers,
            ),
            ephemeral=True,
        )
    return await from_blocker(ctx, answer)
