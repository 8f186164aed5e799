"""The language scan over the whole-lifecycle tests of every area: each test runs as written, then everything
the bot sent during it is rendered in zh_CN and in en and scanned (tests/language/scan.py).

What people typed in those tests is known from the tests themselves: every string literal of the test module
and its helpers (messages, form values, names), and every message a person sent in the simulator.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from storage import db
from storage.models import CardRecord, Department, Group, OutboxMessage, Person, SimulatorMessage
from tests.language.scan import Finding, Typed, scan_payload

HELPERS = ("tests.workflows.helpers", "tests.simclient")
LIFECYCLES = [
    ("tests.core.test_lifecycle", "test_whole_lifecycle", {"lang": "zh"}),
    ("tests.core.test_lifecycle", "test_whole_lifecycle", {"lang": "en"}),
    ("tests.workflows.test_changes", "test_three_heads_sign_one_rejects_then_all_confirm_and_the_bot_applies_it", {}),
    ("tests.workflows.test_meetings", "test_notice_reminders_minutes_confirmation_and_three_action_items_become_subtasks", {}),
    ("tests.workflows.test_risks", "test_a_risk_unanswered_for_four_hours_goes_to_the_initiators_superior", {}),
    ("tests.workflows.test_risks", "test_issue_tiers_run_their_own_clocks_and_ladders", {}),
    ("tests.workflows.test_risks", "test_a_delay_takes_effect_only_when_the_initiator_confirms_and_a_late_one_is_flagged", {}),
    ("tests.workflows.test_retro", "test_a_retrospective_saved_as_an_sop_starts_the_next_collaboration", {}),
    ("tests.workflows.test_retro", "test_the_improvement_log_is_tracked_like_subtasks", {}),
    ("tests.workflows.test_multigroup", "test_a_decision_in_one_group_updates_the_card_in_the_other", {}),
    ("tests.workflows.test_rules", "test_every_bad_input_gets_a_specific_translated_reply_and_writes_nothing", {}),
    ("tests.workflows.test_rules", "test_only_the_right_people_decide_and_outsiders_do_nothing", {}),
    ("tests.core.test_rules", "test_every_bad_input_gets_a_specific_reply_and_writes_nothing", {}),
]


def literals(module_name: str) -> list[str]:
    """Every string a test module spells out (f-strings by their literal parts)."""
    source = Path(inspect.getfile(importlib.import_module(module_name))).read_text(encoding="utf-8")
    return [node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize(("module", "name", "kwargs"), LIFECYCLES, ids=[f"{m.rsplit('.', 1)[1]}::{n}{kw.get('lang', '')}" for m, n, kw in LIFECYCLES])
async def test_the_lifecycle_tests_read_in_one_language(database_url, clock, module, name, kwargs):
    await getattr(importlib.import_module(module), name)(database_url, clock, **kwargs)
    await db.connect(database_url, run_migrations=False)
    try:
        names = {p.name for p in await Person.all()} | {d.name for d in await Department.all()} | {g.name for g in await Group.all() if g.name}
        said = [str(m.content.get("body") or "") for m in await SimulatorMessage.exclude(sender="bot")]
        payloads = [(f"outbox#{m.id}", m.payload) for m in await OutboxMessage.all().order_by("id")]
        payloads += [(f"card {c.key}", c.content) for c in await CardRecord.all().order_by("id")]
    finally:
        await db.close()
    typed = Typed(texts=said + [t for m in (module, *HELPERS) for t in literals(m)], names=names)
    findings: list[Finding] = []
    seen: set[str] = set()
    for locale in ("zh_CN", "en"):
        for where, payload in payloads:
            for finding in scan_payload(payload, locale, typed, where):
                if finding.rule + finding.text not in seen:
                    seen.add(finding.rule + finding.text)
                    findings.append(finding)
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(map(str, findings))
