"""@-mentions that notify on DingTalk, whichever way a message goes out.

- **Session webhook** (a reply in the conversation a message came from): DingTalk notifies the ids in
  ``at.atUserIds`` and shows them as mentions only where the text carries ``@<userId>`` (it renders that as
  ``@name``). Our texts say ``@name`` for readers; here each becomes ``@<userId>``.
- **Interactive cards**: ``imGroupOpenDeliverModel.atUserIds`` (``_create_card``) notifies.
- **Robot OpenAPI** (``groupMessages/send``, used once the webhook expired: reminders, alerts, digests) has
  no way to @ anyone: the group sees ``@name`` as text and nobody is notified. So the mentioned people also
  get the message one-to-one from the robot, which notifies them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.errors import PlatformError
from bot.i18n import _
from bot.platform import Mention

from . import render
from .openapi import OpenApi

log = logging.getLogger("collabbot.dingtalk")


def by_id(text: str, at: Iterable[str], mentions: Iterable[Mention], names: Mapping[str, str]) -> str:
    """``text`` with each ``@name`` of a person in ``at`` written ``@<userId>``; an id the text does not
    name yet is added at the end (DingTalk shows a mention only where the text carries the id)."""
    known = {**names, **{m.platform_user_id: m.name for m in mentions if m.platform_user_id}}
    missing = []
    for user_id in at:
        name = known.get(user_id)
        if f"@{user_id}" in text:
            continue
        if name and f"@{name}" in text:
            text = text.replace(f"@{name}", f"@{user_id}")
        else:
            missing.append(f"@{user_id}")
    return f"{text}\n\n{' '.join(missing)}" if missing else text


async def notify_directly(api: OpenApi, robot_code: str, at: list[str], title: str, text: str, locale: str) -> None:
    """After a group message through the robot OpenAPI (which cannot @ anyone): the same message to each
    mentioned person one-to-one. Best effort: the group message is sent, so a failure here is logged and
    does not make the outbox send the group message again."""
    lead = render.tr(_("You were mentioned in a group:"), locale)
    try:
        await api.send_people(robot_code, at, title, f"{lead}\n\n{text}")
    except PlatformError as exc:
        log.warning("dingtalk: the one-to-one copy for %d mentioned people failed: %s", len(at), exc)
