"""No payload can crash the bot: random text and forged clicks through Engine.dispatch always end in a reply."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import from_dict
from bot.engine import Engine
from bot.types import Conversation, Event, EventKind
from storage import db
from tests.conftest import PG_URL, _truncate_pg
from tests.core.harness import demo_config
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

WORDS = ["新建协作", "任务", "进度", "提交验收", "通过", "不通过", "接受", "拒绝", "调整", "改派", "取消", "完成", "查看", "记录",
         "new", "task", "progress", "submit", "pass", "fail", "accept", "decline", "admin", "lang", "bind", "help", "/collab"]
KEYS = ["标题", "目标", "协作部门", "截止", "期望启动", "负责人", "交付标准", "交付物", "原因", "意见", "title", "deadline", "owner", "：", ":"]
CODES = ["XZB2026112301", "XZB2026112301-01", "XZB2026112399-07", "XZB99999999999", "-01"]
ACTIONS = ["request.accept", "request.decline", "task.ack", "acceptance.pass", "acceptance.fail", "nope", ""]

texts = st.lists(st.one_of(st.sampled_from(WORDS + KEYS + CODES), st.text(max_size=12), st.sampled_from(["\n", " ", "50%", "下周五", "2026-13-40"])), max_size=12).map("".join)
values = st.dictionaries(st.sampled_from(["code", "dept", "round", "attempt", "x"]), st.one_of(st.none(), st.integers(), st.text(max_size=20), st.sampled_from(CODES)), max_size=4)
people = st.sampled_from(["lilei", "liuyang", "wangfang", "hanmei", "stranger", "anna"])

APOLOGY = "Something went wrong on our side"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, Engine]]:
    loop = asyncio.new_event_loop()
    url = PG_URL or f"sqlite://{tmp_path_factory.mktemp('fuzz')}/fuzz.db"
    config = from_dict(demo_config(url), environ={})

    async def open_world() -> Engine:
        await db.connect(url, run_migrations=not PG_URL)
        if PG_URL:
            await _truncate_pg()
        from bot.clock import ManualClock

        clock = ManualClock()
        await sync_directory(config, clock.now())
        engine = Engine(build_router(), config, clock)
        # something to act on: an open request
        await engine.dispatch(Event(EventKind.COMMAND, "simulator", "seed", Conversation("simulator", "launch"), actor_id="lilei",
                                    text="新建协作\n标题：x\n目标：y\n协作部门：设计部\n截止：2026-12-20"))
        return engine

    engine = loop.run_until_complete(open_world())
    yield loop, engine
    loop.run_until_complete(db.close())
    loop.close()


_ids = itertools.count()


def _assert_answered(result) -> None:
    assert not result.duplicate
    messages = result.outcome.messages if result.outcome else []
    assert messages or result.outcome.updates, "every event gets an answer"
    for message in messages:
        body = getattr(message.content, "body", None)
        assert APOLOGY not in str(getattr(body, "msgid", "")), "a bug path was taken"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person=people, text=texts, direct=st.booleans())
def test_random_text_never_crashes(world, person, text, direct):
    loop, engine = world
    conversation = Conversation("simulator", f"dm:{person}", is_direct=True) if direct else Conversation("simulator", "launch")
    event = Event(EventKind.COMMAND, "simulator", f"fuzz-{next(_ids)}", conversation, actor_id=person, actor_name=person, text=text or "?")
    _assert_answered(loop.run_until_complete(engine.dispatch(event)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person=people, action=st.sampled_from(ACTIONS), value=values, form=st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=3), kind=st.sampled_from([EventKind.ACTION, EventKind.FORM]))
def test_forged_clicks_and_forms_never_crash(world, person, action, value, form, kind):
    loop, engine = world
    event = Event(kind, "simulator", f"fuzz-{next(_ids)}", Conversation("simulator", f"dm:{person}", is_direct=True),
                  actor_id=person, actor_name=person, action=action, value=value, form=form)
    _assert_answered(loop.run_until_complete(engine.dispatch(event)))
