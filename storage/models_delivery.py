"""Tables of the outbox worker: the platforms' rate budgets, shared by every process.

A ``RateBucket`` row holds one limit's state (a sliding window's recent send times, or a token
bucket's theoretical arrival time, and a hold a throttle answer put on it). Workers change it by
compare-and-set on ``version``: no lock is held while a message is on the wire (see docs/delivery.md).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class RateBucket(Model):
    """One platform limit (a group, a member, an API) and what has been spent of it."""

    key = fields.CharField(max_length=191, primary_key=True)
    state: Any = fields.JSONField(default=dict)
    version = fields.IntField(default=0)

    class Meta:
        table = "rate_bucket"
