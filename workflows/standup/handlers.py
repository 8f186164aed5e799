"""§3 Daily stand-up (每日站会): ``standup`` / ``站会`` configures it per group; the clock prompts every
participant on each local working day, reminds those who have not answered, and posts one digest at the
cut-off. Answers come as a card form or as free text (``昨天: … 今天: … 障碍: …``).
"""

from __future__ import annotations

from bot.router import Router

from . import answers, away, command, rounds, setup, stats
from .rounds import materialize

router = Router()
for _module in (command, setup, away, rounds, answers, stats):
    router.include(_module.router)

__all__ = ["materialize", "router"]
