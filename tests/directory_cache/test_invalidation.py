"""The directory cache is never stale: another process's change is seen by the next event, a local write at
once, a rolled-back write never, and what a handler does to a row it read stays in its own event."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import from_dict
from bot.engine import DispatchResult, Engine
from bot.errors import InvalidInput
from bot.i18n import _
from bot.router import Context, Router
from bot.types import Conversation, Event, EventKind, Outcome, Text, ToPerson
from storage import db, directory
from storage.directory_cache import DirectoryCache
from storage.event_rows import DirectoryState
from storage.models import Collaboration, Confirmation, Department, Group, Identity, OutboxMessage, Person
from tests.core.harness import demo_config
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
NEW = "新建协作\n标题：{title}\n目标：按时完成\n协作部门：设计部\n截止：2026-12-20"
LAUNCH = Conversation("simulator", "launch")


class Bot:
    """One bot process's engine (and so its own directory cache) on the shared database."""

    def __init__(self, url: str, router: Router | None = None, cache: DirectoryCache | None = None) -> None:
        config = from_dict(demo_config(url), environ={})
        self.engine = Engine(router or build_router(), config, ManualClock(NOW), directory_cache=cache)
        self.name = f"bot{id(self)}"
        self.count = 0

    @property
    def cache(self) -> DirectoryCache:
        return self.engine.directory_cache

    async def say(self, actor: str, text: str, conversation: Conversation = LAUNCH) -> DispatchResult:
        self.count += 1
        event = Event(EventKind.COMMAND, "simulator", f"{self.name}-{self.count}", conversation, actor_id=actor, actor_name=actor, text=text)
        return await self.engine.dispatch(event)

    async def click(self, actor: str, action: str, value: dict[str, Any]) -> DispatchResult:
        self.count += 1
        dm = Conversation("simulator", f"dm:{actor}", is_direct=True)
        event = Event(EventKind.ACTION, "simulator", f"{self.name}-{self.count}", dm, actor_id=actor, actor_name=actor, action=action, value=value)
        return await self.engine.dispatch(event)


async def in_other_process(url: str, actor: str, text: str) -> dict[str, Any]:
    """Dispatch one command in a separate OS process (its own engine and cache) and wait for it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.directory_cache.other_process", url, actor, text,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.fixture
async def org(database: str, clock: ManualClock) -> str:
    await sync_directory(from_dict(demo_config(database), environ={}), clock.now())
    return database


async def _head_asked(title: str) -> str:
    collab = await Collaboration.get(title=title)
    confirmation = await Confirmation.get(subject=collab.code)
    return (await Person.get(id=confirmation.person_id)).handle


async def test_a_head_changed_by_an_admin_in_another_process_is_asked_by_the_next_event(org: str) -> None:
    bot = Bot(org)
    await bot.say("lilei", NEW.format(title="海报"))
    assert await _head_asked("海报") == "liuyang"
    assert bot.cache.departments is not None  # 设计部 and its head now come from this process's cache

    report = await in_other_process(org, "zhaomin", "admin head design hanmei")
    assert not report["refused"] and not report["incident"], report

    await bot.say("lilei", NEW.format(title="展架"))
    assert await _head_asked("展架") == "hanmei"
    code = (await Collaboration.get(title="展架")).code
    value = {"code": code, "dept": "design", "round": 1}
    assert (await bot.click("liuyang", "request.accept", value)).error is not None  # the old head decides nothing
    accepted = await bot.click("hanmei", "request.accept", value)
    assert accepted.error is None and accepted.incident is None
    assert (await Collaboration.get(code=code)).state == "active"


async def test_a_language_changed_in_another_process_is_used_by_the_next_answer(org: str) -> None:
    bot = Bot(org)
    assert (await bot.say("anna", "帮助")).locale == "en"
    assert bot.cache.people.get((await Person.get(handle="anna")).id) is not None

    report = await in_other_process(org, "anna", "语言 中文")
    assert not report["refused"], report

    assert (await bot.say("anna", "帮助")).locale == "zh_CN"


async def test_two_engines_on_one_database_see_each_others_group_language(org: str) -> None:
    first, second = Bot(org), Bot(org)
    assert (await first.say("lilei", "帮助")).locale == "zh_CN"
    group_id = (await Group.get(conversation_id="launch")).id
    assert first.cache.groups.get(group_id) is not None

    assert (await second.say("lilei", "lang group en")).error is None

    assert (await first.say("lilei", "帮助")).locale == "en"
    assert (await second.say("lilei", "帮助")).locale == "en"


async def test_a_group_bound_in_another_process_gets_the_next_card_from_this_one(org: str) -> None:
    first, second = Bot(org), Bot(org)
    await first.say("lilei", NEW.format(title="灯箱"))
    collab = await Collaboration.get(title="灯箱")
    accepted = await first.click("liuyang", "request.accept", {"code": collab.code, "dept": "design", "round": 1})
    assert accepted.error is None and accepted.incident is None
    launch = await Group.get(conversation_id="launch")
    assert first.cache.bindings.get(collab.id) == (launch.id,)  # the collaboration's groups now come from the cache

    bound = await second.say("lilei", f"绑定 {collab.code}", Conversation("simulator", "global"))
    assert bound.error is None and bound.incident is None

    before = await OutboxMessage.filter(conversation_id="global").count()
    task = await first.say("lilei", f"任务 {collab.code}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10")
    assert task.error is None and task.incident is None
    assert await OutboxMessage.filter(conversation_id="global").count() > before  # the new group got the subtask's card
    assert first.cache.bindings.get(collab.id) == (launch.id, (await Group.get(conversation_id="global")).id)


def _probe_router() -> Router:
    """Handlers that write a directory row and read it again in the same event."""
    router = Router()

    @router.command("rename")
    async def rename(ctx: Context, args: str) -> Outcome:
        person = await directory.require_person(ctx.actor.id if ctx.actor else 0)
        person.name = args
        await person.save(update_fields=["name"])
        return Outcome().reply((await directory.require_person(person.id)).name)

    @router.command("rename-quietly")
    async def rename_quietly(ctx: Context, args: str) -> Outcome:
        actor_id = ctx.actor.id if ctx.actor else 0
        await Person.filter(id=actor_id).update(name=args)
        directory.written("person", actor_id)
        return Outcome().reply((await directory.require_person(actor_id)).name)

    @router.command("rename-then-fail")
    async def rename_then_fail(ctx: Context, args: str) -> Outcome:
        actor_id = ctx.actor.id if ctx.actor else 0
        person = await directory.require_person(actor_id)
        person.name = args
        await person.save(update_fields=["name"])
        assert (await directory.require_person(actor_id)).name == args  # seen inside the event…
        raise InvalidInput(_("Choose a language: {list} (e.g. “lang en” or “语言 中文”; “lang group en” for this group).", list=args))

    @router.command("update-unannounced-then-fail")
    async def update_unannounced_then_fail(ctx: Context, args: str) -> Outcome:
        # a write path that forgot ``directory.written``: what it reads afterwards must still not outlive it
        actor_id = ctx.actor.id if ctx.actor else 0
        await Person.filter(id=actor_id).update(name=args)
        await directory.people([actor_id, actor_id + 1])
        raise InvalidInput(_("Choose a language: {list} (e.g. “lang en” or “语言 中文”; “lang group en” for this group).", list=args))

    @router.command("scribble")
    async def scribble(ctx: Context) -> Outcome:
        assert ctx.actor is not None
        ctx.actor.name = "涂改"
        cached = await directory.require_person(ctx.actor.id)
        cached.name, cached.locale = "涂改", "en"
        await cached.fetch_related("department")
        (await directory.departments())[0].head_id = None
        return Outcome()

    @router.command("whoami")
    async def whoami(ctx: Context) -> Outcome:
        person = await directory.require_person(ctx.actor.id if ctx.actor else 0)
        dept = await directory.department(person.department_id)
        return Outcome().reply(f"{person.name}|{person.locale}|{dept.head_id if dept else None}|{hasattr(person, '_department')}")

    @router.command("dm")
    async def dm(ctx: Context, args: str) -> Outcome:
        found = await directory.person_named("handle", args)
        assert found is not None
        return Outcome().send(ToPerson(found.id), Text("ping"))

    @router.command("find")
    async def find(ctx: Context, args: str) -> Outcome:
        found = await directory.person_named("name", args)
        return Outcome().reply(found.handle if found else "-")

    return router


def _reply(result: DispatchResult) -> str:
    assert result.outcome is not None and result.outcome.messages, result
    return str(result.outcome.messages[0].content.body)  # type: ignore[union-attr]


async def test_a_local_write_is_seen_at_once_in_its_own_event_and_by_the_next(org: str) -> None:
    bot = Bot(org, _probe_router())
    await bot.say("lilei", "whoami")  # lilei is cached now
    assert _reply(await bot.say("lilei", "rename 李雷雷")) == "李雷雷"
    assert _reply(await bot.say("lilei", "whoami")).startswith("李雷雷|")
    assert _reply(await bot.say("lilei", "rename-quietly 李小雷")) == "李小雷"
    assert _reply(await bot.say("lilei", "whoami")).startswith("李小雷|")


async def test_a_rolled_back_write_does_not_poison_the_cache(org: str) -> None:
    bot = Bot(org, _probe_router())
    assert _reply(await bot.say("lilei", "whoami")).startswith("李雷|")
    assert (await bot.say("lilei", "rename-then-fail 幽灵")).error is not None
    assert _reply(await bot.say("lilei", "whoami")).startswith("李雷|")
    assert (await bot.say("lilei", "update-unannounced-then-fail 幽灵")).error is not None
    assert _reply(await bot.say("lilei", "whoami")).startswith("李雷|")
    assert (await Person.get(handle="lilei")).name == "李雷"


async def test_what_a_handler_does_to_its_rows_stays_in_its_event(org: str) -> None:
    bot = Bot(org, _probe_router())
    before = _reply(await bot.say("lilei", "whoami"))
    assert (await bot.say("lilei", "scribble")).error is None
    assert _reply(await bot.say("lilei", "whoami")) == before == "李雷|None|2|False"


async def test_a_slow_reader_does_not_put_back_a_row_another_event_evicted(org: str) -> None:
    cache = DirectoryCache()
    lilei = await Person.get(handle="lilei")
    with directory.event_scope(cache) as slow:
        await slow.refresh()
        assert (await directory.require_person(lilei.id)).name == "李雷"  # read before the change…
        await Person.filter(id=lilei.id).update(name="李雷（新）")  # …committed by another process
        with directory.event_scope(cache) as fast:
            await fast.refresh()  # the next event learns of it
            assert (await directory.require_person(lilei.id)).name == "李雷（新）"
            fast.commit()
        slow.commit()  # …and the slow event, committing last, must not put the old row back
    with directory.event_scope(cache) as later:
        await later.refresh()
        assert (await directory.require_person(lilei.id)).name == "李雷（新）"


async def test_a_claim_read_before_another_event_moved_the_cache_reads_the_changes_again(org: str) -> None:
    """Events in flight in one process: a claim's changes are relative to the version the cache had when it was
    sent; when another event moved the cache since, they do not fit it, and one statement reads them anew —
    evicting the changed row only, not the whole cache."""
    cache = DirectoryCache()
    lilei, hanmei = await Person.get(handle="lilei"), await Person.get(handle="hanmei")
    with directory.event_scope(cache) as first:
        await first.refresh()
        await directory.people([lilei.id, hanmei.id])
        first.commit()
    claimed_at = cache.version
    assert claimed_at is not None
    await Person.filter(id=lilei.id).update(name="李雷（新）")  # another process changes lilei…
    with directory.event_scope(cache) as other:
        await other.refresh()  # …an event of this one catches up…
    await Person.filter(id=lilei.id).update(name="李雷（再）")  # …and lilei changes again
    with directory.event_scope(cache) as late:  # the claim sent before the first change was learnt
        changes = [(claimed_at + 1, "person", lilei.id), (claimed_at + 2, "person", lilei.id)]
        await late.catch_up(DirectoryState(claimed_at + 2, changes), claimed_at)
        assert cache.version == claimed_at + 2
        assert cache.people.get(hanmei.id) is not None  # (the claim's changes, taken as they are, empty the cache)
        assert (await directory.require_person(lilei.id)).name == "李雷（再）"


async def test_the_cache_keeps_at_most_its_capacity(org: str) -> None:
    await Person.bulk_create([Person(handle=f"p{n}", name=f"员工{n}", created_at=NOW) for n in range(150)])
    people = {p.handle: p.id for p in await Person.filter(handle__startswith="p")}
    await Identity.bulk_create([Identity(person_id=pid, platform="simulator", platform_user_id=handle) for handle, pid in people.items()])
    bot = Bot(org, cache=DirectoryCache(capacity=100))
    for handle in sorted(people):
        assert (await bot.say(handle, "帮助")).error is None
    assert len(bot.cache.people) <= 100 and len(bot.cache.identities) <= 100
    last = sorted(people)[-1]
    await bot.say(last, "帮助")  # (the first event of each wrote their account's last-seen time)
    misses = bot.cache.misses
    await bot.say(last, "帮助")  # recently used: still cached
    assert bot.cache.misses == misses


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(str(record.args[0]) if isinstance(record.args, tuple) and record.args else record.getMessage())


async def _statements_of(bot: Bot, actor: str, text: str) -> list[str]:
    """The statements one event of ``bot`` ran (as tortoise and ``storage.pg_inline`` log them)."""
    statements = _Statements()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.addHandler(statements)
    logger.setLevel(logging.DEBUG)
    try:
        assert (await bot.say(actor, text)).error is None
    finally:
        logger.removeHandler(statements)
        logger.setLevel(level)
    return statements.seen


def _reads_of(statements: list[str], tables: tuple[str, ...]) -> list[str]:
    return [s for s in statements if any(f'"{t}"' in s or f" {t} " in s for t in tables)]


async def test_a_warm_event_reads_the_directory_version_in_its_inbox_claim_only(org: str) -> None:
    bot = Bot(org)
    await bot.say("hanmei", "帮助")
    await bot.say("hanmei", "帮助")
    seen = await _statements_of(bot, "hanmei", "帮助")
    reads = _reads_of(seen, ("person", "identity", "chat_group", "department", "group_binding", "directory_version", "directory_change"))
    # the one directory read: the version, a sub-select of the inbox claim (nothing changed: no other statement)
    assert len(reads) == 1 and reads[0].lstrip().startswith('INSERT INTO "inbox"') and "directory_version" in reads[0], seen


async def test_another_process_s_change_is_learnt_from_the_inbox_claim_alone(org: str) -> None:
    first, second = Bot(org), Bot(org)
    await first.say("lilei", "帮助")
    assert (await second.say("lilei", "lang group en")).error is None

    seen = await _statements_of(first, "lilei", "帮助")
    # the changes since this process's version come back with the claim: no statement reads them again
    reads = _reads_of(seen, ("directory_version", "directory_change"))
    assert len(reads) == 1 and reads[0].lstrip().startswith('INSERT INTO "inbox"') and "directory_change" in reads[0], seen
    assert any('"chat_group"' in s for s in seen)  # the group that changed is read again: evicted
    assert (await first.say("lilei", "帮助")).locale == "en"


async def test_departments_and_heads_come_from_the_cache_until_one_changes(org: str) -> None:
    bot = Bot(org, _probe_router())
    assert _reply(await bot.say("hanmei", "whoami")).endswith("|None|4|False")  # 设计部's head is 刘洋 (id 4)
    assert bot.cache.departments is not None
    await Department.filter(code="design").update(head_id=(await Person.get(handle="hanmei")).id)  # another process
    assert _reply(await bot.say("hanmei", "whoami")).endswith(f"|None|{(await Person.get(handle='hanmei')).id}|False")


async def test_a_name_taken_or_given_up_in_another_process_is_looked_up_anew(org: str) -> None:
    first, second = Bot(org, _probe_router()), Bot(org, _probe_router())
    assert _reply(await first.say("lilei", "find 韩梅")) == "hanmei"
    assert _reply(await first.say("lilei", "find 梅梅")) == "-"
    assert _reply(await second.say("hanmei", "rename 梅梅")) == "梅梅"
    assert _reply(await first.say("lilei", "find 韩梅")) == "-"
    assert _reply(await first.say("lilei", "find 梅梅")) == "hanmei"


async def _last_sent() -> OutboxMessage:
    row = await OutboxMessage.all().order_by("-id").first()
    assert row is not None and "ping" in str(row.payload), row
    return row


async def _directory_version() -> int:
    rows = await db.connection().execute_query_dict("SELECT version FROM directory_version WHERE id = 1")
    return int(rows[0]["version"])


async def test_an_account_used_in_another_process_gets_the_next_dm_and_empties_no_cache(org: str) -> None:
    """Being seen is no directory change (it happens hourly for everyone): no process re-reads the person for
    it, and a direct message still goes to the account the person used last, whichever process saw it."""
    first, second = Bot(org, _probe_router()), Bot(org, _probe_router())
    await first.say("lilei", "whoami")
    lilei = await Person.get(handle="lilei")
    await Identity.create(person_id=lilei.id, platform="slack", platform_user_id="U_LILEI", dm_conversation="D_LILEI", last_seen_at=NOW - timedelta(days=1))

    await first.say("hanmei", "dm lilei")
    assert (await _last_sent()).platform == "simulator"
    assert first.cache.identities.get(lilei.id) is not None

    later = second.engine.clock.advance(hours=2)  # type: ignore[attr-defined]
    version = await _directory_version()
    slack_dm = Conversation("slack", "D_LILEI", is_direct=True)
    result = await second.engine.dispatch(Event(EventKind.COMMAND, "slack", "seen-1", slack_dm, actor_id="U_LILEI", text="whoami"))
    assert result.error is None and result.incident is None
    assert (await Identity.get(platform="slack", platform_user_id="U_LILEI")).last_seen_at == later
    assert await _directory_version() == version  # no process re-reads lilei for it
    assert second.cache.identities.get(lilei.id)[1].last_seen_at == later  # type: ignore[index]

    await first.say("hanmei", "dm lilei")
    assert first.cache.identities.get(lilei.id) is not None  # still cached: nothing was evicted
    newest = await _last_sent()
    assert (newest.platform, newest.conversation_id) == ("slack", "D_LILEI")
