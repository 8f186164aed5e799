"""Who asked for the morning digest of their tasks (我的任务), and when."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class DigestSubscription(Model):
    """One person's morning digest: local time, timezone and whether it is on."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Person", related_name="digest_subscriptions", on_delete=fields.CASCADE, unique=True
    )
    time = fields.CharField(max_length=5, default="09:00")  # local HH:MM
    timezone = fields.CharField(max_length=64)
    active = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    person_id: int

    class Meta:
        table = "digest_subscription"
        indexes = (("person_id",),)
