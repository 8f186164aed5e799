"""Hand-written statements inside a PostgreSQL transaction, sent to asyncpg without tortoise's client wrappers.

tortoise's asyncpg client wraps every statement in an exception translator, a lock context and a connection
check before asyncpg sees it: about 8 µs of the 50–60 µs of client CPU a round trip costs on the project's VM
(see bench/README.md), paid by nine statements an event. Inside the event's transaction the connection is
known and held, so ``storage.sql`` sends its statements here: under the transaction's own lock (a statement
sent by tortoise in the same transaction still waits for this one), asyncpg's errors raised as tortoise's,
and the statement logged as tortoise logs it. Outside a transaction statements go through tortoise as before.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError
from tortoise.log import db_client_logger


def transaction_client(client: Any) -> TransactionWrapper | None:
    """``client`` when it is a PostgreSQL transaction's (its connection is held until it ends), else None."""
    return client if type(client) is TransactionWrapper else None


async def fetch(client: TransactionWrapper, text: str, params: list[Any]) -> list[dict[str, Any]]:
    """The rows ``text`` (placeholders numbered, ``$1``…) returns, as dicts."""
    return [dict(record) for record in await _run(client, text, params, rows=True)]


async def execute(client: TransactionWrapper, text: str, params: list[Any]) -> int:
    """How many rows ``text`` changed: the count of the server's command tag (``UPDATE 3``, ``INSERT 0 2``)."""
    tag = await _run(client, text, params, rows=False)
    count = tag.rsplit(" ", 1)[-1] if isinstance(tag, str) else ""
    return int(count) if count.isdigit() else 0


async def _run(client: TransactionWrapper, text: str, params: list[Any], *, rows: bool) -> Any:
    if db_client_logger.isEnabledFor(logging.DEBUG):
        db_client_logger.debug("%s: %s", text, params)
    async with client._lock:
        connection = client._connection
        try:
            return await (connection.fetch(text, *params) if rows else connection.execute(text, *params))
        except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
            raise OperationalError(exc) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc
        except asyncpg.InvalidTransactionStateError as exc:
            raise TransactionManagementError(exc) from exc
