"""Acceptance against the delivery standard as a checklist (交付标准逐项验收), through the simulator: the owner ticks
each item in a form that only she gets, the reviewer fails naming the failed items, the owner resubmits with the
typed self-check, and the history keeps every round's items."""

from __future__ import annotations

from storage.models import AcceptanceRequest, Person, Subtask
from tests.core.harness import running
from tests.simclient import body_text, buttons
from tests.workflows.helpers import active_collaboration, add_subtask, bot_messages, keyed, ok, refused
from workflows.acceptance.checklist import checklist_items, failed_indexes, parse_marks
from workflows.acceptance.history import acceptance_history

STANDARD = "300DPI、750×1500px，品牌VI色"
ITEMS = ["300DPI", "750×1500px", "品牌VI色"]


def test_the_delivery_standard_splits_into_items_kept_as_typed():
    assert checklist_items(STANDARD) == ITEMS
    assert checklist_items("300DPI, 750×1500px") == ["300DPI", "750×1500px"]
    assert checklist_items("宽 1,000px；无水印\n品牌VI色 ") == ["宽 1,000px", "无水印", "品牌VI色"]
    assert checklist_items("") == []


def test_the_typed_self_check_names_items_by_number_or_text():
    assert parse_marks("1、2 通过；3 未通过", ITEMS) == {0: True, 1: True, 2: False}
    assert parse_marks("300DPI 通过；品牌VI色 不符合", ITEMS) == {0: True, 2: False}
    assert parse_marks("全部通过", ITEMS) == {0: True, 1: True, 2: True}
    assert parse_marks("1-3 通过", ITEMS) == {0: True, 1: True, 2: True}
    assert parse_marks("1到2 符合；3 ✗", ITEMS) == {0: True, 1: True, 2: False}
    assert parse_marks("self-check: all pass", ITEMS) == {0: True, 1: True, 2: True}
    assert parse_marks("已按要求完成", ITEMS) is None  # a note, not a tick
    assert parse_marks("1500 张", ITEMS) is None  # a number that is no item number
    # a fail names its items: ticked, typed, quoted in the comments, or else all of them
    assert failed_indexes(["3"], "", ITEMS) == {2}
    assert failed_indexes("2、3", "", ITEMS) == {1, 2}
    assert failed_indexes([], "品牌VI色不对", ITEMS) == {2}
    assert failed_indexes(None, "整体需重做", ITEMS) == {0, 1, 2}


async def test_checklist_acceptance_over_the_simulator(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", STANDARD, "2026-12-10")
        task = await Subtask.get(code=sub)
        reviewer = (await Person.get(id=task.reviewer_id)).handle

        # 1. the owner asks for the form in the group: it goes to her alone, the group sees no form
        await ok(await sim.say("hanmei", f"提交验收 {sub}", "launch"))
        assert not [m for m in await bot_messages(sim, conversation="launch") if m["content"].get("form")]
        note = (await bot_messages(sim, conversation="launch", person="hanmei"))[-1]
        assert note["ephemeral"] and "私信" in body_text(note)
        prompt = (await bot_messages(sim, person="hanmei"))[-1]
        form = prompt["content"]["form"]
        assert form["id"] == "acceptance.submit"
        ticks = next(f for f in form["fields"] if f["name"] == "self_check_items")
        assert ticks["kind"] == "checkboxes"
        assert [c["label"] for c in ticks["choices"]] == ["1. 300DPI", "2. 750×1500px", "3. 品牌VI色"]
        assert "自检：1、2 通过；3 未通过" in body_text(prompt) and "2. 750×1500px" in body_text(prompt)  # typed, where a chat has no forms

        # 2. she ticks two of three items; the used form closes
        fields = {"deliverables": "海报 https://files.example/p v1", "statement": "已按标准完成", "self_check_items": ["1", "2"], "self_check": "VI色待确认"}
        await ok(await sim.submit("hanmei", prompt["id"], fields))
        closed = next(m for m in await sim.messages(person="hanmei") if m["id"] == prompt["id"])
        assert closed["content"]["form"] is None and not buttons(closed) and "此表单已关闭" in body_text(closed)
        again = await sim.submit("hanmei", prompt["id"], fields)
        assert again["_status"] == 400  # a closed form cannot be sent twice
        first = await AcceptanceRequest.get(subtask_id=task.id, attempt=1)
        assert first.checklist == [
            {"item": "300DPI", "self_check": True, "result": None},
            {"item": "750×1500px", "self_check": True, "result": None},
            {"item": "品牌VI色", "self_check": False, "result": None},
        ]

        # 3. the reviewer sees the items and fails item 3 on a checkbox form
        card = await keyed(sim, f"acc:{sub}:1", person=reviewer)
        text = body_text(card)
        assert "1. 300DPI — 自检 ✓，验收 ⏳" in text and "3. 品牌VI色 — 自检 ✗，验收 ⏳" in text
        fail_form = next(b["opens_form"] for b in card["content"]["buttons"] if b["action"] == "acceptance.fail")
        assert fail_form["fields"][0]["name"] == "failed_items" and fail_form["fields"][0]["kind"] == "checkboxes"
        await ok(await sim.submit(reviewer, card["id"], {"failed_items": ["3"], "comments": "海报色彩与品牌VI不符，需调整主色调"}, action="acceptance.fail"))
        first = await AcceptanceRequest.get(id=first.id)
        assert [row["result"] for row in first.checklist] == ["passed", "passed", "failed"]
        card = await keyed(sim, f"acc:{sub}:1", person=reviewer)
        assert "不通过项: 品牌VI色" in body_text(card) and "3. 品牌VI色 — 自检 ✗，验收 ❌" in body_text(card)
        told = body_text((await bot_messages(sim, person="hanmei"))[-1])
        assert "海报色彩与品牌VI不符" in told and "不通过项：品牌VI色" in told

        # 4. she resubmits in one typed message with the typed self-check
        await ok(await sim.say("hanmei", f"提交验收 {sub}\n交付物：海报 https://files.example/p v2-修改后\n自检：1、2、3 通过", "launch"))
        second = await AcceptanceRequest.get(subtask_id=task.id, attempt=2)
        assert [row["self_check"] for row in second.checklist] == [True, True, True]

        # 5. a typed fail names its items; an unknown reviewer is refused; a typed pass is answered where typed
        r = await sim.say("hanmei", f"通过 {sub}", "launch")
        await refused(sim, r, "hanmei", "不能验收自己的交付物")
        await ok(await sim.say(reviewer, f"通过 {sub}", "launch"))
        answer = (await bot_messages(sim, conversation="launch", person=reviewer))[-1]
        assert answer["ephemeral"] and "已记录" in body_text(answer) and sub in body_text(answer)

        history = await acceptance_history(task.id)
        assert [(r["attempt"], r["state"], r["failed_items"]) for r in history] == [(1, "failed", ["品牌VI色"]), (2, "passed", [])]
        assert [i["item"] for i in history[0]["items"]] == ITEMS
        assert [(i["self_check"], i["result"]) for i in history[0]["items"]] == [(True, "passed"), (True, "passed"), (False, "failed")]
        assert [i["result"] for i in history[1]["items"]] == ["passed"] * 3

        # 查看 shows every round with its items: the owner's tick and the reviewer's mark
        await ok(await sim.say("lilei", f"查看 {code}", "launch"))
        shown = body_text((await bot_messages(sim, conversation="launch", person="lilei"))[-1])
        assert "验收第 1 次：未通过 — 300DPI ✓✅、750×1500px ✓✅、品牌VI色 ✗❌" in shown
        assert "验收第 2 次：已通过 — 300DPI ✓✅、750×1500px ✓✅、品牌VI色 ✓✅" in shown


async def test_a_typed_fail_names_the_failed_items(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        sub = await add_subtask(sim, code, "海报", "hanmei", STANDARD, "2026-12-10")
        task = await Subtask.get(code=sub)
        reviewer = (await Person.get(id=task.reviewer_id)).handle
        await ok(await sim.say("hanmei", f"提交验收 {sub}\n交付物：海报 v1\n自检：全部通过", "launch"))
        await ok(await sim.say(reviewer, f"不通过 {sub} 不通过项：2、3 意见：尺寸和主色调都不对", "launch"))
        request = await AcceptanceRequest.get(subtask_id=task.id, attempt=1)
        assert [row["result"] for row in request.checklist] == ["passed", "failed", "failed"]
        answer = (await bot_messages(sim, conversation="launch", person=reviewer))[-1]
        assert answer["ephemeral"] and "750×1500px、品牌VI色" in body_text(answer)
