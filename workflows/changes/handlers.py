"""§4 Change requests (《变更申请》): reason, new goal, impact, and new dates / owners / delivery standards for
named subtasks. Every collaborating department head confirms (会签); one rejection with a reason stops it;
when all confirmed the bot applies every change itself, in the event's one transaction, tells the affected
owners, and a changed delivery standard sends that subtask back to work (its acceptance starts over).

Each sub-flow has its own module and router: commands.py (the command, its form, the list), decisions.py
(confirm, reject, withdraw, resubmit), clocks.py (reminder, escalation); create.py and apply.py hold the
steps they share."""

from __future__ import annotations

from bot.router import Router

from . import clocks, commands, decisions

router = Router()
router.include(commands.router)
router.include(decisions.router)
router.include(clocks.router)
