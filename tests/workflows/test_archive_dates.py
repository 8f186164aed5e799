"""The archive's date range: the database narrows it by the columns, the organisation's timezone decides it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.models import Collaboration, Person
from tests.dashboard.seed import archived_collaborations
from workflows.retro.archive import ArchiveSearch, find_collaborations, find_page

# completed at these UTC times; in Shanghai (UTC+8) the first two finished on 24 November
COMPLETED = {
    "OLD1": datetime(2026, 11, 23, 16, 0, tzinfo=UTC),  # 24 Nov 00:00 in Shanghai
    "OLD2": datetime(2026, 11, 24, 15, 59, tzinfo=UTC),  # 24 Nov 23:59
    "OLD3": datetime(2026, 11, 23, 15, 59, tzinfo=UTC),  # 23 Nov 23:59
}


async def test_a_date_range_keeps_what_finished_in_it_in_the_organisations_timezone(database):
    await Person.create(handle="lilei", name="李雷", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    await archived_collaborations(5, "lilei")  # raised 2021-01-04; OLD4 and OLD5 never completed, due 2021-02-01
    for code, at in COMPLETED.items():
        await Collaboration.filter(code=code).update(completed_at=at)

    search = ArchiveSearch(start=date(2026, 11, 24), end=date(2026, 11, 30), tz="Asia/Shanghai")
    assert sorted(c.code for c in await find_collaborations(search)) == ["OLD1", "OLD2"]
    assert [c.code for c in (await find_page(search, offset=1, limit=1))[0]] == ["OLD1"]  # newest first: OLD2
    assert (await find_page(search, offset=0, limit=1))[1] == 2
    in_utc = ArchiveSearch(start=date(2026, 11, 24), end=date(2026, 11, 30), tz="UTC")
    assert sorted(c.code for c in await find_collaborations(in_utc)) == ["OLD2"]
    spanned = ArchiveSearch(start=date(2021, 1, 20), end=date(2021, 1, 31))  # every span covers those days
    assert sorted(c.code for c in await find_collaborations(spanned)) == ["OLD1", "OLD2", "OLD3", "OLD4", "OLD5"]
    after_deadline = ArchiveSearch(start=date(2021, 2, 2), end=date(2021, 2, 28))  # OLD4 and OLD5 ended 1 Feb
    assert sorted(c.code for c in await find_collaborations(after_deadline)) == ["OLD1", "OLD2", "OLD3"]
