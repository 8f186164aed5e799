"""Pure tests of the Slack renderer and payload parser: snapshots, Slack's limits, escaping, parsing."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import inbound, render
from bot.platform import Mention
from bot.types import Button, Card, CardField, Choice, EventKind, Form, FormField, Text
from tests.slack.limits import message_problems, view_problems
from tests.slack.world import CARD_INPUTS, assert_snapshot

LONG_PARAGRAPH = "背景说明：" + "本次发布涉及海报、落地页、线下物料与渠道投放，需要多部门协同推进。" * 20


def long_request_card() -> Card:
    """A request far bigger than one Slack message: long body, long fields, many departments, many buttons."""
    return Card(
        key="req:XZB2026112301",
        title="协作需求 XZB2026112301：" + "超长标题" * 60,
        body="\n".join(f"- ⏳ 部门{i:02d}：等待负责人{i:02d}确认。{LONG_PARAGRAPH}" for i in range(40)),
        fields=[CardField(f"字段{i}", LONG_PARAGRAPH * (3 if i % 3 == 0 else 1)) for i in range(60)],
        buttons=[
            Button(f"接受第{i}轮" * 20, "request.accept", {"code": "XZB2026112301", "dept": f"d{i}", "round": i}, "primary", command=f"accept XZB2026112301 d{i}")
            for i in range(30)
        ],
        color="yellow",
        status="状态：待确认（第 1 轮）" * 300,
        mentions=[str(i) for i in range(3)],
    )


def test_long_request_card_still_renders_inside_every_limit():
    payload = render.render_card(long_request_card(), [Mention(f"U{i}", f"p{i}") for i in range(3)], "zh_CN")
    assert message_problems(payload) == []
    blocks = payload["blocks"]
    assert len(blocks) == 50
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"].endswith("…")
    assert sum(len(b["elements"]) for b in blocks if b["type"] == "actions") == 25
    assert any("截短" in json.dumps(b, ensure_ascii=False) for b in blocks if b["type"] == "context")
    assert blocks[-1]["type"] == "actions"  # the buttons survive shortening: the decision is still possible
    assert any("accept XZB2026112301 d29" in json.dumps(b, ensure_ascii=False) for b in blocks)  # dropped buttons as commands


def test_same_action_twice_in_one_block_gets_unique_action_ids():
    card = Card("t", buttons=[Button("A", "standup.raise_risk", {"answer": i}) for i in range(7)])
    payload = render.render_card(card)
    rows = [[e["action_id"] for e in b["elements"]] for b in payload["blocks"] if b["type"] == "actions"]
    assert rows == [
        ["standup.raise_risk", "standup.raise_risk#1", "standup.raise_risk#2", "standup.raise_risk#3", "standup.raise_risk#4"],
        ["standup.raise_risk", "standup.raise_risk#1"],
    ]
    assert {inbound.base_action(a) for row in rows for a in row} == {"standup.raise_risk"}


def test_user_text_is_escaped_and_the_markdown_subset_converted():
    text = Text("**Deadline** <2026-12-01> & [brief](https://files.example/a?b=1&c=2)\n- one\n- two")
    payload = render.render_text(text, [Mention("U1LI", "李雷"), Mention("", "Guest")])
    body = payload["blocks"][0]["text"]["text"]
    assert body == "<@U1LI> @Guest *Deadline* &lt;2026-12-01&gt; &amp; <https://files.example/a?b=1&amp;c=2|brief>\n• one\n• two"
    assert_snapshot("text_markdown_and_mentions", payload)


def test_a_very_long_text_is_split_into_sections():
    payload = render.render_text(Text("第一段\n" + "很长的一行。" * 2000))
    assert message_problems(payload) == []
    assert len(payload["blocks"]) > 3


def test_every_card_shape_snapshot():
    shapes = {
        "card_plain": Card("Weekly report", body="All subtasks on track.", color="green"),
        "card_decided_grey": Card("Request XZB2026112301", fields=[CardField("Status", "cancelled")], color="grey", status="Cancelled by 李雷"),
        "card_buttons_and_form": Card(
            "Decline XZB2026112301?",
            body="Why?",
            buttons=[
                Button("Accept", "request.accept", {"code": "XZB2026112301"}, "primary"),
                Button("Decline", "request.decline", {"code": "XZB2026112301"}, "danger", opens_form=Form("request.decline", "Decline", [FormField("reason", "Reason", "textarea", required=True)], "Decline")),
                Button("Later", "request.later"),
            ],
            form=Form("request.new", "New request", [FormField("title", "Title")], "Submit", template="new\ntitle: …"),
        ),
    }
    for name, card in shapes.items():
        payload = render.render_card(card, [], "en")
        assert message_problems(payload) == [], name
        assert_snapshot(name, payload)


def test_every_workflow_card_type_renders_to_its_snapshot():
    """Cards the workflows really produced (captured from the Slack lifecycle and stand-up tests), and the modals of
    their forms, as Block Kit."""
    inputs = sorted(CARD_INPUTS.glob("*.card.json"))
    assert len(inputs) >= 10, "capture the cards: COLLABBOT_UPDATE_SNAPSHOTS=1 pytest tests/slack"
    for path in inputs:
        name = path.name.removesuffix(".card.json")
        data = json.loads(path.read_text(encoding="utf-8"))
        card = Card.from_json(data["card"])
        mentions = [Mention(m["platform_user_id"], m["name"]) for m in data["mentions"]]
        payload = render.render_card(card, mentions, data["locale"])
        assert message_problems(payload) == [], name
        assert_snapshot(name, payload)
        forms = ([card.form] if card.form else []) + [b.opens_form for b in card.buttons if b.opens_form]
        for form in forms:
            view = render.render_modal(form, data["locale"], inbound.form_metadata(None, form.value))
            assert view_problems(view) == [], (name, form.id)
            assert_snapshot(f"{name}.modal.{form.id}", view)


def every_field_form() -> Form:
    return Form(
        id="demo.all",
        title="A form whose title is much longer than Slack allows",
        submit_label="Submit the whole thing now please",
        fields=[
            FormField("title", "Title", required=True, placeholder="x" * 200, initial="Launch"),
            FormField("notes", "Notes", "textarea"),
            FormField("due", "Due", "date", initial="2026-12-01"),
            FormField("priority", "Priority", "select", choices=[Choice("high", "高"), Choice("low", "低")], initial="low"),
            FormField("tags", "Tags", "multiselect", choices=[Choice(f"t{i}", f"tag {i}" * 20) for i in range(120)], initial="t1,t2"),
            FormField("owner", "Owner", "person", initial="<@U5HAN>"),
            FormField("progress", "Progress", "number", initial="60"),
            FormField("empty_select", "No choices", "select"),
        ],
        value={"code": "XZB2026112301"},
    )


def test_modal_with_every_field_kind():
    form = every_field_form()
    view = render.render_modal(form, "zh_CN", inbound.form_metadata(None, form.value))
    assert view_problems(view) == []
    assert len(view["title"]["text"]) <= 24 and view["close"]["text"] == "取消"
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds == {
        "title": "plain_text_input", "notes": "plain_text_input", "due": "datepicker", "priority": "static_select",
        "tags": "multi_static_select", "owner": "users_select", "progress": "number_input", "empty_select": "plain_text_input",
    }
    assert_snapshot("modal_every_field_kind", view)


def test_modal_errors_go_on_the_field_or_the_first_input():
    view = {"blocks": [{"type": "input", "block_id": "reason"}, {"type": "input", "block_id": "counter_date"}]}
    assert render.modal_errors(view, {"counter_date": "bad date"}) == {"counter_date": "bad date"}
    assert render.modal_errors(view, {"departments": "unknown"}) == {"reason": "unknown"}


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4000)


@settings(max_examples=40, deadline=None)
@given(
    title=texts,
    body=texts,
    fields=st.lists(st.tuples(st.text(max_size=300), texts), max_size=40),
    buttons=st.lists(st.tuples(st.text(min_size=0, max_size=120), st.sampled_from(["a.x", "b.y", "a.x"])), max_size=40),
    status=st.one_of(st.none(), texts),
)
def test_any_card_stays_inside_slack_limits(title, body, fields, buttons, status):
    card = Card(
        title=title,
        body=body,
        fields=[CardField(label, value) for label, value in fields],
        buttons=[Button(label, action, {"n": i}) for i, (label, action) in enumerate(buttons)],
        status=status,
    )
    assert message_problems(render.render_card(card, [], "en")) == []
    assert message_problems(render.render_text(Text(body))) == []


# ---------------------------------------------------------------- inbound (pure)


def test_clean_text_unwraps_what_slack_escaped():
    raw = "<@UBOT> 提交验收 X-01 交付物：<https://files.example/p?a=1&amp;b=2|poster> &lt;v2&gt; <mailto:a@b.c|a@b.c> <#C1|launch> <!here> owner: <@U5HAN|han.mei>"
    assert inbound.clean_text(raw, "UBOT") == (
        "提交验收 X-01 交付物：https://files.example/p?a=1&b=2 <v2> a@b.c #launch @here owner: <@U5HAN>"
    )
    assert inbound.clean_text("<@UOTHER> hi", "UBOT") == "<@UOTHER> hi"  # someone else's mention is kept
    assert inbound.clean_text("帮助 <@UBOT|collabbot>", "UBOT") == "帮助"


def test_slash_commands_become_command_text():
    body = {"command": "/collab", "text": "new", "user_id": "U1", "user_name": "li", "channel_id": "C1", "channel_name": "launch", "trigger_id": "t1", "response_url": "http://x/r"}
    event = inbound.command_event(body)
    assert (event.kind, event.text, event.delivery_id, event.conversation.id, event.conversation.name) == (EventKind.COMMAND, "new", "cmd:t1:U1", "C1", "launch")
    assert event.reply_to == {"response_url": "http://x/r"}
    assert inbound.command_event({**body, "command": "/standup", "text": "skip"}).text == "standup skip"
    assert inbound.command_event({**body, "text": "  "}).text == "help"
    direct = inbound.command_event({**body, "channel_id": "D1", "channel_name": "directmessage"})
    assert direct.conversation.is_direct and direct.conversation.name is None


def test_button_clicks_carry_the_card_action_and_value():
    body = {
        "type": "block_actions",
        "user": {"id": "U3", "username": "liu"},
        "channel": {"id": "D3"},
        "container": {"message_ts": "1.2", "channel_id": "D3"},
        "message": {"ts": "1.2"},
        "trigger_id": "t9",
        "actions": [{"action_id": "collabbot.form:request.decline#1", "value": '{"code":"X","round":2}', "action_ts": "9.9"}],
    }
    event = inbound.action_event(body)
    assert (event.action, event.value, event.delivery_id) == ("request.decline", {"code": "X", "round": 2}, "act:9.9:U3:collabbot.form:request.decline#1")
    assert event.conversation.is_direct and event.reply_to["message_ref"] == "D3:1.2"


def test_view_submission_values_by_element_type():
    view = {
        "id": "V1",
        "callback_id": "demo.all",
        "private_metadata": inbound.form_metadata(None, {"code": "X"}),
        "state": {
            "values": {
                "title": {"title": {"type": "plain_text_input", "value": "Launch"}},
                "notes": {"notes": {"type": "plain_text_input", "value": None}},
                "due": {"due": {"type": "datepicker", "selected_date": "2026-12-01"}},
                "priority": {"priority": {"type": "static_select", "selected_option": {"value": "high"}}},
                "tags": {"tags": {"type": "multi_static_select", "selected_options": [{"value": "a"}, {"value": "b"}]}},
                "owner": {"owner": {"type": "users_select", "selected_user": "U5HAN"}},
                "progress": {"progress": {"type": "number_input", "value": "60"}},
            }
        },
    }
    event = inbound.form_event({"type": "view_submission", "user": {"id": "U1"}, "trigger_id": "t2", "view": view})
    assert event.kind is EventKind.FORM and event.action == "demo.all" and event.value == {"code": "X"}
    assert event.conversation is None
    assert event.form == {"title": "Launch", "notes": "", "due": "2026-12-01", "priority": "high", "tags": ["a", "b"], "owner": "<@U5HAN>", "progress": "60"}


def test_events_the_bot_ignores():
    def body(**event):
        return {"event_id": "Ev1", "event": event}

    assert inbound.message_event(body(type="message", channel_type="channel", channel="C1", user="U1", text="hi")) is None
    assert inbound.message_event(body(type="message", channel_type="im", channel="D1", bot_id="B1", text="x")) is None
    assert inbound.message_event(body(type="message", subtype="message_deleted", channel_type="im", channel="D1")) is None
    assert inbound.message_event(body(type="app_mention", channel="C1", user="UBOT", text="<@UBOT> hi"), bot_user_id="UBOT") is None
    mention = inbound.message_event(body(type="app_mention", channel="C1", user="U1", text="<@UBOT>"), bot_user_id="UBOT")
    assert mention is not None and mention.text == "help" and mention.delivery_id == "Ev1"


def test_profile_fills_name_email_and_locale():
    event = inbound.command_event({"command": "/collab", "text": "help", "user_id": "U9", "user_name": "sam", "channel_id": "C1", "trigger_id": "t"})
    enriched = inbound.with_profile(event, {"locale": "zh-CN", "profile": {"display_name": "", "real_name": "Sam N", "email": "s@x"}})
    assert (enriched.actor_name, enriched.actor_email, enriched.locale_hint) == ("Sam N", "s@x", "zh-CN")


def test_words_the_adapter_adds_follow_the_slack_client_language():
    body = {"command": "/standup", "text": "", "user_id": "U1", "channel_id": "C1", "trigger_id": "t"}
    assert inbound.command_event(body, locale="zh-CN").text == "站会"
    assert inbound.command_event(body, locale="en-US").text == "standup"
    assert inbound.command_event({**body, "command": "/collab"}, locale="zh-CN").text == "帮助"
    assert inbound.command_event({**body, "command": "/collab", "text": "help"}, locale="zh-CN").text == "help"  # typed: kept
