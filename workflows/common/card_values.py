"""What a clicked card says about itself, checked on the server.

A card's buttons carry the version of the record they decide on (a request's
``round``, an acceptance ``attempt``, the minutes' ``number``). A click whose
value lacks that field, or carries something that is not a whole number, may
come from an old card, a forged payload or a platform that dropped it: it is
treated as out of date, never as the current version. Typed commands name no
version and act on the current one; they do not come through here.
"""

from __future__ import annotations

from typing import Any

from bot.errors import TransitionNotAllowed
from bot.i18n import _


def clicked_version(value: dict[str, Any], name: str, code: str) -> int:
    """The whole number ``value[name]`` of a clicked card (or its form), or the out-of-date refusal."""
    raw = value.get(name) if isinstance(value, dict) else None
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, str) and raw.strip().isdecimal():  # isdigit() also accepts "²", which int() refuses
        raw = int(raw.strip())
    if not isinstance(raw, int) or raw < 1:
        raise TransitionNotAllowed(
            _("This card is out of date or damaged, so nothing was changed. Use the newest card for {code}, or type the command.", code=code or "—")
        )
    return raw
