"""Tables of the later workflows: risks, issues, delay notices, change requests, meetings and minutes,
the improvement log, retrospectives, SOP templates and subtasks planned ahead of activation.

Every document carries a code under its collaboration (``XZB2026112301-R01`` a risk, ``-P01`` an issue,
``-D01`` a delay notice, ``-C01`` a change request, ``-M01`` a meeting, ``-I01`` an improvement), so the
collaboration's audit trail (``log``) lists them too. ``version`` columns make writers compare-and-set.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class RiskReport(Model):
    """A risk report (《风险说明》) and the initiator's response."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="risks", on_delete=fields.CASCADE
    )
    subtask: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Subtask", related_name="risks", null=True, on_delete=fields.SET_NULL
    )
    raised_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="risks_raised", on_delete=fields.RESTRICT
    )
    level = fields.CharField(max_length=8, default="medium")  # high / medium / low
    description = fields.TextField()
    impact = fields.TextField(default="")
    solution = fields.TextField(default="")
    source = fields.CharField(max_length=64, null=True, unique=True)  # progress:<id> / standup:<id>
    state = fields.CharField(max_length=16, default="open")  # open / escalated / responded
    due_at = fields.DatetimeField()
    escalated_to: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="risks_escalated", null=True, on_delete=fields.SET_NULL
    )
    escalated_at = fields.DatetimeField(null=True)
    response_kind = fields.CharField(max_length=16, default="")  # coordinate / move / reassign / comment
    response = fields.TextField(default="")
    response_detail: Any = fields.JSONField(default=dict)
    responded_by: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="risks_answered", null=True, on_delete=fields.SET_NULL
    )
    responded_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    collaboration_id: int
    subtask_id: int | None
    raised_by_id: int
    escalated_to_id: int | None
    responded_by_id: int | None

    class Meta:
        table = "risk_report"
        indexes = (("collaboration_id",),)


class Issue(Model):
    """An issue on a tier (分级响应): general, severe or a cross-department dispute, with its ladder."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="issues", on_delete=fields.CASCADE
    )
    subtask: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Subtask", related_name="issues", null=True, on_delete=fields.SET_NULL
    )
    raised_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="issues_raised", on_delete=fields.RESTRICT
    )
    tier = fields.CharField(max_length=16)  # general / severe / dispute
    description = fields.TextField()
    state = fields.CharField(max_length=16, default="open")  # open / resolved
    step = fields.IntField(default=0)  # the rung of the ladder the issue is on
    handler: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="issues_handled", on_delete=fields.RESTRICT
    )
    ladder: Any = fields.JSONField(default=list)  # person ids the issue went to, in order
    due_at = fields.DatetimeField(null=True)
    resolution = fields.TextField(default="")
    resolved_by: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="issues_resolved", null=True, on_delete=fields.SET_NULL
    )
    resolved_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    collaboration_id: int
    subtask_id: int | None
    raised_by_id: int
    handler_id: int
    resolved_by_id: int | None

    class Meta:
        table = "issue"
        indexes = (("collaboration_id",),)


class DelayNotice(Model):
    """An owner's notice that a subtask will be late, effective once the initiator confirms it."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="delays", on_delete=fields.CASCADE
    )
    subtask: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Subtask", related_name="delays", on_delete=fields.CASCADE
    )
    requested_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="delays_requested", on_delete=fields.RESTRICT
    )
    reason = fields.TextField()
    old_deadline = fields.DateField()
    new_deadline = fields.DateField()
    late = fields.BooleanField(default=False)  # sent less than one working day before the deadline
    state = fields.CharField(max_length=16, default="pending")  # pending / confirmed / rejected / withdrawn
    decided_by: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="delays_decided", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    comment = fields.TextField(default="")
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    collaboration_id: int
    subtask_id: int
    requested_by_id: int
    decided_by_id: int | None

    class Meta:
        table = "delay_notice"
        indexes = (("collaboration_id",), ("subtask_id",))


class ChangeRequest(Model):
    """A change request (《变更申请》): reason, new goal, impact and the field-by-field changes to apply."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="changes", on_delete=fields.CASCADE
    )
    requested_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="changes_requested", on_delete=fields.RESTRICT
    )
    reason = fields.TextField()
    impact = fields.TextField(default="")
    goal_before = fields.TextField(default="")
    goal_after = fields.TextField(null=True)  # None: the goal stays
    deadline_before = fields.DateField()
    deadline_after = fields.DateField(null=True)  # None: the collaboration's deadline stays
    items: Any = fields.JSONField(default=list)  # [{"subtask", "title", "changes": {field: [before, after]}}]
    approvers: Any = fields.JSONField(default=list)  # [{"person": id, "departments": [codes]}]
    state = fields.CharField(max_length=16, default="pending")  # pending / applied / rejected / withdrawn
    decided_by: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="changes_decided", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    rejection = fields.TextField(default="")
    applied: Any = fields.JSONField(default=list)  # the diff actually applied
    resubmits: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.ChangeRequest", related_name="resubmissions", null=True, on_delete=fields.SET_NULL
    )
    resubmitted_as = fields.CharField(max_length=48, null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    collaboration_id: int
    requested_by_id: int
    decided_by_id: int | None
    resubmits_id: int | None

    class Meta:
        table = "change_request"
        indexes = (("collaboration_id",),)


class Meeting(Model):
    """A meeting notice (《沟通会议通知》) and what is known about attendance."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="meetings", on_delete=fields.CASCADE
    )
    organizer: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="meetings_organized", on_delete=fields.RESTRICT
    )
    recorder: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="meetings_recorded", on_delete=fields.RESTRICT
    )
    topic = fields.CharField(max_length=255)
    starts_at = fields.DatetimeField()
    form = fields.CharField(max_length=16, default="online")  # online / offline / phone
    location = fields.TextField(default="")
    attendees: Any = fields.JSONField(default=list)  # person ids
    agenda = fields.TextField(default="")
    prereading = fields.TextField(default="")
    urgent = fields.BooleanField(default=False)
    short_notice = fields.BooleanField(default=False)  # sent less than 3 working days ahead
    absences: Any = fields.JSONField(default=dict)  # person id -> reason, announced before the meeting
    minutes_due_at = fields.DatetimeField()
    state = fields.CharField(max_length=16, default="scheduled")  # scheduled / minuted / confirmed
    minutes_version = fields.IntField(default=0)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()

    collaboration_id: int
    organizer_id: int
    recorder_id: int

    class Meta:
        table = "meeting"
        indexes = (("collaboration_id",),)


class Minutes(Model):
    """Minutes (表3 跨部门会议纪要表), one row per version, confirmed by the attendees."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="minutes", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    attendees: Any = fields.JSONField(default=list)  # person ids present
    absentees: Any = fields.JSONField(default=list)  # [{"person": id or None, "name", "reason"}]
    agenda = fields.TextField(default="")
    conclusions = fields.TextField(default="")
    resolutions = fields.TextField(default="")
    followups = fields.TextField(default="")
    actions: Any = fields.JSONField(default=list)  # [{"content", "owner", "deadline", "output", "priority", "subtask"}]
    recorder: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="minutes_written", on_delete=fields.RESTRICT
    )
    state = fields.CharField(max_length=16, default="pending")  # pending / confirmed / disputed / superseded
    submitted_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    meeting_id: int
    recorder_id: int

    class Meta:
        table = "minutes"
        unique_together = (("meeting", "number"),)


class Improvement(Model):
    """One row of the improvement log (协作改进流程表)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=48, unique=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="improvements", on_delete=fields.CASCADE
    )
    problem = fields.TextField()
    category = fields.CharField(max_length=16)  # information / responsibility / process / resources
    root_cause = fields.TextField(default="")
    measure = fields.TextField()
    owner: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="improvements_owned", on_delete=fields.RESTRICT
    )
    deadline = fields.DateField()
    status = fields.CharField(max_length=16, default="not_started")  # not_started / in_progress / done
    created_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="improvements_logged", on_delete=fields.RESTRICT
    )
    done_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    collaboration_id: int
    owner_id: int
    created_by_id: int

    class Meta:
        table = "improvement"
        indexes = (("collaboration_id",),)


class Retrospective(Model):
    """A retrospective (《复盘报告》): the facts at the time and what the team concluded."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="retrospectives", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="retrospectives", on_delete=fields.RESTRICT
    )
    facts: Any = fields.JSONField(default=dict)
    went_well = fields.TextField(default="")
    to_improve = fields.TextField(default="")
    measures = fields.TextField(default="")
    sop_name = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    collaboration_id: int
    author_id: int

    class Meta:
        table = "retrospective"
        unique_together = (("collaboration",),)


class SopTemplate(Model):
    """A reusable collaboration SOP (协作SOP): departments, goal, measures and template subtasks."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    source = fields.CharField(max_length=32, default="")  # the collaboration it was saved from
    goal = fields.TextField(default="")
    scope = fields.TextField(default="")
    deliverables = fields.TextField(default="")
    departments: Any = fields.JSONField(default=list)  # department codes
    measures = fields.TextField(default="")
    subtasks: Any = fields.JSONField(default=list)  # [{"title", "standard", "owner", "priority", "resources", "days_before_deadline"}]
    created_by: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="sops", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    created_by_id: int

    class Meta:
        table = "sop_template"


class PlannedSubtask(Model):
    """A subtask decided before it can exist (an SOP step, a minutes action item), created on activation."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Collaboration", related_name="planned_subtasks", on_delete=fields.CASCADE
    )
    source = fields.CharField(max_length=96)  # sop:<name> / minutes:<meeting code>
    position = fields.IntField(default=0)
    title = fields.CharField(max_length=255)
    owner: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="planned_subtasks", on_delete=fields.RESTRICT
    )
    standard = fields.TextField()
    resources = fields.TextField(default="")
    priority = fields.CharField(max_length=8, default="medium")
    deadline = fields.DateField(null=True)
    days_before_deadline = fields.IntField(null=True)
    subtask_code = fields.CharField(max_length=40, null=True)
    created_at = fields.DatetimeField()

    collaboration_id: int
    owner_id: int

    class Meta:
        table = "planned_subtask"
        indexes = (("collaboration_id",),)
