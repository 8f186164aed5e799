"""The directory from chat: who am I, my language, binding a group, and admin edits of departments and people."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from bot.errors import InvalidInput, NotAllowed
from bot.i18n import SUPPORTED_LOCALES, _, join, normalize_locale
from bot.router import Context, Router
from bot.types import Outcome, ToConversation
from storage import directory
from storage.models import Department, Group, GroupBinding, Identity, Person

from ..common import lookup
from ..common.fields import FieldSet, parse_fields
from ..common.format import account
from ..common.records import require_actor
from . import official_calendar
from .official_calendar import materialize as materialize  # the area's materializer source

router = Router()
router.include(official_calendar.router)

LANGUAGE_NAMES = {"zh_CN": _("Chinese (zh_CN)"), "en": _("English (en)")}


@router.command("whoami", "me", "我是谁", "我的信息")
async def whoami(ctx: Context) -> Outcome:
    actor = require_actor(ctx)
    await actor.fetch_related("department", "superior")
    identities = await Identity.filter(person_id=actor.id).values_list("platform", "platform_user_id")
    return Outcome().reply(
        join(
            [
                _("{name} (id {handle})", name=actor.name, handle=actor.handle),
                _("Department: {dept}", dept=actor.department.name if actor.department else "—"),
                _("Superior: {name}", name=actor.superior.name if actor.superior else "—"),
                _("Language: {locale}", locale=LANGUAGE_NAMES.get(actor.locale or ctx.locale, actor.locale or ctx.locale)),
                _("Accounts: {list}", list=join([account(p, u) for p, u in identities], ", ")),
            ]
        ),
        ephemeral=True,
    )


@router.command("lang", "language", "语言", "切换语言")
async def set_language(ctx: Context, args: str) -> Outcome:
    """``lang en`` sets your own language; ``lang group en`` / ``语言 本群 英文`` sets this group's."""
    actor = require_actor(ctx)
    words = args.split()
    for_group = bool(words) and words[0].lower() in ("group", "群", "本群", "群组")
    locale = normalize_locale(" ".join(words[1:] if for_group else words))
    if locale is None:
        raise InvalidInput(_("Choose a language: {list} (e.g. “lang en” or “语言 中文”; “lang group en” for this group).", list=join([LANGUAGE_NAMES[loc] for loc in SUPPORTED_LOCALES], ", ")))
    if for_group:
        if ctx.group is None:
            raise InvalidInput(_("Use “lang group …” in the group whose language should change."))
        await Group.filter(id=ctx.group.id).update(locale=locale)
        directory.written("group", ctx.group.id)
        ctx.locale = locale
        return Outcome().record("group.locale", ctx.group.conversation_id, locale=locale).reply(_("This group now gets my messages in English."))
    await Person.filter(id=actor.id).update(locale=locale)
    directory.written("person", actor.id)
    ctx.locale = locale
    return Outcome().record("person.locale", actor.handle, locale=locale).reply(_("From now on I answer you in English."), ephemeral=True)


@router.command("bind", "绑定", "绑定群")
async def bind_group(ctx: Context, args: str) -> Outcome:
    actor = require_actor(ctx)
    if ctx.group is None:
        raise InvalidInput(_("Use “bind” in the group chat that should follow the collaboration."))
    collab = await lookup.collaboration(ctx, args)
    if actor.id not in (collab.initiator_id, collab.tracker_id) and not actor.is_admin:
        raise NotAllowed(_("Only the initiator, the tracker or an admin can bind a group to {code}.", code=collab.code))
    try:
        async with ctx.services["engine"].savepoint():
            await GroupBinding.create(collaboration=collab, group=ctx.group, created_at=ctx.now)
    except IntegrityError as exc:
        raise InvalidInput(_("This group already follows {code}.", code=collab.code)) from exc
    outcome = Outcome().record("group.bound", collab.code, platform=ctx.group.platform, group=ctx.group.conversation_id).reply(
        _("This group now follows {code}: its cards and updates are posted here too.", code=collab.code)
    )
    # the cards still being decided, so a decision anywhere updates this copy too
    from ..changes.binding import open_cards

    for card in await open_cards(ctx, collab):
        outcome.send(ToConversation(ctx.conversation), card)  # type: ignore[arg-type]
    return outcome


ADMIN_FIELDS = FieldSet(
    {
        "head": ("head", "负责人", "部门负责人"),
        "superior": ("superior", "上级", "分管领导"),
        "department": ("department", "dept", "部门"),
        "name": ("name", "名称", "姓名"),
    }
)


def _require_admin(ctx: Context) -> None:
    actor = require_actor(ctx)
    if not actor.is_admin:
        raise NotAllowed(_("Only an admin can change the directory. Admins are set in the configuration file."))


@router.command("admin", "管理")
async def admin(ctx: Context, args: str) -> Outcome:
    """``admin dept <code> name: … head: @x superior: @y`` · ``admin person <id> name: … department: … superior: @y`` · ``admin head <dept> @x``"""
    word, _sep, rest = args.strip().partition(" ")
    if word.lower() in ("calendar", "日历", "节假日"):
        return await official_calendar.admin_calendar(ctx, rest)
    _require_admin(ctx)
    head, values = parse_fields(args, ADMIN_FIELDS)
    words = head.split()
    usage = _("Usage: “admin dept <code> name: 设计部 head: @name”, “admin person <id> name: 张三 department: design superior: @name”, “admin head <dept> @name”.")
    if len(words) < 2:
        raise InvalidInput(usage)
    kind, key = words[0].lower(), words[1]
    outcome = Outcome()
    if kind in ("dept", "department", "部门"):
        dept = await Department.filter(code=key).first()
        if dept is None:
            if not values.get("name"):
                raise InvalidInput(_("A new department needs a name: “admin dept {code} name: …”.", code=key), field="name")
            dept = await Department.create(code=key, name=values["name"])
        elif values.get("name"):
            dept.name = values["name"]
        if values.get("head"):
            dept.head_id = (await lookup.person(ctx, values["head"], field="head")).id
        if values.get("superior"):
            dept.superior_id = (await lookup.person(ctx, values["superior"], field="superior")).id
        await dept.save()
        return outcome.record("directory.department", dept.code, name=dept.name, head=dept.head_id, superior=dept.superior_id).reply(
            _("Department {name} ({code}) saved.", name=dept.name, code=dept.code)
        )
    if kind in ("person", "人员", "用户"):
        person = await Person.filter(handle=key).first()
        if person is None:
            if not values.get("name"):
                raise InvalidInput(_("A new person needs a name: “admin person {id} name: …”.", id=key), field="name")
            person = await Person.create(handle=key, name=values["name"], created_at=ctx.now)
        elif values.get("name"):
            person.name = values["name"]
        if values.get("department"):
            person.department_id = (await lookup.department(values["department"], field="department")).id
        if values.get("superior"):
            person.superior_id = (await lookup.person(ctx, values["superior"], field="superior")).id
        await person.save()
        return outcome.record("directory.person", person.handle, name=person.name, department=person.department_id).reply(
            _("Person {name} ({id}) saved.", name=person.name, id=person.handle)
        )
    if kind in ("head", "负责人") and len(words) >= 3:
        dept = await lookup.department(key)
        person = await lookup.person(ctx, words[2])
        dept.head_id = person.id
        await dept.save(update_fields=["head_id"])
        return outcome.record("directory.head", dept.code, head=person.handle).reply(
            _("{name} is now the head of {dept}.", name=person.name, dept=dept.name)
        )
    raise InvalidInput(usage)
