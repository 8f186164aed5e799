"""Property-based tests of the request, change-request and acceptance state machines.

Hypothesis drives ``Engine.dispatch`` with simulator events from random people: clicks on current and stale
cards, forms with and without the required text, duplicated deliveries (the same delivery id again) and
replays of old events. A small model of each flow says what should happen; after every step the database
must match it:

- only an authorized actor changes state (anyone else's click changes nothing and writes no audit entry);
- a final state stays final;
- every transition writes exactly one audit entry (and a refused or duplicated event none).

Each test case runs on its own fresh database.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.clock import ManualClock
from bot.config import from_dict
from bot.engine import DispatchResult, Engine
from bot.types import Conversation, Event, EventKind
from storage import db
from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Confirmation,
    RequestedDepartment,
    Subtask,
)
from storage.models_workflows import ChangeRequest
from tests.conftest import PG_URL, _truncate_pg
from tests.core.harness import demo_config
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

SETTINGS = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PEOPLE = ("lilei", "liuyang", "chenjie", "wangfang", "hanmei", "anna", "zhaomin")
CODE = "XZB2026112301"
people = st.sampled_from(PEOPLE)


class EngineMachine(RuleBasedStateMachine):
    """A fresh database and engine per test case; async steps run on the machine's own event loop."""

    template: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.mkdtemp(prefix="collabbot-sm-")
        self.sent: list[Event] = []
        self.audit = 0
        self.run(self._open())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _open(self) -> None:
        if PG_URL:
            url = PG_URL
        else:
            target = Path(self.folder) / "db.sqlite"
            shutil.copyfile(self.template.removeprefix("sqlite://"), target)
            url = f"sqlite://{target}"
        await db.connect(url, run_migrations=False)
        if PG_URL:
            await _truncate_pg()
        self.clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
        config = from_dict(demo_config(url), environ={})
        await sync_directory(config, self.clock.now())
        self.engine = Engine(build_router(), config, self.clock)

    def teardown(self) -> None:
        try:
            self.run(db.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- events ------------------------------------------------------------

    def _event(self, person: str, **fields: Any) -> Event:
        conversation = fields.pop("conversation", None) or Conversation("simulator", f"dm:{person}", is_direct=True)
        return Event(platform="simulator", delivery_id=uuid.uuid4().hex, conversation=conversation, actor_id=person, actor_name=person, **fields)

    def say(self, person: str, text: str) -> DispatchResult:
        return self.send(self._event(person, kind=EventKind.COMMAND, text=text, conversation=Conversation("simulator", "launch")))

    def click(self, person: str, action: str, value: dict[str, Any]) -> DispatchResult:
        return self.send(self._event(person, kind=EventKind.ACTION, action=action, value=value))

    def submit(self, person: str, form: str, value: dict[str, Any], fields: dict[str, Any]) -> DispatchResult:
        return self.send(self._event(person, kind=EventKind.FORM, action=form, value=value, form=fields))

    def send(self, event: Event) -> DispatchResult:
        result = self.run(self.engine.dispatch(event))
        assert result.outcome is not None or result.duplicate, "the engine answered with an apology: a bug"
        self.sent.append(event)
        return result

    def new_audit(self) -> list[str]:
        async def read() -> list[str]:
            rows = await AuditEntry.filter(id__gt=self.audit).order_by("id")
            if rows:
                self.audit = rows[-1].id
            return [r.action for r in rows]

        return self.run(read())

    def expect(self, result: DispatchResult, actions: list[str]) -> None:
        """The step wrote exactly these audit entries (one per transition), and was refused when none."""
        written = self.new_audit()
        assert sorted(written) == sorted(actions), (written, actions, result.error and result.error.message)
        if not actions:
            assert result.duplicate or result.error is not None, "a step that changed nothing must say why"

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """A platform redelivers an event already handled: nothing happens."""
        if not self.sent:
            return
        event = data.draw(st.sampled_from(self.sent))
        result = self.run(self.engine.dispatch(event))
        assert result.duplicate
        self.expect(result, [])


# ---------------------------------------------------------------- the request


HEADS = {"design": "liuyang", "rd": "chenjie"}


class RequestMachine(EngineMachine):
    @initialize()
    def raise_request(self) -> None:
        self.say("lilei", "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部，研发部\n截止：2026-12-20")
        self.new_audit()
        self.state, self.round = "pending", 1
        self.answers = {dept: "pending" for dept in HEADS}
        self.deadline_day = 20

    def _refusable(self, actor: str, dept: str, round_: int) -> bool:
        return actor != HEADS[dept] or self.state != "pending" or round_ != self.round or self.answers[dept] != "pending"

    @rule(actor=people, dept=st.sampled_from(sorted(HEADS)), stale=st.booleans(), twice=st.booleans())
    def accept(self, actor: str, dept: str, stale: bool, twice: bool) -> None:
        round_ = self.round - 1 if stale else self.round
        result = self.click(actor, "request.accept", {"code": CODE, "dept": dept, "round": round_})
        expected: list[str] = []
        if not self._refusable(actor, dept, round_):
            self.answers[dept] = "accepted"
            expected.append("request.accepted")
            if all(a == "accepted" for a in self.answers.values()):
                self.state = "active"
                expected.append("request.activated")
        self.expect(result, expected)
        if twice:  # the same click delivered again: a duplicate
            again = self.run(self.engine.dispatch(self.sent[-1]))
            assert again.duplicate
            self.expect(again, [])

    @rule(actor=people, dept=st.sampled_from(sorted(HEADS)), stale=st.booleans(), reason=st.sampled_from(["", "人力饱和"]))
    def decline(self, actor: str, dept: str, stale: bool, reason: str) -> None:
        round_ = self.round - 1 if stale else self.round
        result = self.submit(actor, "request.decline", {"code": CODE, "dept": dept, "round": round_}, {"reason": reason})
        expected: list[str] = []
        if not self._refusable(actor, dept, round_) and reason:
            self.answers[dept] = "declined"
            expected.append("request.declined")
        self.expect(result, expected)

    @rule(actor=people)
    def rescope(self, actor: str) -> None:
        self.deadline_day = 21 if self.deadline_day == 20 else 20
        result = self.say(actor, f"调整 {CODE} 截止：2026-12-{self.deadline_day}")
        expected: list[str] = []
        if actor == "lilei" and self.state == "pending":
            self.round += 1
            self.answers = {dept: "pending" for dept in HEADS}
            expected.append("request.rescoped")
        self.expect(result, expected)

    @rule(actor=people)
    def cancel(self, actor: str) -> None:
        result = self.say(actor, f"取消 {CODE}")
        expected: list[str] = []
        if actor == "lilei" and self.state in ("pending", "active"):
            self.state = "cancelled"
            expected.append("request.cancelled")
        self.expect(result, expected)

    @invariant()
    def matches_the_model(self) -> None:
        async def read() -> tuple[str, int, dict[str, tuple[str, int]]]:
            collab = await Collaboration.get(code=CODE)
            answers = {a.department.code: (a.state, a.round) for a in await RequestedDepartment.filter(collaboration_id=collab.id).select_related("department")}
            return collab.state, collab.round, answers

        state, round_, answers = self.run(read())
        assert (state, round_) == (self.state, self.round)
        assert {dept: a[0] for dept, a in answers.items()} == self.answers
        assert all(a[1] == self.round for a in answers.values())


def test_request_flow(database_url: str) -> None:
    RequestMachine.template = database_url
    run_state_machine_as_test(RequestMachine, settings=SETTINGS)


# ---------------------------------------------------------------- the change request


APPROVERS = ("liuyang", "chenjie", "wangfang")


class ChangeMachine(EngineMachine):
    @initialize()
    def active_collaboration(self) -> None:
        self.say("lilei", "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部，研发部，市场部\n截止：2026-12-20")
        for head, dept in zip(APPROVERS, ("design", "rd", "market"), strict=True):
            self.click(head, "request.accept", {"code": CODE, "dept": dept, "round": 1})
        self.say("lilei", f"任务 {CODE}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10")
        self.new_audit()
        self.deadline = date(2026, 12, 10)
        self.changes: list[dict[str, Any]] = []  # the model: state, signatures, target date, resubmitted
        self._request("lilei")

    def _request(self, actor: str) -> None:
        target = next(d for d in (date(2026, 12, 11), date(2026, 12, 12), date(2026, 12, 13)) if d != self.deadline and (not self.changes or d != self.changes[-1]["date"]))
        result = self.say(actor, f"变更申请 {CODE}\n原因：调整\n影响：顺延\n-01 截止：{target.isoformat()}")
        expected: list[str] = []
        if actor == "lilei" and not any(c["state"] == "pending" for c in self.changes):
            self.changes.append({"state": "pending", "signed": dict.fromkeys(APPROVERS, "pending"), "date": target, "resubmitted": False})
            expected.append("change.requested")
        self.expect(result, expected)

    def _code(self, index: int) -> str:
        return f"{CODE}-C{index + 1:02d}"

    def _pick(self, data: st.DataObject) -> int:
        return data.draw(st.integers(min_value=0, max_value=len(self.changes) - 1)) if self.changes else 0

    @precondition(lambda self: bool(self.changes))
    @rule(actor=people, data=st.data())
    def confirm(self, actor: str, data: st.DataObject) -> None:
        index = self._pick(data)
        change = self.changes[index]
        result = self.click(actor, "change.confirm", {"code": self._code(index)})
        expected: list[str] = []
        if actor in APPROVERS and change["state"] == "pending" and change["signed"][actor] == "pending":
            change["signed"][actor] = "confirmed"
            expected.append("change.confirmed")
            if all(s == "confirmed" for s in change["signed"].values()):
                change["state"] = "applied"
                self.deadline = change["date"]
                expected.append("change.applied")
        self.expect(result, expected)

    @precondition(lambda self: bool(self.changes))
    @rule(actor=people, reason=st.sampled_from(["", "预算未批"]), data=st.data())
    def reject(self, actor: str, reason: str, data: st.DataObject) -> None:
        index = self._pick(data)
        change = self.changes[index]
        result = self.submit(actor, "change.reject", {"code": self._code(index)}, {"reason": reason})
        expected: list[str] = []
        if actor in APPROVERS and change["state"] == "pending" and change["signed"][actor] == "pending" and reason:
            change["signed"][actor] = "rejected"
            change["state"] = "rejected"
            expected.append("change.rejected")
        self.expect(result, expected)

    @precondition(lambda self: bool(self.changes))
    @rule(actor=people, data=st.data())
    def withdraw(self, actor: str, data: st.DataObject) -> None:
        index = self._pick(data)
        change = self.changes[index]
        result = self.click(actor, "change.withdraw", {"code": self._code(index)})
        expected: list[str] = []
        if actor == "lilei" and change["state"] == "pending":
            change["state"] = "withdrawn"
            expected.append("change.withdrawn")
        self.expect(result, expected)

    @precondition(lambda self: bool(self.changes))
    @rule(actor=people, data=st.data())
    def resubmit(self, actor: str, data: st.DataObject) -> None:
        index = self._pick(data)
        change = self.changes[index]
        result = self.click(actor, "change.resubmit", {"code": self._code(index)})
        expected: list[str] = []
        pending = any(c["state"] == "pending" for c in self.changes)
        if actor == "lilei" and change["state"] == "rejected" and not change["resubmitted"] and not pending and change["date"] != self.deadline:
            change["resubmitted"] = True
            self.changes.append({"state": "pending", "signed": dict.fromkeys(APPROVERS, "pending"), "date": change["date"], "resubmitted": False})
            expected.append("change.requested")
        self.expect(result, expected)

    @rule(actor=people)
    def request_another(self, actor: str) -> None:
        self._request(actor)

    @invariant()
    def matches_the_model(self) -> None:
        async def read() -> tuple[list[tuple[str, dict[str, str]]], date]:
            rows = []
            for change in await ChangeRequest.all().order_by("id"):
                signed = {c.person_id: c.state for c in await Confirmation.filter(subject=change.code, purpose="change")}
                rows.append((change.state, signed))
            task = await Subtask.get(code=f"{CODE}-01")
            return rows, task.deadline

        rows, deadline = self.run(read())
        assert [state for state, _s in rows] == [c["state"] for c in self.changes]
        assert deadline == self.deadline
        for (_state, signed), change in zip(rows, self.changes, strict=True):
            confirmed = sum(1 for s in signed.values() if s == "confirmed")
            assert confirmed == sum(1 for s in change["signed"].values() if s == "confirmed")


def test_change_request_flow(database_url: str) -> None:
    ChangeMachine.template = database_url
    run_state_machine_as_test(ChangeMachine, settings=SETTINGS)


# ---------------------------------------------------------------- acceptance


class AcceptanceMachine(EngineMachine):
    @initialize()
    def submitted_subtask(self) -> None:
        self.say("lilei", "新建协作\n标题：海报\n目标：完成海报\n协作部门：设计部\n截止：2026-12-20")
        self.click("liuyang", "request.accept", {"code": CODE, "dept": "design", "round": 1})
        self.say("lilei", f"任务 {CODE}\n标题：海报\n负责人：hanmei\n交付标准：300DPI\n截止：2026-12-10")
        self.say("hanmei", f"提交验收 {CODE}-01 交付物：海报 v1")
        self.new_audit()
        self.attempts = ["pending"]
        self.stage = "in_review"

    def _verdict(self, actor: str, attempt: int, comments: str, passed: bool) -> list[str]:
        if actor == "hanmei" or actor != "wangfang":  # the owner never reviews; only the reviewer does
            return []
        if attempt != len(self.attempts) or self.attempts[-1] != "pending":
            return []
        if not passed and not comments:
            return []
        self.attempts[-1] = "passed" if passed else "failed"
        self.stage = "done" if passed else "in_progress"
        return ["acceptance.passed" if passed else "acceptance.failed"]

    @rule(actor=people, stale=st.booleans())
    def pass_(self, actor: str, stale: bool) -> None:
        attempt = len(self.attempts) - 1 if stale else len(self.attempts)
        result = self.click(actor, "acceptance.pass", {"code": f"{CODE}-01", "attempt": attempt})
        self.expect(result, self._verdict(actor, attempt, "", True))

    @rule(actor=people, stale=st.booleans(), comments=st.sampled_from(["", "主色调不符"]))
    def fail(self, actor: str, stale: bool, comments: str) -> None:
        attempt = len(self.attempts) - 1 if stale else len(self.attempts)
        result = self.submit(actor, "acceptance.fail", {"code": f"{CODE}-01", "attempt": attempt}, {"comments": comments})
        self.expect(result, self._verdict(actor, attempt, comments, False))

    @rule(actor=people)
    def resubmit(self, actor: str) -> None:
        result = self.say(actor, f"提交验收 {CODE}-01 交付物：海报 v{len(self.attempts) + 1}")
        expected: list[str] = []
        if actor == "hanmei" and self.stage in ("not_started", "in_progress"):
            self.attempts.append("pending")
            self.stage = "in_review"
            expected.append("acceptance.submitted")
        self.expect(result, expected)

    @invariant()
    def matches_the_model(self) -> None:
        async def read() -> tuple[list[str], str]:
            task = await Subtask.get(code=f"{CODE}-01")
            return [a.state for a in await AcceptanceRequest.filter(subtask_id=task.id).order_by("attempt")], task.stage

        attempts, stage = self.run(read())
        assert (attempts, stage) == (self.attempts, self.stage)
        assert attempts.count("passed") <= 1 and all(a == "failed" for a in attempts[:-1])


def test_acceptance_flow(database_url: str) -> None:
    AcceptanceMachine.template = database_url
    run_state_machine_as_test(AcceptanceMachine, settings=SETTINGS)
