"""Tables of the clocks: who owns the clock, how far recurring occurrences were materialized, stand-ups,
weekly reports and deadline alerts.

The due rows themselves are ``storage.models.Timer`` rows (unique ``key``), written by the materializer
(``bot.scheduler.Materializer``) and fired by ``bot.scheduler.TimerRunner``.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class ClockLease(Model):
    """Which process owns a named clock until when (SQLite runs one clock owner at a time)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "clock_lease"


class ClockWatermark(Model):
    """Up to when a materializer source has written its occurrences as timer rows."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    until = fields.DatetimeField()

    class Meta:
        table = "clock_watermark"


class Standup(Model):
    """A group's daily stand-up: when, where, who (an empty participant list means the active owners)."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Group", related_name="standups", on_delete=fields.CASCADE
    )
    time = fields.CharField(max_length=5, default="09:30")  # local HH:MM
    remind = fields.CharField(max_length=5, null=True)  # local HH:MM, None = 30 minutes before the cut-off
    cutoff = fields.CharField(max_length=5, default="11:00")  # local HH:MM, the digest goes out then
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    days: Any = fields.JSONField(default=list)  # ISO weekdays 1..7, empty = every working day
    calendar = fields.CharField(max_length=8, null=True)  # public-holiday country, None = the organisation's
    participants: Any = fields.JSONField(default=list)  # person ids
    mode = fields.CharField(max_length=8, default="dm")  # dm / group
    active = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    group_id: int

    class Meta:
        table = "standup"
        unique_together = (("group",),)


class StandupRun(Model):
    """One stand-up on one local working day: who was asked, when the digest went out."""

    id = fields.IntField(primary_key=True)
    standup: fields.ForeignKeyRelation[Standup] = fields.ForeignKeyField(
        "models.Standup", related_name="runs", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    participants: Any = fields.JSONField(default=list)  # person ids asked
    absent: Any = fields.JSONField(default=dict)  # person id -> skip / leave, known at prompt time
    prompted_at = fields.DatetimeField()
    cutoff_at = fields.DatetimeField()
    late_by = fields.IntField(default=0)  # seconds the prompt went out late (the bot was down)
    state = fields.CharField(max_length=8, default="open")  # open / closed
    closed_at = fields.DatetimeField(null=True)

    standup_id: int

    class Meta:
        table = "standup_run"
        unique_together = (("standup", "day"),)


class StandupAnswer(Model):
    """One participant's answer for one run: yesterday / today / blockers, or a skip / leave."""

    id = fields.IntField(primary_key=True)
    run: fields.ForeignKeyRelation[StandupRun] = fields.ForeignKeyField(
        "models.StandupRun", related_name="answers", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="standup_answers", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=8, default="answered")  # answered / skipped / leave
    yesterday = fields.TextField(default="")
    today = fields.TextField(default="")
    blockers = fields.TextField(default="")
    late = fields.BooleanField(default=False)  # first answered after the cut-off
    edits = fields.IntField(default=0)
    answered_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    run_id: int
    person_id: int

    class Meta:
        table = "standup_answer"
        unique_together = (("run", "person"),)


class StandupAbsence(Model):
    """A person out of the stand-ups from ``start`` to ``end`` (inclusive): a skipped day or leave."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="standup_absences", on_delete=fields.CASCADE
    )
    start = fields.DateField()
    end = fields.DateField()
    kind = fields.CharField(max_length=8, default="leave")  # skip / leave
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()

    person_id: int

    class Meta:
        table = "standup_absence"
        indexes = (("person_id",),)


class ReportSchedule(Model):
    """When a group's weekly report (周进度表) is asked for and compiled."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Group", related_name="report_schedules", on_delete=fields.CASCADE
    )
    weekday = fields.IntField(default=5)  # ISO weekday of the ask
    time = fields.CharField(max_length=5, default="17:00")
    compile_after = fields.IntField(default=60)  # minutes between the ask and the report
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    group_id: int

    class Meta:
        table = "report_schedule"
        unique_together = (("group",),)


class WeeklyAnswer(Model):
    """An owner's weekly answer for one collaboration: completion rate, risks, support needed."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="weekly_answers", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="weekly_answers", on_delete=fields.CASCADE
    )
    week = fields.CharField(max_length=10)  # ISO week, 2026-W09
    completion = fields.IntField(null=True)
    risks = fields.TextField(default="")
    support = fields.TextField(default="")
    answered_at = fields.DatetimeField()

    collaboration_id: int
    person_id: int

    class Meta:
        table = "weekly_answer"
        unique_together = (("collaboration", "person", "week"),)


class WeeklyReport(Model):
    """A compiled weekly report, one per collaboration and week."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="weekly_reports", on_delete=fields.CASCADE
    )
    week = fields.CharField(max_length=10)
    asked_at = fields.DatetimeField(null=True)
    asked: Any = fields.JSONField(default=list)  # person ids asked
    posted_at = fields.DatetimeField(null=True)
    summary: Any = fields.JSONField(default=dict)

    collaboration_id: int

    class Meta:
        table = "weekly_report"
        unique_together = (("collaboration", "week"),)


class AlertLog(Model):
    """An alert sent to one recipient: the rate limit reads it (``key`` names alert, recipient and slot)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    subject = fields.CharField(max_length=64)  # subtask code
    level = fields.CharField(max_length=16)  # yellow / red / ask
    recipient = fields.CharField(max_length=64)  # person:<id> / collaboration:<id>
    sent_at = fields.DatetimeField()

    class Meta:
        table = "alert_log"
        indexes = (("subject", "recipient"),)


class DeadlineCheck(Model):
    """The working-day-before question to an owner: on track, or will be late (reason, new date)."""

    id = fields.IntField(primary_key=True)
    subtask: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Subtask", related_name="deadline_checks", on_delete=fields.CASCADE
    )
    deadline = fields.DateField()
    asked_at = fields.DatetimeField()
    answer = fields.CharField(max_length=8, null=True)  # on_track / late
    reason = fields.TextField(default="")
    new_date = fields.DateField(null=True)
    answered_at = fields.DatetimeField(null=True)

    subtask_id: int

    class Meta:
        table = "deadline_check"
        unique_together = (("subtask", "deadline"),)
