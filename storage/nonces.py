"""Nonces used once across every process of the bot (replay protection of signed callbacks).

One process's memory cannot refuse a callback replayed to another process behind the
same load balancer; the database can. A nonce is claimed with one atomic upsert: the
insert succeeds for a new nonce, the update succeeds only when the old use has expired,
and a live one makes the statement return nothing — a replay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import db
from storage.models_security import SeenNonce

# Identical on SQLite (>= 3.35) and PostgreSQL, but for the placeholders.
_CLAIM = (
    'INSERT INTO "seen_nonce" ("scope", "nonce", "expires_at") VALUES ({0}, {1}, {2}) '
    'ON CONFLICT ("scope", "nonce") DO UPDATE SET "expires_at" = excluded."expires_at" '
    'WHERE "seen_nonce"."expires_at" <= {3} RETURNING "id"'
)
_SWEEP_EVERY = timedelta(minutes=1)


class SharedNonces:
    """The nonces of one callback endpoint (``scope``), kept ``keep_seconds`` after their use."""

    def __init__(self, scope: str, keep_seconds: float):
        self.scope = scope[:64]
        self.keep = timedelta(seconds=keep_seconds)
        self._swept: datetime | None = None

    async def claim(self, nonce: str, now_epoch: float) -> bool:
        """True the first time ``nonce`` is used within the window; False for a replay."""
        now = datetime.fromtimestamp(now_epoch, UTC)
        connection = db.connection()
        marks = ("$1", "$2", "$3", "$4") if connection.capabilities.dialect == "postgres" else ("?",) * 4
        params = [self.scope, nonce[:128], now + self.keep, now]  # SQLite stores datetimes as ISO text, compared alike
        sql = _CLAIM.format(*marks)
        rows = await connection.execute_query_dict(sql, params)
        await self._sweep(now)
        return bool(rows)

    async def _sweep(self, now: datetime) -> None:
        """Forget expired nonces now and then, so the table stays as small as the window."""
        if self._swept is not None and now - self._swept < _SWEEP_EVERY:
            return
        self._swept = now
        await SeenNonce.filter(expires_at__lt=now).delete()
