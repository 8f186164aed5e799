"""The stand-up's hand-written reads and writes (workflows/standup/store.py) give the rows the ORM would, on SQLite
and on PostgreSQL: the runs with their stand-up, the open run of a timer, the answers, the open subtasks, the
answer insert that gives way to a concurrent one, and the previous plan that prefills "yesterday"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tortoise.models import Model

from storage import db
from storage.models import Collaboration, Group, Person, Subtask
from storage.models_clocks import Standup, StandupAnswer, StandupRun
from workflows.standup import store

NOW = datetime(2026, 11, 23, 1, 45, 12, 345678, tzinfo=UTC)
DAY = date(2026, 11, 23)


def _values(row: Model) -> dict[str, object]:
    return {name: getattr(row, name) for name in type(row)._meta.fields_db_projection}


async def _standup() -> tuple[Standup, StandupRun, Person, Person]:
    group = await Group.create(platform="simulator", conversation_id="sh", name="站会群", created_at=NOW)
    li = await Person.create(handle="li", name="李雷", timezone="Europe/Berlin", created_at=NOW)
    han = await Person.create(handle="han", name="韩梅", created_at=NOW)
    standup = await Standup.create(
        group=group, participants=[li.id, han.id], days=[1, 3, 5], remind="10:30", created_at=NOW, updated_at=NOW
    )
    run = await StandupRun.create(
        standup=standup, day=DAY, participants=[li.id, han.id], absent={str(han.id): "leave"}, prompted_at=NOW,
        cutoff_at=NOW + timedelta(hours=1, minutes=30),
    )
    return standup, run, li, han


async def test_runs_and_their_stand_up_are_the_rows_the_orm_reads(database: str) -> None:
    standup, run, li, _han = await _standup()
    async with db.transaction():
        [current] = await store.current_runs(li.id, NOW + timedelta(minutes=5))
        in_group = await store.current_runs(li.id, NOW + timedelta(minutes=5), standup.group_id)
        elsewhere = await store.current_runs(li.id, NOW + timedelta(minutes=5), standup.group_id + 1)
        too_late = await store.current_runs(li.id, NOW + timedelta(hours=21))
        opened = await store.open_run(standup.id, DAY)
        by_group = await store.standup_where("group_id", standup.group_id)
    orm_run, orm_standup = await StandupRun.get(id=run.id), await Standup.get(id=standup.id)
    assert _values(current) == _values(orm_run) and _values(current.standup) == _values(orm_standup)
    assert [r.id for r in in_group] == [run.id] and elsewhere == [] and too_late == []
    assert opened is not None and _values(opened) == _values(orm_run) and _values(opened.standup) == _values(orm_standup)
    assert by_group is not None and _values(by_group) == _values(orm_standup)
    assert current.cutoff_at == NOW + timedelta(hours=1, minutes=30) and current.absent == {str(_han.id): "leave"}
    assert await store.current_runs(li.id + 100, NOW) == []
    assert await store.close_run(run.id, NOW) and not await store.close_run(run.id, NOW)
    assert await store.open_run(standup.id, DAY) is None
    closed = await StandupRun.get(id=run.id)
    assert closed.state == "closed" and closed.closed_at == NOW


async def test_an_answer_belongs_to_the_latest_run_of_each_stand_up_that_asked_its_author(database: str) -> None:
    """Of many stand-ups, only the runs that asked the person come back (the statement filters them), and of
    each stand-up only its latest run in the window, even when an earlier one asked and the latest did not."""
    _standup_row, run, li, han = await _standup()
    others = []
    for number in range(30):  # the organisation's other stand-ups: li is in every third, by id or as text
        group = await Group.create(platform="simulator", conversation_id=f"g{number}", created_at=NOW)
        asked = [han.id] + ([li.id if number % 2 else str(li.id)] if number % 3 == 0 else [])
        other = await Standup.create(group=group, participants=asked, created_at=NOW, updated_at=NOW)
        others.append(await StandupRun.create(standup=other, day=DAY, participants=asked, prompted_at=NOW, cutoff_at=NOW))
    later = DAY + timedelta(days=1)
    moved = await Standup.create(group=await Group.create(platform="simulator", conversation_id="moved", created_at=NOW), created_at=NOW, updated_at=NOW)
    await StandupRun.create(standup=moved, day=DAY, participants=[li.id], prompted_at=NOW - timedelta(hours=10), cutoff_at=NOW)
    await StandupRun.create(standup=moved, day=later, participants=[han.id], prompted_at=NOW, cutoff_at=NOW)

    async with db.transaction():
        mine = await store.current_runs(li.id, NOW + timedelta(minutes=5))
        hans = await store.current_runs(han.id, NOW + timedelta(minutes=5))
    expected = [run.id] + [r.id for n, r in enumerate(others) if n % 3 == 0]
    assert sorted(r.id for r in mine) == sorted(expected)
    assert all(r.standup.id == r.standup_id for r in mine)
    assert len(hans) == 32 and moved.id in {r.standup_id for r in hans}  # moved's latest run asked han only


async def test_answers_written_and_read_by_hand_are_the_orm_rows(database: str) -> None:
    _standup_row, run, li, han = await _standup()
    mine = StandupAnswer(run_id=run.id, person_id=li.id, status="answered", late=False, answered_at=NOW, updated_at=NOW,
                         yesterday="写规格", today="评审", blockers="等法务")
    async with db.transaction():
        assert await store.insert_answer(mine)
        again = StandupAnswer(run_id=run.id, person_id=li.id, status="answered", late=True, answered_at=NOW, updated_at=NOW)
        assert not await store.insert_answer(again)  # the other one's row stays, and the transaction is usable
        read = await store.answer_of(run.id, li.id)
    orm = await StandupAnswer.get(run_id=run.id, person_id=li.id)
    assert read is not None and mine.id == orm.id and _values(read) == _values(orm)
    assert orm.today == "评审" and orm.late is False and orm.edits == 0 and orm.answered_at == NOW
    read.today, read.late, read.edits, read.updated_at = "评审文案", True, 1, NOW + timedelta(minutes=3)
    await store.update_answer(read, ("today", "late", "edits", "updated_at"))
    orm = await StandupAnswer.get(id=orm.id)
    assert (orm.today, orm.late, orm.edits, orm.updated_at, orm.yesterday) == ("评审文案", True, 1, NOW + timedelta(minutes=3), "写规格")
    assert await store.answer_of(run.id, han.id) is None
    state = await store.run_state(run)
    assert list(state.answers) == [li.id] and state.answers[li.id].answered_at == NOW and state.answers[li.id].late is True
    assert {pid: (p.name, p.timezone) for pid, p in state.people.items()} == {li.id: ("李雷", "Europe/Berlin"), han.id: ("韩梅", None)}
    assert state.status(li.id) == "late" and state.status(han.id) == "leave"


async def test_open_subtasks_are_filtered_and_ordered_as_by_the_orm(database: str) -> None:
    _standup_row, run, li, han = await _standup()
    made = {}
    for code, state in (("XZB2026112301", "in_progress"), ("XZB2026112302", "completed")):
        collab = await Collaboration.create(
            code=code, title="物料", goal="按时", raised_on=DAY, deadline=date(2026, 12, 20), initiator=han, state=state, created_at=NOW
        )
        for n, (stage, deadline) in enumerate((("in_progress", date(2026, 12, 10)), ("done", date(2026, 12, 1)), ("not_started", date(2026, 12, 2))), 1):
            made[f"{code}-0{n}"] = await Subtask.create(
                code=f"{code}-0{n}", collaboration=collab, title="海报", owner=li, stage=stage, deadline=deadline, progress=10 * n,
                collaborators=[han.id], delivery_standard="300DPI", created_at=NOW, updated_at=NOW,
            )
    tasks = await store.open_subtasks(li.id)
    assert [t.code for t in tasks] == ["XZB2026112301-03", "XZB2026112301-01"]
    for task in tasks:
        assert _values(task) == _values(await Subtask.get(id=task.id))
    assert await store.open_subtasks(han.id) == []
    assert not await store.card_exists(f"standup:{run.id}:{li.id}")


async def test_previous_plan_is_the_last_answered_plan_before_the_day(database: str) -> None:
    standup, run, li, han = await _standup()
    earlier = {}
    for back, (status, today) in enumerate((("answered", ""), ("skipped", "跳过"), ("answered", "写文案"), ("answered", "更早")), 1):
        earlier[back] = await StandupRun.create(
            standup=standup, day=DAY - timedelta(days=back), participants=[li.id], prompted_at=NOW - timedelta(days=back), cutoff_at=NOW
        )
        await StandupAnswer.create(run=earlier[back], person=li, status=status, today=today, answered_at=NOW, updated_at=NOW)
    await StandupAnswer.create(run=run, person=li, status="answered", today="今天的", answered_at=NOW, updated_at=NOW)
    assert await store.previous_plan(li.id, DAY) == "写文案"
    assert await store.previous_plan(li.id, DAY + timedelta(days=1)) == "今天的"
    assert await store.previous_plan(li.id, DAY - timedelta(days=3)) == "更早"
    assert await store.previous_plan(han.id, DAY) == ""
