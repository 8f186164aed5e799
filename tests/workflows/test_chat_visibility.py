"""The chat's views keep to the dashboard's rule (workflows/common/visibility.py): another department's
collaboration is neither shown, nor listed, nor its record read; and a view goes where everyone may read it —
into a direct chat or a group the collaboration is shown in, else to the asker by direct message."""

from __future__ import annotations

from storage.models import Collaboration, Person, Subtask
from tests.core.harness import running
from tests.simclient import body_text
from tests.workflows.helpers import active_collaboration, add_subtask, bot_messages, ok
from workflows.common.visibility import can_see, visible_collaboration_ids
from workflows.reports.export_commands import collaborations_for
from workflows.reports.tables import _Text, improvements_table, minutes_table, progress_table, tasks_table
from workflows.retro.archive import ArchiveSearch, find_collaborations
from workflows.retro.health import health_matrix

DESIGN_ONLY = "新建协作\n标题：新品海报\n目标：12月18日前完成海报\n协作部门：设计部\n截止：2026-12-20\n交付物：海报"


async def test_another_departments_collaboration_stays_out_of_the_chat(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim, text=DESIGN_ONLY, heads=("liuyang",))
        await add_subtask(sim, code, "海报", "liuyang", "300DPI", "2026-12-10")
        await ok(await sim.say("lilei", f"变更申请 {code}\n原因：预算调整\n影响：无\n-01 截止：2026-12-11", "launch"))
        await ok(await sim.say("lilei", f"会议通知 {code}\n主题：评审会\n时间：2026-11-30 14:00\n参会人：刘洋\n记录人：刘洋", "launch"))
        await ok(await sim.say("liuyang", f"会议纪要 {code}-M01\n讨论内容及结论：海报定稿\n决议事项：按期交付", "launch"))
        await ok(await sim.say("lilei", f"会议通知 {code}\n主题：复盘会\n时间：2026-12-02 14:00\n参会人：刘洋\n记录人：刘洋", "launch"))

        # 研发部 takes no part: not shown, not in a list or a search, no record — each reader told in their language
        for person, command, refusal in (
            ("chenjie", f"查看 {code}", "你无权查看"), ("chenjie", f"待确认 {code}", "你无权查看"), ("anna", f"记录 {code}", "You cannot see"),
            ("chenjie", f"风险列表 {code}", "你无权查看"), ("chenjie", f"会议列表 {code}", "你无权查看"), ("chenjie", f"改进列表 {code}", "你无权查看"),
            ("chenjie", f"会议纪要 {code}-M01", f"你无权查看 {code}"), ("chenjie", f"会议纪要 {code}-M02", f"你无权查看 {code}"),
            ("chenjie", f"变更申请 {code}-C01", f"你无权查看 {code}"),
            ("chenjie", f"变更记录 {code}", "你无权查看"),
        ):
            response = await sim.say(person, command)
            assert response["ok"] and response["error"] and refusal in response["error"], response
            assert refusal in body_text((await bot_messages(sim, person=person))[-1])
        await ok(await sim.say("anna", "列表"))
        assert code not in body_text((await bot_messages(sim, person="anna"))[-1])
        await ok(await sim.say("chenjie", "搜索 新品海报"))  # nor found by the archive's search, by title or contents
        assert code not in body_text((await bot_messages(sim, person="chenjie"))[-1])
        await ok(await sim.say("hanmei", "搜索 新品海报"))
        assert code in body_text((await bot_messages(sim, person="hanmei"))[-1])

        # the initiator, in the collaboration's group: answered there; in another group: by direct message
        await ok(await sim.say("lilei", f"查看 {code}", "launch"))
        assert code in body_text((await bot_messages(sim, conversation="launch"))[-1])
        elsewhere = len(await bot_messages(sim, conversation="global"))
        await ok(await sim.say("lilei", f"查看 {code}", "global"))
        assert len(await bot_messages(sim, conversation="global")) == elsewhere
        assert code in body_text((await bot_messages(sim, person="lilei"))[-1])

        # 韩梅 (设计部, asked) in a group that does not show it: the board comes to her alone
        before = len(await bot_messages(sim, conversation="global"))
        await ok(await sim.say("hanmei", f"查看 {code}", "global"))
        assert len(await bot_messages(sim, conversation="global")) == before  # the group reads nothing of it
        note = (await bot_messages(sim, conversation="global", person="hanmei"))[-1]
        assert note["ephemeral"] and "direct message" in body_text(note) and code not in body_text(note)  # (the group reads English)
        assert code in body_text((await bot_messages(sim, person="hanmei"))[-1])
        await ok(await sim.say("hanmei", "列表", "global"))
        assert len(await bot_messages(sim, conversation="global")) == before
        assert code in body_text((await bot_messages(sim, person="hanmei"))[-1])
        await ok(await sim.say("hanmei", f"风险列表 {code}", "global"))  # the lists of its risks, meetings, improvements too
        assert len(await bot_messages(sim, conversation="global")) == before
        assert body_text((await bot_messages(sim, person="hanmei"))[-1]) == f"Risks of {code}\nNo risks reported."  # (she reads English)
        await ok(await sim.say("hanmei", f"会议纪要 {code}-M01", "global"))
        assert len(await bot_messages(sim, conversation="global")) == before
        assert "海报定稿" in body_text((await bot_messages(sim, person="hanmei"))[-1])
        await ok(await sim.say("hanmei", "搜索 新品海报", "global"))
        assert len(await bot_messages(sim, conversation="global")) == before
        assert code in body_text((await bot_messages(sim, person="hanmei"))[-1])

        # the admin sees everything
        await ok(await sim.say("zhaomin", f"记录 {code}"))
        assert code in body_text((await bot_messages(sim, person="zhaomin"))[-1])


async def test_one_collaborations_check_is_the_rule_of_the_whole_list(database_url, clock):
    """``can_see`` asks one statement what ``visible_collaboration_ids`` computes for all: the same answers."""
    async with running(database_url, clock) as (_app, sim):
        design = await active_collaboration(sim, text=DESIGN_ONLY, heads=("liuyang",))
        both = await active_collaboration(sim)
        task = await add_subtask(sim, both, "落地页", "anna", "可访问", "2026-12-10")
        anna = await Person.get(handle="anna")
        await Subtask.filter(code=task).update(collaborators=[str(anna.id)])  # a collaborator typed as text
        collaborations = await Collaboration.filter(code__in=[design, both])
        answers = 0
        for person in await Person.all():
            visible = await visible_collaboration_ids(person)
            for collab in collaborations:
                assert await can_see(person, collab.id) == (visible is None or collab.id in visible), (person.handle, collab.code)
                answers += 1
        assert answers == 2 * await Person.all().count()
        assert not await can_see(anna, collaborations[0].id if collaborations[0].code == design else collaborations[1].id)


async def test_a_person_who_may_read_tens_of_thousands_of_collaborations_gets_their_list(database):
    """One statement asks each collaboration the rule: no list of the ids found so far goes back to the database
    as parameters (PostgreSQL's driver refused more than 32,767 of them, and the list failed)."""
    from datetime import UTC, date, datetime

    from bot.calendar import WorkCalendar
    from storage import sql

    veteran = await Person.create(handle="veteran", name="老员工", created_at=datetime(2020, 1, 1, tzinfo=UTC))
    await sql.execute(
        'WITH RECURSIVE "n" ("i") AS (SELECT 1 UNION ALL SELECT "i" + 1 FROM "n" WHERE "i" < 33000) '
        'INSERT INTO "collaboration" ("code", "title", "background", "goal", "scope_in", "scope_out", "priority", '
        '"raised_on", "deadline", "deliverables", "remarks", "initiator_id", "state", "round", "subtask_seq", '
        '"version", "created_at") SELECT \'OLD\' || "i", \'archived\', \'\', \'x\', \'\', \'\', \'medium\', '
        "'2021-01-04', '2021-02-01', '', '', ?, 'archived', 1, 0, 1, '2021-01-04 00:00:00+00:00' FROM \"n\"",
        [veteran.id],
    )
    outsider = await Person.create(handle="newcomer", name="新同事", created_at=datetime(2026, 11, 1, tzinfo=UTC))

    visible = await visible_collaboration_ids(veteran)
    assert visible is not None and len(visible) == 33000
    assert await visible_collaboration_ids(outsider) == set()
    # and what is read within them: the archive's search, an export, the health matrix
    assert len(await find_collaborations(ArchiveSearch(within=visible, states=("archived",)))) == 33000
    everything = await collaborations_for(veteran)
    assert len(everything) == 33000
    text = _Text("zh_CN", "Asia/Shanghai")  # the export's tables that read by the collaborations' ids
    assert len((await tasks_table(everything, text)).rows) == 33000
    assert (await progress_table(everything, text, calendar=WorkCalendar(), today=date(2026, 11, 23), due_soon=2)).rows == []
    assert (await minutes_table(everything, text)).rows == (await improvements_table(everything, text)).rows == []
    assert await health_matrix(visible) == []  # no department: no pair
