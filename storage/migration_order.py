"""Order a generated migration's ``CreateModel`` operations so every foreign key finds its table.

tortoise 1.1.9's autodetector emits ``CreateModel`` operations alphabetically;
when a model is created before the model its foreign key points to, the
SQLite schema editor silently leaves the column out. Every migration file
wraps its list in ``ordered(...)``: referenced tables come first, and a
foreign key that closes a cycle (person ↔ department) or points at its own
table becomes an ``AddField`` after the tables exist.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations.operations import AddField, CreateModel


def _target(field: Any) -> str | None:
    model_name = getattr(field, "model_name", None)
    if isinstance(model_name, str) and "." in model_name and hasattr(field, "source_field"):
        return model_name.split(".", 1)[1]
    return None


def _only_nullable_blockers(op: CreateModel, creates: dict[str, CreateModel], done: set[str]) -> bool:
    return all(
        getattr(field, "null", False)
        for _, field in op.fields
        if (t := _target(field)) is not None and t in creates and t not in done
    )


def ordered(operations: list[Any]) -> list[Any]:
    creates = {op.name: op for op in operations if isinstance(op, CreateModel)}
    if not creates:
        return operations
    rest = [op for op in operations if not isinstance(op, CreateModel)]
    deferred: list[AddField] = []
    done: set[str] = set()
    result: list[Any] = []
    pending = list(creates)
    while pending:
        ready = [
            name
            for name in pending
            if all(
                (t := _target(f)) is None or t not in creates or t in done or t == name
                for _, f in creates[name].fields
            )
        ]
        if not ready:  # a cycle: break it at a model whose unresolved foreign keys are all nullable
            ready = [next(name for name in pending if _only_nullable_blockers(creates[name], creates, done))]
        for name in ready:
            op = creates[name]
            kept = []
            for field_name, field in op.fields:
                target = _target(field)
                if target is not None and target in creates and (target == name or target not in done):
                    deferred.append(AddField(model_name=name, name=field_name, field=field))
                else:
                    kept.append((field_name, field))
            op.fields = kept
            result.append(op)
            done.add(name)
            pending.remove(name)
    return result + deferred + rest
