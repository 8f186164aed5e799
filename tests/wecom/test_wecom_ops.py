"""What a WeCom admin trips over, at the fake WeCom: an app call refused for the server's IP (60020) is a
configuration error that names the setting and waits — not a dead row — and a takeover of the robot's one
long connection by another process is answered by backing off, not by taking it straight back."""

from __future__ import annotations

from datetime import timedelta

from adapters.wecom.longconn import LongConnection
from storage.models import OutboxMessage

from .conftest import Harness, start_app, wecom_config
from .fake import UNTRUSTED_IP, FakeWeCom

GROUP = "wrkGroup001"


async def test_an_untrusted_ip_is_a_configuration_error_that_waits_for_the_fix(database_url, fake: FakeWeCom, clock) -> None:
    config = wecom_config(
        database_url, fake, corp_id=fake.corp_id, corp_secret=fake.corp_secret, agent_id=fake.agent_id, direct_messages="app"
    )
    app, platform = await start_app(config, clock)
    try:
        assert platform.ws is not None
        ws = platform.ws
        await fake.wait_for(lambda: ws.ready.is_set())
        harness = Harness(app, platform, fake, clock)
        fake.untrusted_ip = True
        await harness.say("lilei", "私信演示", chatid=GROUP)  # a personal card, sent through the self-built app
        [refused] = [r for r in fake.http if r.cmd == "message/send"]
        assert refused.errcode == UNTRUSTED_IP
        [row] = await OutboxMessage.filter(platform="wecom", recipient="lilei")
        assert row.status == "pending"  # not dead: it waits for the admin
        assert "企业可信IP" in (row.last_error or "") and "wecom.agent_id" in (row.last_error or "")
        assert row.next_attempt_at - clock.now() >= timedelta(minutes=9)
        assert await OutboxMessage.filter(status="dead").count() == 0

        fake.untrusted_ip = False  # the admin added the IP
        clock.advance(timedelta(minutes=10, seconds=1))
        await app.settle()
        row = await OutboxMessage.get(id=row.id)
        assert row.status == "sent"
        assert [r.errcode for r in fake.http if r.cmd == "message/send"] == [UNTRUSTED_IP, 0]
    finally:
        await app.stop()


async def test_a_takeover_by_another_process_is_answered_by_backing_off(harness: Harness) -> None:
    fake = harness.fake
    ours = harness.platform.ws
    assert ours is not None and fake.subscriptions == 1 and harness.platform.connected() is True

    async def ignore(_frame: dict) -> None:
        return None

    other = LongConnection(fake.ws_url, fake.bot_id, fake.secret, ignore)  # another process, same robot
    await other.start()
    try:
        await fake.wait_for(lambda: other.ready.is_set() and ours.next_delay is not None)
        assert fake.takeovers == 1 and ours.takeovers == 1
        assert not ours.ready.is_set()
        assert harness.platform.connected() is None  # standing by: /readyz does not fail this process for it
        assert ours.next_delay >= 0.8 * ours.takeover_base  # waits ~30 s, not its 0.05 s reconnect pause
        assert fake.subscriptions == 2 and fake.live is not None and fake.live.number == 2  # the other one keeps it
        # a second takeover soon after taking it back doubles the wait
        assert ours.takeover_backoff(2) >= 1.6 * ours.takeover_base and ours.takeover_backoff(9) <= ours.takeover_max
    finally:
        await other.stop()
