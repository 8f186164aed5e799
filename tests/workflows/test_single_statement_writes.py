"""The reads and writes that replace several statements by one: the hand-written joins (workflows/common/joined.py),
the confirmation upsert, the numbered and the coded inserts (storage/unique.py) give the same rows as the ORM would, on SQLite
and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage import db, sql
from storage.models import (
    AcceptanceRequest,
    Collaboration,
    Confirmation,
    Department,
    Person,
    RequestedDepartment,
    Sequence,
    Subtask,
)
from storage.unique import create_coded, create_numbered, upsert_statement
from workflows.common.joined import joined
from workflows.common.records import loaded, related

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def _people() -> tuple[Person, Person, Person]:
    dept = await Department.create(code="design", name="设计部")
    head = await Person.create(handle="liuyang", name="刘洋", department=dept, created_at=NOW)
    await Department.filter(id=dept.id).update(head_id=head.id)
    owner = await Person.create(handle="hanmei", name="韩梅", department=dept, created_at=NOW)
    initiator = await Person.create(handle="lilei", name="李雷", created_at=NOW)
    return head, owner, initiator


async def _collaboration(initiator: Person) -> Collaboration:
    return await Collaboration.create(
        code="XZB2026112301", title="物料", goal="按时", raised_on=date(2026, 11, 23), deadline=date(2026, 12, 20), initiator=initiator, created_at=NOW
    )


async def test_joined_subtask_is_the_row_the_orm_reads_with_its_related_rows_loaded(database: str) -> None:
    head, owner, initiator = await _people()
    collab = await _collaboration(initiator)
    joins = (("collaboration", Collaboration, "collaboration", False), ("owner", Person, "owner", False), ("reviewer", Person, "reviewer", True))
    for code, reviewer in (("XZB2026112301-01", head), ("XZB2026112301-02", None)):
        await Subtask.create(
            code=code, collaboration=collab, title="海报", owner=owner, collaborators=[head.id], delivery_standard="300DPI、品牌VI色",
            deadline=date(2026, 12, 10), depends_on=["XZB2026112301-00"], reviewer=reviewer, created_at=NOW, updated_at=NOW,
        )
        async with db.transaction():
            [task] = await joined(Subtask, joins, {"code": code}, first=True, lock=True)
        orm = await Subtask.get(code=code)
        assert {name: getattr(task, name) for name in Subtask._meta.fields_db_projection} == {
            name: getattr(orm, name) for name in Subtask._meta.fields_db_projection
        }
        assert loaded(task, "collaboration").code == "XZB2026112301"
        assert loaded(task, "owner").name == "韩梅"
        assert (loaded(task, "reviewer") or None) == (reviewer or None)
        assert task.collaborators == [head.id] and task.depends_on == ["XZB2026112301-00"]
    assert await joined(Subtask, joins, {"code": "XZB2026112301-99"}, first=True) == []


async def test_joined_answers_load_department_head_and_decider_and_filter_like_the_orm(database: str) -> None:
    head, _owner, initiator = await _people()
    collab = await _collaboration(initiator)
    ops = await Department.create(code="ops", name="运营部")  # no head
    design = await Department.get(code="design")
    await RequestedDepartment.create(collaboration=collab, department=design, state="accepted", decided_by=head, decided_at=NOW)
    await RequestedDepartment.create(collaboration=collab, department=ops)
    rd = await Department.create(code="rd", name="研发部")
    await RequestedDepartment.create(collaboration=collab, department=rd, state="withdrawn")
    joins = (("department", Department, "department", False), ("department__head", Person, "head", True), ("decided_by", Person, "decided_by", True))
    answers = await joined(RequestedDepartment, joins, {"collaboration_id": collab.id, "state__not": "withdrawn"}, order=("id",))
    assert [(a.department.code, a.state) for a in answers] == [("design", "accepted"), ("ops", "pending")]
    assert answers[0].department.head.name == "刘洋" and answers[0].decided_by.name == "刘洋"
    assert answers[1].department.head is None and answers[1].decided_by is None
    assert answers[0].decided_at == NOW
    several = await joined(RequestedDepartment, joins, {"department_id__in": [design.id, ops.id, rd.id]}, order=("id",))
    assert len(several) == 3 and await joined(RequestedDepartment, joins, {"department_id__in": []}) == []


async def test_related_reads_a_relation_once_and_keeps_it(database: str) -> None:
    _head, _owner, initiator = await _people()
    created = await _collaboration(initiator)
    fresh = await Collaboration.get(id=created.id)
    assert loaded(fresh, "initiator") is None
    first = await related(fresh, "initiator")
    assert first.name == "李雷" and loaded(fresh, "initiator") is first and await related(fresh, "initiator") is first


async def test_confirmation_upsert_creates_then_sets_only_the_fields_named(database: str) -> None:
    head, _owner, _initiator = await _people()
    keys = {"subject": "XZB2026112301", "purpose": "request:r1:design", "person_id": head.id}
    async with db.transaction():
        await sql.execute(*upsert_statement(Confirmation, keys, {"state": "pending", "decided_at": None, "comment": "", "created_at": NOW}, ("state", "decided_at", "comment")))
    later = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    values = {"state": "rejected", "decided_at": later, "platform": "simulator", "platform_user_id": "liuyang", "comment": "人力饱和"}
    async with db.transaction():
        await sql.execute(*upsert_statement(Confirmation, keys, {**values, "created_at": later}, values.keys()))
    [row] = await Confirmation.filter(**keys)
    assert (row.state, row.decided_at, row.platform_user_id, row.comment, row.created_at) == ("rejected", later, "liuyang", "人力饱和", NOW)
    await sql.execute(*upsert_statement(Confirmation, keys, {"state": "pending", "decided_at": None, "comment": "", "created_at": later}, ("state", "decided_at", "comment")))
    row = await Confirmation.get(**keys)
    assert (row.state, row.decided_at, row.comment, row.platform_user_id) == ("pending", None, "", "liuyang")


async def test_numbered_insert_counts_per_scope_from_one(database: str) -> None:
    head, owner, initiator = await _people()
    collab = await _collaboration(initiator)
    tasks = [
        await Subtask.create(
            code=f"XZB2026112301-0{n}", collaboration=collab, title="海报", owner=owner, collaborators=[], delivery_standard="300DPI",
            deadline=date(2026, 12, 10), reviewer=head, created_at=NOW, updated_at=NOW,
        )
        for n in (1, 2)
    ]
    made = []
    for task in (tasks[0], tasks[0], tasks[1], tasks[0]):
        async with db.transaction():
            made.append(
                await create_numbered(
                    AcceptanceRequest, "attempt", {"subtask_id": task.id},
                    deliverables=[{"name": "海报", "link": "https://files.example/1", "version": "v1"}],
                    checklist=[{"item": "300DPI", "self_check": True, "result": None}], submitted_by=owner, submitted_at=NOW,
                )
            )
    assert [r.attempt for r in made] == [1, 2, 1, 3]
    stored = await AcceptanceRequest.get(id=made[3].id)
    assert (stored.attempt, stored.subtask_id, stored.state, stored.version, stored.submitted_at) == (3, tasks[0].id, "pending", 1, NOW)
    assert stored.deliverables == [{"name": "海报", "link": "https://files.example/1", "version": "v1"}]
    assert stored.checklist == made[3].checklist


async def test_a_coded_insert_takes_the_counters_next_value_with_two_digits_at_least(database: str) -> None:
    """``create_coded``: the code is the prefix and the counter's next value (one statement on PostgreSQL), and the
    row is the row ``create`` writes."""
    head, owner, initiator = await _people()
    collab = await _collaboration(initiator)
    await Sequence.create(name=f"subtask:{collab.code}", value=8)
    values = dict(
        collaboration=collab, title="海报", owner=owner, collaborators=[head.id], delivery_standard="300DPI、品牌VI色",
        deadline=date(2026, 12, 10), depends_on=[], reviewer=head, created_at=NOW, updated_at=NOW,
    )
    made = []
    for _ in range(2):
        async with db.transaction():
            made.append(await create_coded(Subtask, "code", f"{collab.code}-", f"subtask:{collab.code}", **values))
    await Sequence.filter(name=f"subtask:{collab.code}").update(value=99)
    async with db.transaction():
        made.append(await create_coded(Subtask, "code", f"{collab.code}-", f"subtask:{collab.code}", **values))
    async with db.transaction():
        other = await create_coded(Subtask, "code", "XZB2026112302-", "subtask:XZB2026112302", **values)
    assert [t.code for t in made] + [other.code] == ["XZB2026112301-09", "XZB2026112301-10", "XZB2026112301-100", "XZB2026112302-01"]
    twin = await Subtask.create(code="XZB2026112301-99", **values)
    columns = [name for name in Subtask._meta.fields_db_projection if name not in ("id", "code")]
    for task in made:
        stored = await Subtask.get(id=task.id)
        assert stored.code == task.code and {n: getattr(stored, n) for n in columns} == {n: getattr(twin, n) for n in columns}
        assert task.pk == stored.pk and loaded(task, "collaboration") is collab
