"""Who sent an event: a Feishu ``open_id`` → a name and an e-mail, through the contact API.

Events name a sender only by ids. The directory finds a person by their ``feishu`` identity
first and by e-mail next, so the e-mail (scope ``contact:user.email:readonly``) lets people
configured by e-mail alone be recognised. Answers are kept for an hour in this process (a name
seldom changes; nothing depends on every process seeing the same one); a refused lookup (no
scope, a person outside the app's contact range) is not retried for that hour either, and the
event goes on with the ids alone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable

from bot.errors import PlatformError
from bot.types import Event

from .openapi import OpenApi

log = logging.getLogger("collabbot.feishu")

KEEP_SECONDS = 3600.0
MAX_PEOPLE = 10_000


class Names:
    def __init__(self, api: OpenApi, *, enabled: bool, now: Callable[[], float]):
        self.api = api
        self.enabled = enabled
        self.now = now
        self._known: OrderedDict[str, tuple[float, str | None, str | None]] = OrderedDict()

    async def lookup(self, open_id: str) -> tuple[str | None, str | None]:
        """``(name, email)`` of ``open_id``; ``(None, None)`` when they cannot be read."""
        kept = self._known.get(open_id)
        if kept is not None and self.now() - kept[0] < KEEP_SECONDS:
            return kept[1], kept[2]
        name = email = None
        try:
            user = await self.api.user(open_id)
            name = str(user.get("name") or "") or None
            email = str(user.get("enterprise_email") or user.get("email") or "") or None
        except PlatformError as exc:
            log.info("feishu: no contact details for %s (%s); going on with the id", open_id, exc)
        self._known[open_id] = (self.now(), name, email)
        self._known.move_to_end(open_id)
        while len(self._known) > MAX_PEOPLE:
            self._known.popitem(last=False)
        return name, email

    async def fill(self, event: Event) -> Event:
        if not self.enabled or not event.actor_id or (event.actor_name and event.actor_email):
            return event
        name, email = await self.lookup(event.actor_id)
        return dataclasses.replace(event, actor_name=event.actor_name or name, actor_email=event.actor_email or email)
