"""Everything the bot said during a whole lifecycle, rendered in zh_CN and in en, scanned for words that do not belong."""

from __future__ import annotations

import pytest

from storage import db
from storage.models import CardRecord, Department, Group, OutboxMessage, Person
from tests.core.harness import running
from tests.language.lifecycle import run_zh
from tests.language.scan import Finding, Typed, scan_payload


async def _rendered_findings(database_url: str, typed: list[str]) -> dict[str, list[Finding]]:
    await db.connect(database_url, run_migrations=False)
    try:
        names = {p.name for p in await Person.all()} | {d.name for d in await Department.all()}
        names |= {g.name for g in await Group.all() if g.name}
        known = Typed(texts=typed, names=names)
        payloads = [(f"outbox#{m.id}", m.payload) for m in await OutboxMessage.all().order_by("id")]
        payloads += [(f"card {c.key}", c.content) for c in await CardRecord.all().order_by("id")]
    finally:
        await db.close()
    found: dict[str, list[Finding]] = {"zh_CN": [], "en": []}
    for locale in found:
        seen: set[str] = set()
        for where, payload in payloads:
            for finding in scan_payload(payload, locale, known, where):
                if finding.rule + finding.text not in seen:
                    seen.add(finding.rule + finding.text)
                    found[locale].append(finding)
    return found


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_every_message_of_a_whole_lifecycle_reads_in_one_language(database_url, clock, locale):
    async with running(database_url, clock) as (_app, sim):
        recorded = await run_zh(sim)
    assert not [r for r in recorded.refusals if "未知的命令" not in r[0]], recorded.refusals
    findings = (await _rendered_findings(database_url, recorded.typed))[locale]
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(map(str, findings))
