"""Replay protection shared by every process: the callback nonces already used, until they expire."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SeenNonce(Model):
    """A callback nonce used once within its freshness window (WeCom promises no repeat within two hours)."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=64)  # whose nonces: "wecom:robot", "wecom:app"
    nonce = fields.CharField(max_length=128)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "seen_nonce"
        unique_together = (("scope", "nonce"),)
