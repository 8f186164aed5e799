"""Every table collabbot keeps. Migrations in ``storage/migrations`` are generated from these.

Model docstrings become SQL table comments: keep semicolons out of them (the SQLite
schema editor splits statements on them).

State lives on the row (``state`` columns); the state machines that drive it
live in ``workflows/*/states.py``. ``version`` columns make concurrent writers
compare-and-set instead of overwriting each other.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Person(Model):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=64, unique=True)  # a stable short name: config id or derived
    name = fields.CharField(max_length=128)
    email = fields.CharField(max_length=255, null=True)
    locale = fields.CharField(max_length=16, null=True)  # None: follow the group / default
    timezone = fields.CharField(max_length=64, null=True)
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    superior: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="reports", null=True, on_delete=fields.SET_NULL
    )
    is_admin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    department_id: int | None
    superior_id: int | None

    class Meta:
        table = "person"
        indexes = (("department_id",),)


class Identity(Model):
    """One person's account on one platform."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="identities", on_delete=fields.CASCADE
    )
    platform = fields.CharField(max_length=32)
    platform_user_id = fields.CharField(max_length=128)
    display_name = fields.CharField(max_length=128, null=True)
    dm_conversation = fields.CharField(max_length=128, null=True)
    last_seen_at = fields.DatetimeField(null=True)

    person_id: int

    class Meta:
        table = "identity"
        unique_together = (("platform", "platform_user_id"),)
        indexes = (("person_id",),)


class Department(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=128)
    head: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="heads_of", null=True, on_delete=fields.SET_NULL
    )
    superior: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="oversees", null=True, on_delete=fields.SET_NULL
    )

    head_id: int | None
    superior_id: int | None

    class Meta:
        table = "department"


class Group(Model):
    """A chat group/channel the bot is in, on one platform."""

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    conversation_id = fields.CharField(max_length=128)
    name = fields.CharField(max_length=255, null=True)
    locale = fields.CharField(max_length=16, null=True)
    timezone = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "chat_group"
        unique_together = (("platform", "conversation_id"),)


class Collaboration(Model):
    """A cross-department collaboration request (《协作需求确认表》) and everything hung on it."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    title = fields.CharField(max_length=255)
    background = fields.TextField(default="")
    goal = fields.TextField(default="")
    scope_in = fields.TextField(default="")
    scope_out = fields.TextField(default="")
    priority = fields.CharField(max_length=8, default="medium")
    raised_on = fields.DateField()
    start_date = fields.DateField(null=True)
    deadline = fields.DateField()
    deliverables = fields.TextField(default="")
    remarks = fields.TextField(default="")
    initiator: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="initiated", on_delete=fields.RESTRICT
    )
    reviewer: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="reviews", null=True, on_delete=fields.SET_NULL
    )
    decision_maker: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="decides", null=True, on_delete=fields.SET_NULL
    )
    tracker: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="tracks", null=True, on_delete=fields.SET_NULL
    )
    state = fields.CharField(max_length=16, default="pending")
    round = fields.IntField(default=1)  # bumped on every re-scope / re-route
    subtask_seq = fields.IntField(default=0)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    archived_at = fields.DatetimeField(null=True)

    initiator_id: int
    reviewer_id: int | None
    decision_maker_id: int | None
    tracker_id: int | None

    class Meta:
        table = "collaboration"
        indexes = (("state",),)


class GroupBinding(Model):
    """A collaboration shown in a group. One collaboration may be bound to groups on several platforms."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Collaboration] = fields.ForeignKeyField(
        "models.Collaboration", related_name="bindings", on_delete=fields.CASCADE
    )
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "models.Group", related_name="bindings", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    collaboration_id: int
    group_id: int

    class Meta:
        table = "group_binding"
        unique_together = (("collaboration", "group"),)
        indexes = (("group_id",),)


class RequestedDepartment(Model):
    """One requested department's answer to a collaboration request, per round."""

    id = fields.IntField(primary_key=True)
    collaboration: fields.ForeignKeyRelation[Collaboration] = fields.ForeignKeyField(
        "models.Collaboration", related_name="departments", on_delete=fields.CASCADE
    )
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="requests", on_delete=fields.RESTRICT
    )
    state = fields.CharField(max_length=16, default="pending")  # pending / accepted / declined / withdrawn
    round = fields.IntField(default=1)
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="department_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")
    counter_date = fields.DateField(null=True)
    version = fields.IntField(default=1)

    collaboration_id: int
    department_id: int
    decided_by_id: int | None

    class Meta:
        table = "requested_department"
        unique_together = (("collaboration", "department"),)
        indexes = (("department_id",),)


class Subtask(Model):
    """A subtask with the five elements (五要素) plus stage, progress, priority and dependencies."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    collaboration: fields.ForeignKeyRelation[Collaboration] = fields.ForeignKeyField(
        "models.Collaboration", related_name="subtasks", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=255)
    owner: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="owned_subtasks", on_delete=fields.RESTRICT
    )
    collaborators: Any = fields.JSONField(default=list)  # person ids
    resources = fields.TextField(default="")
    delivery_standard = fields.TextField()
    start_date = fields.DateField(null=True)
    deadline = fields.DateField()
    stage = fields.CharField(max_length=16, default="not_started")
    progress = fields.IntField(default=0)
    priority = fields.CharField(max_length=8, default="medium")
    depends_on: Any = fields.JSONField(default=list)  # subtask codes
    reviewer: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="reviewed_subtasks", null=True, on_delete=fields.SET_NULL
    )
    acknowledged_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    collaboration_id: int
    owner_id: int
    reviewer_id: int | None

    class Meta:
        table = "subtask"
        indexes = (("collaboration_id",), ("owner_id",))


class ProgressUpdate(Model):
    """One row of 《任务执行进度跟踪表》."""

    id = fields.IntField(primary_key=True)
    subtask: fields.ForeignKeyRelation[Subtask] = fields.ForeignKeyField(
        "models.Subtask", related_name="updates", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="progress_updates", on_delete=fields.RESTRICT
    )
    stage = fields.CharField(max_length=16)
    progress = fields.IntField()
    done = fields.TextField(default="")
    problems = fields.TextField(default="")
    support = fields.TextField(default="")
    next_step = fields.TextField(default="")
    created_at = fields.DatetimeField()

    subtask_id: int
    author_id: int

    class Meta:
        table = "progress_update"
        indexes = (("subtask_id",),)


class AcceptanceRequest(Model):
    """One submission for acceptance (《验收申请》) and its verdict."""

    id = fields.IntField(primary_key=True)
    subtask: fields.ForeignKeyRelation[Subtask] = fields.ForeignKeyField(
        "models.Subtask", related_name="acceptances", on_delete=fields.CASCADE
    )
    attempt = fields.IntField()
    deliverables: Any = fields.JSONField(default=list)  # [{"name", "link", "version"}]
    statement = fields.TextField(default="")
    self_check = fields.TextField(default="")
    # the delivery standard item by item, as it stood at this submission: [{"item", "self_check", "result"}]
    checklist: Any = fields.JSONField(default=list)
    submitted_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="acceptance_submissions", on_delete=fields.RESTRICT
    )
    submitted_at = fields.DatetimeField()
    state = fields.CharField(max_length=16, default="pending")  # pending / passed / failed / withdrawn
    reviewer: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="acceptance_verdicts", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    comments = fields.TextField(default="")
    version = fields.IntField(default=1)

    subtask_id: int
    submitted_by_id: int
    reviewer_id: int | None

    class Meta:
        table = "acceptance_request"
        unique_together = (("subtask", "attempt"),)
        indexes = (("state",),)  # the few pending among every submission (a reviewer's list)


class Confirmation(Model):
    """Who must confirm a decision, and whether and when they did (关键决策必确认)."""

    id = fields.IntField(primary_key=True)
    subject = fields.CharField(max_length=64)  # a collaboration / subtask code
    purpose = fields.CharField(max_length=64)  # e.g. "request.accept:ops", "acceptance:2"
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="confirmations", on_delete=fields.RESTRICT
    )
    state = fields.CharField(max_length=16, default="pending")  # pending / confirmed / rejected / void
    decided_at = fields.DatetimeField(null=True)
    platform = fields.CharField(max_length=32, null=True)
    platform_user_id = fields.CharField(max_length=128, null=True)
    comment = fields.TextField(default="")
    created_at = fields.DatetimeField()

    person_id: int

    class Meta:
        table = "confirmation"
        unique_together = (("subject", "purpose", "person"),)
        indexes = (("person_id", "state"),)


class AppendOnlyError(RuntimeError):
    pass


class AuditEntry(Model):
    """An append-only record of a decision: who (person and platform id), what, when, from which delivery."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    platform = fields.CharField(max_length=32)
    platform_user_id = fields.CharField(max_length=128, null=True)
    action = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=64)
    detail: Any = fields.JSONField(default=dict)
    delivery_id = fields.CharField(max_length=255, null=True)

    actor_id: int | None

    class Meta:
        table = "audit_entry"
        indexes = (("subject",),)

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._saved_in_db:
            await super().save(*args, **kwargs)
            return
        raise AppendOnlyError("audit entries are append-only")

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise AppendOnlyError("audit entries are append-only")


class InboxEntry(Model):
    """A delivery id already handled: the platform may redeliver, we act once."""

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    delivery_id = fields.CharField(max_length=255)
    received_at = fields.DatetimeField()

    class Meta:
        table = "inbox"
        unique_together = (("platform", "delivery_id"),)


class CardRecord(Model):
    """The current content of a keyed card. Every posted copy is brought up to ``version``."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    content: Any = fields.JSONField()
    version = fields.IntField(default=1)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "card"


class CardPost(Model):
    """One copy of a card in one conversation."""

    id = fields.IntField(primary_key=True)
    card: fields.ForeignKeyRelation[CardRecord] = fields.ForeignKeyField(
        "models.CardRecord", related_name="posts", on_delete=fields.CASCADE
    )
    platform = fields.CharField(max_length=32)
    conversation_id = fields.CharField(max_length=128)
    recipient = fields.CharField(max_length=128, null=True)  # platform user id for a DM
    locale = fields.CharField(max_length=16)
    message_ref = fields.CharField(max_length=255, null=True)  # ts / outTrackId / task_id
    sent_version = fields.IntField(default=0)

    card_id: int

    class Meta:
        table = "card_post"
        unique_together = (("card", "platform", "conversation_id"),)
        indexes = (("message_ref",),)


class OutboxMessage(Model):
    """A message to send or a card copy to update. Sent once: ``dedupe_key`` is unique."""

    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=191, unique=True)
    platform = fields.CharField(max_length=32)  # its lookups lead the (platform, message_ref) index below
    conversation_id = fields.CharField(max_length=128)
    is_direct = fields.BooleanField(default=False)
    recipient = fields.CharField(max_length=128, null=True)
    thread = fields.CharField(max_length=128, null=True)
    kind = fields.CharField(max_length=8)  # text / post / edit
    payload: Any = fields.JSONField()
    locale = fields.CharField(max_length=16)
    reply_to: Any = fields.JSONField(null=True)
    post: fields.ForeignKeyNullableRelation[CardPost] = fields.ForeignKeyField(
        "models.CardPost", related_name="outbox", null=True, on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=8, default="pending")  # pending/sending/sent/dead (indexed with next_attempt_at)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    last_error = fields.TextField(null=True)
    message_ref = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    post_id: int | None

    class Meta:
        table = "outbox"
        # due rows by time; a conversation's unfinished rows (its head); a card copy's pending edits; the card a
        # clicked message holds (a Slack form button, within the 3 s of its trigger)
        indexes = (
            ("status", "next_attempt_at"), ("conversation_id", "status"), ("post_id", "status"), ("platform", "message_ref"),
        )  # fmt: skip


class Timer(Model):
    """A durable due event: an SLA reminder, an escalation, a stand-up prompt."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    kind = fields.CharField(max_length=64)
    due_at = fields.DatetimeField(db_index=True)
    payload: Any = fields.JSONField(default=dict)
    status = fields.CharField(max_length=10, default="pending", db_index=True)  # pending/firing/fired/cancelled/missed
    lease_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    fired_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "timer"


class Sequence(Model):
    """Named counters for document ids (``XZB20261121`` → 01, 02, …)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    value = fields.IntField(default=0)

    class Meta:
        table = "sequence"


class SimulatorMessage(Model):
    """The local simulator's chat log (the simulator is a platform, and this is its server-side store)."""

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=32, default="simulator")
    conversation_id = fields.CharField(max_length=128, db_index=True)
    sender = fields.CharField(max_length=128)  # a person handle, or "bot"
    recipient = fields.CharField(max_length=128, null=True)  # ephemeral: only this person sees it
    content: Any = fields.JSONField()  # {"type": "text", "body"} or a localized card
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sim_message"
