"""Finding what a user named: a collaboration or subtask by id, a person, a department."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import Msg, _, join
from bot.router import Context
from storage import directory
from storage.models import Collaboration, Department, Group, GroupBinding, Person, Subtask

from .joined import Joins, joined
from .records import require_actor, require_open

CODE = re.compile(r"\b([A-Za-z]{1,8}\d{10,12})(?:-(\d{2,3}))?\b")


def local_today(ctx: Context) -> date:
    """"Today" by the time rule (README, "Language and time"): the organisation's date, wherever the writer
    is — ids, "明天" / "下周五" / "next Friday", and the dates on records all count from it."""
    return local_now(ctx).date()


def local_now(ctx: Context) -> datetime:
    """Now on the organisation's clock (``bot.timezone``)."""
    return ctx.now.astimezone(ZoneInfo(ctx.config.bot.timezone))


def find_code(text: str) -> tuple[str, str | None] | None:
    """The first collaboration id (and subtask suffix) in ``text``: ``("XZB2026112301", "01")``."""
    match = CODE.search(text or "")
    if not match:
        return None
    return match.group(1).upper(), match.group(2)


async def default_collaboration(ctx: Context) -> Collaboration | None:
    """The collaboration this group is bound to (the latest binding), if any."""
    if ctx.group is None:
        return None
    binding = await GroupBinding.filter(group_id=ctx.group.id).order_by("-id").select_related("collaboration").first()
    return binding.collaboration if binding else None


_COLLABORATION_JOINS: Joins = (("initiator", Person, "initiator", False),)
_SUBTASK_JOINS: Joins = (
    ("collaboration", Collaboration, "collaboration", False),
    ("owner", Person, "owner", False),
    ("reviewer", Person, "reviewer", True),
)


async def collaboration(ctx: Context, text: str, *, lock: bool = False) -> Collaboration:
    found = find_code(text)
    if found is None:
        bound = await default_collaboration(ctx)
        if bound is None:
            raise InvalidInput(
                _("Which collaboration? Add its id, e.g. “XZB2026112301”, or use the command in the collaboration's group.")
            )
        code = bound.code
    else:
        code = found[0]
    # with its initiator: every card of a collaboration names them
    found_rows = await joined(Collaboration, _COLLABORATION_JOINS, {"code": code}, first=True, lock=lock)
    record = found_rows[0] if found_rows else None
    if record is None:
        raise NotFound(_("There is no collaboration {code}. Send “list” to see the open ones.", code=code))
    return record


async def subtask(ctx: Context, text: str, *, lock: bool = False) -> Subtask:
    found = find_code(text)
    if found is None or found[1] is None:
        raise InvalidInput(_("Which subtask? Add its id, e.g. “XZB2026112301-01”."))
    code = f"{found[0]}-{found[1]}"
    # with what every handler of a subtask reads next: its collaboration, owner and reviewer (one join, not three selects)
    found_rows = await joined(Subtask, _SUBTASK_JOINS, {"code": code}, first=True, lock=lock)
    record = found_rows[0] if found_rows else None
    if record is None:
        raise NotFound(_("There is no subtask {code}. Send “show {parent}” to see its subtasks.", code=code, parent=found[0]))
    return record


async def owned_subtask(ctx: Context, text: str, what: Msg) -> tuple[Subtask, Collaboration]:
    """The subtask named in ``text`` (locked) of an open collaboration, when the actor owns it; else why not."""
    task = await subtask(ctx, text, lock=True)
    collab: Collaboration = task.collaboration  # loaded by subtask()
    require_open(collab)
    if require_actor(ctx).id != task.owner_id:
        owner: Person = task.owner
        raise NotAllowed(_("Only {owner}, the owner of {code}, can {what}.", owner=owner.name, code=task.code, what=what))
    return task, collab


_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


async def person(ctx: Context, text: str, *, field: str | None = None) -> Person:
    """A person by directory id, name, ``@name`` or platform mention (``<@U123>``)."""
    raw = (text or "").strip()
    name = raw.lstrip("@＠").strip()
    if not name:
        raise InvalidInput(_("A person is missing. Name them by directory id or name, e.g. “@张三”."), field=field)
    if match := _MENTION.match(raw):
        identity = await directory.identity(ctx.event.platform, match.group(1))
        if identity and (mentioned := await directory.person(identity.person_id)):
            return mentioned
    found = await directory.person_named("handle", name) or await directory.person_named("name", name)
    if found is None:
        identity = await directory.identity(ctx.event.platform, name)
        found = await directory.person(identity.person_id) if identity else None
    if found is None:
        found = await Person.filter(name__iexact=name).first()
    if found is None:
        raise NotFound(
            _("I don't know anyone called “{name}”. Use their directory id or full name (an admin can add people with “admin person”).", name=name[:40]),
            field=field,
        )
    return found


async def department(text: str, *, field: str | None = None) -> Department:
    key = (text or "").strip()
    found = await directory.department_named(key)
    if found is None:
        known = join([d.name for d in sorted(await directory.departments(), key=lambda d: d.code)], ", ")
        raise NotFound(
            _("There is no department “{name}”. Known departments: {known}.", name=key[:40], known=known or "—"),
            field=field,
        )
    return found


async def group_of(ctx: Context) -> Group | None:
    return ctx.group
