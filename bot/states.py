"""State machines declared at class level; the state lives on the row.

    class SubtaskFlow(StateMachine):
        labels = {"not_started": _("not started"), ...}
        transitions = {"start": (("not_started",), "in_progress"), ...}

``await SubtaskFlow.fire(row, "start")`` checks the transition, then writes
it with compare-and-set on ``(state, version)``: two workers (or a double
click) cannot both make the same step; the loser gets a translated
``TransitionNotAllowed``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tortoise.models import Model

from bot.errors import TransitionNotAllowed
from bot.i18n import Msg, _
from storage import sql


class StateMachine:
    field: ClassVar[str] = "state"
    labels: ClassVar[dict[str, Msg]] = {}
    transitions: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {}
    final: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def label(cls, state: str) -> Msg | str:
        return cls.labels.get(state, state)

    @classmethod
    def can(cls, row: Model, event: str) -> bool:
        sources, _target = cls.transitions[event]
        return getattr(row, cls.field) in sources

    @classmethod
    def refuse(cls, row: Model, event: str, subject: str) -> TransitionNotAllowed:
        return TransitionNotAllowed(
            _("{subject} is {state}, so this cannot be done now.", subject=subject, state=cls.label(getattr(row, cls.field))),
            event=event,
        )

    @classmethod
    async def fire(cls, row: Model, event: str, subject: str, **updates: Any) -> str:
        """Move ``row`` along ``event``; returns the previous state. Also bumps ``row.version``."""
        sources, target = cls.transitions[event]
        current = getattr(row, cls.field)
        if current not in sources:
            raise cls.refuse(row, event, subject)
        version = getattr(row, "version", None)
        where: dict[str, Any] = {row._meta.pk_attr: row.pk, cls.field: current}
        values: dict[str, Any] = {cls.field: target, **updates}
        if version is not None:
            where["version"] = version
            values["version"] = version + 1
        if not await sql.update_where(type(row), values, where):
            fresh = await type(row).get(id=row.pk)
            raise cls.refuse(fresh, event, subject)
        for name, value in values.items():
            setattr(row, name, value)
        return current
