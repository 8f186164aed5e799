"""The rows about one collaboration are its code's and its documents' (``CODE-…``), never those of a longer code
that begins with it: the tenth collaboration of a day is a prefix of the hundredth."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import db, sql
from storage.models import AuditEntry
from storage.subjects import CODES_PER_STATEMENT, about, about_any, in_batches
from tests.conftest import PG_URL

TENTH = "XZB2026112310"
SUBJECTS = [TENTH, f"{TENTH}-01", f"{TENTH}-R1", "XZB20261123100", "XZB20261123100-01", "XZB2026112311", "XZB2026112309-01"]


async def test_the_rows_about_a_collaboration_are_its_own_and_its_documents(database):
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    await AuditEntry.bulk_create([AuditEntry(at=at, platform="simulator", action="x", subject=s) for s in SUBJECTS])

    found = await AuditEntry.filter(about(TENTH)).order_by("id").values_list("subject", flat=True)
    assert found == [TENTH, f"{TENTH}-01", f"{TENTH}-R1"]
    assert await AuditEntry.filter(about("XZB20261123100")).count() == 2


async def test_a_collaborations_rows_are_one_range_of_the_subject_in_byte_order(database):
    """On PostgreSQL the range is one only in byte order: in a language's order a hyphen weighs nothing."""
    if not PG_URL:
        # SQLite: text compares byte by byte, and ``about``'s range is read from the subject's index
        plan = await db.connection().execute_query_dict(
            'EXPLAIN QUERY PLAN SELECT "id" FROM "audit_entry" WHERE "subject" = ? OR ("subject" >= ? AND "subject" < ?)',
            [TENTH, f"{TENTH}-", f"{TENTH}."],
        )
        assert all("SCAN audit_entry" not in str(row["detail"]) for row in plan), plan
        return
    rows = await sql.fetch(
        "SELECT table_name, collation_name FROM information_schema.columns WHERE column_name = 'subject' "
        "AND table_name IN ('audit_entry', 'confirmation')",
        [],
    )
    assert {(r["table_name"], r["collation_name"]) for r in rows} == {("audit_entry", "C"), ("confirmation", "C")}


async def test_the_rows_about_several_collaborations_come_in_a_statement_a_batch(database):
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    await AuditEntry.bulk_create([AuditEntry(at=at, platform="simulator", action="x", subject=s) for s in SUBJECTS])
    codes = [TENTH, "XZB2026112309", *(f"XZB2026112{n:04d}" for n in range(2000, 2000 + CODES_PER_STATEMENT * 2))]

    batches = list(in_batches(codes))
    found = [s for batch in batches for s in await AuditEntry.filter(about_any(batch)).values_list("subject", flat=True)]

    assert len(batches) == 3 and all(len(b) <= CODES_PER_STATEMENT for b in batches)
    assert sorted(found) == sorted([TENTH, f"{TENTH}-01", f"{TENTH}-R1", "XZB2026112309-01"])
    assert await AuditEntry.filter(about_any([])).count() == 0
    if not PG_URL:  # one index read per code, not a read of the audit
        query = AuditEntry.filter(about_any(batches[0])).only("id").sql(params_inline=True)
        plan = await db.connection().execute_query_dict(f"EXPLAIN QUERY PLAN {query}")
        assert all("SCAN audit_entry" not in str(row["detail"]) for row in plan), plan
