"""State machines declared at class level; the state lives on the row.

    class SubtaskFlow(StateMachine):
        labels = {"not_started": _("not started"), ...}
        transitions = {"start": (("not_started",), "in_progress"), ...}

``await SubtaskFlow.fire(row, "start")`` checks the transition, then writes
it with compare-and-set on ``(state, version)``: two workers (or a double
click) cannot both make the same step; the loser gets a translated
``TransitionNotAllowed``. ``fire_at_end`` does the same with the event's last
statement (``storage.at_end``), for a handler that reads nothing of the row
back: the loser's whole event is refused there.
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
        current, values, where = cls._step(row, event, subject, updates)
        if not await sql.update_where(type(row), values, where):
            await cls._refuse_fresh(type(row), row.pk, event, subject)
        _apply(row, values)
        return current

    @classmethod
    async def fire_at_end(cls, row: Model, event: str, subject: str, **updates: Any) -> str:
        """``fire``, with the write sent with the event's last statement (``storage.at_end``): for a handler that
        reads nothing of this row from the database afterwards. When another event moved the row first, the
        event is refused at its end, as ``fire`` refuses it at once."""
        current, values, where = cls._step(row, event, subject, updates)
        model, pk = type(row), row.pk

        async def stale() -> None:
            await cls._refuse_fresh(model, pk, event, subject)

        await sql.update_at_end(model, values, where, stale)
        _apply(row, values)
        return current

    @classmethod
    def _step(cls, row: Model, event: str, subject: str, updates: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The compare-and-set of ``event`` on ``row``: its state now, the values to write and the row's values
        that must still hold (its key, state and version)."""
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
        return current, values, where

    @classmethod
    async def _refuse_fresh(cls, model: type[Model], pk: Any, event: str, subject: str) -> None:
        """Another event moved the row first: refuse, naming the state it is in now."""
        raise cls.refuse(await model.get(id=pk), event, subject)


def _apply(row: Model, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)
