"""A collaboration around the 2026 National Day holiday, written straight into the tables.

Today is Friday 2026-10-09 (Shanghai). The calendar knows: 25 Sep and 1–7 Oct are public holidays, Saturday
10 Oct is a 调休 working day. Subtasks: 01 overdue (red), 02 on track (green, depends on 01), 03 done with
acceptance passed (grey, a milestone), 04 due soon (yellow: 10 Oct and 12 Oct are its two working days).
A second collaboration belongs to 研发部 alone: 刘洋 of 设计部 may not see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.delivery import localized
from bot.platform import Delivery
from bot.types import Conversation, FileContent
from storage.models import (
    AcceptanceRequest,
    AuditEntry,
    Collaboration,
    Department,
    Identity,
    Person,
    ProgressUpdate,
    RequestedDepartment,
    Subtask,
)
from storage.models_workflows import ChangeRequest, Improvement, Meeting, Minutes
from workflows.reports.access import with_fallback
from workflows.reports.exports import XLSX_MIME

TODAY = date(2026, 10, 9)
NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CODE = "XZB2026092401"
OTHER = "XZB2026092402"


def at(day: str, hm: str = "10:00") -> datetime:
    """A Shanghai wall-clock time as UTC."""
    hour, minute = (int(x) for x in hm.split(":"))
    local = datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00+08:00")
    return local.astimezone(UTC)


@dataclass
class World:
    collab: Collaboration
    other: Collaboration
    people: dict[str, Person]
    tasks: dict[str, Subtask]


async def seed(platform: str = "simulator") -> World:
    created = at("2026-09-24", "09:00")
    depts = {}
    for code, name in (("market", "市场部"), ("design", "设计部"), ("rd", "研发部")):  # the demo organisation's, if loaded
        depts[code] = await Department.get_or_none(code=code) or await Department.create(code=code, name=name)
    people = {}
    for handle, name, dept in (("lilei", "李雷", "market"), ("liuyang", "刘洋", "design"), ("chenjie", "陈杰", "rd"), ("wangfang", "王芳", "market"), ("zhaoqiang", "赵强", "rd")):
        person = await Person.get_or_none(handle=handle)
        if person is None:
            person = await Person.create(handle=handle, name=name, department=depts[dept], created_at=created)
            if not await Identity.exists(platform=platform, platform_user_id=handle):  # a configured person may hold it
                await Identity.create(person=person, platform=platform, platform_user_id=handle)
        people[handle] = person
    for code, head in (("market", "lilei"), ("design", "liuyang"), ("rd", "chenjie")):
        depts[code].head = people[head]
        await depts[code].save()
    collab = await Collaboration.create(
        code=CODE, title="国庆营销活动", goal="10月20日前上线活动落地页和3款海报", raised_on=date(2026, 9, 24),
        start_date=date(2026, 9, 24), deadline=date(2026, 10, 20), priority="high", deliverables="海报PSD，落地页",
        remarks="需符合品牌VI", initiator=people["lilei"], state="active", created_at=created,
    )
    for code in ("design", "rd"):
        await RequestedDepartment.create(collaboration=collab, department=depts[code], state="accepted", decided_by=depts[code].head, decided_at=created)
    tasks = {}
    for suffix, title, owner, start, deadline, stage, progress, depends in (
        ("01", "海报设计", "liuyang", date(2026, 9, 24), date(2026, 9, 30), "in_progress", 40, []),
        ("02", "落地页开发", "chenjie", date(2026, 9, 28), date(2026, 10, 20), "in_progress", 70, ["01"]),
        ("03", "素材准备", "chenjie", date(2026, 9, 24), date(2026, 9, 29), "done", 100, []),
        ("04", "文案定稿", "wangfang", date(2026, 10, 8), date(2026, 10, 12), "not_started", 0, []),
    ):
        tasks[suffix] = await Subtask.create(
            code=f"{CODE}-{suffix}", collaboration=collab, title=title, owner=people[owner], delivery_standard="300DPI",
            start_date=start, deadline=deadline, stage=stage, progress=progress, depends_on=depends,
            created_at=created, updated_at=at("2026-09-30"),
        )
    for suffix, day, stage, progress, done, problems, support, next_step in (
        ("01", "2026-09-28", "in_progress", 20, "初稿完成", "文案素材未提供", "请王芳补充文案", "修改海报细节"),
        ("01", "2026-09-30", "in_progress", 40, "主视觉定稿", "", "", "出三款延展"),
        ("02", "2026-09-29", "in_progress", 30, "页面框架", "", "", "接入接口"),
        ("02", "2026-10-08", "in_progress", 70, "接口联调", "测试环境不稳定", "", "提测"),
    ):
        await ProgressUpdate.create(
            subtask=tasks[suffix], author=tasks[suffix].owner, stage=stage, progress=progress, done=done, problems=problems,
            support=support, next_step=next_step, created_at=at(day),
        )
    await AcceptanceRequest.create(
        subtask=tasks["03"], attempt=1, submitted_by=people["chenjie"], submitted_at=at("2026-09-28"), state="passed",
        reviewer=people["lilei"], decided_at=at("2026-09-29", "15:00"),
    )
    await ChangeRequest.create(
        code=f"{CODE}-C1", collaboration=collab, requested_by=people["lilei"], reason="客户增加1支短视频", deadline_before=date(2026, 10, 16),
        deadline_after=date(2026, 10, 20), state="applied", decided_at=at("2026-09-30", "16:00"), created_at=at("2026-09-30"),
    )
    meeting = await Meeting.create(
        code="YH2026092401", collaboration=collab, organizer=people["lilei"], recorder=people["wangfang"], topic="活动启动会",
        starts_at=at("2026-09-24", "14:00"), form="online", attendees=[people["lilei"].id, people["liuyang"].id, people["chenjie"].id],
        agenda="1.需求同步 2.分工确认", minutes_due_at=at("2026-09-25", "14:00"), state="confirmed", created_at=created,
    )
    await Minutes.create(
        meeting=meeting, number=1, attendees=[people["lilei"].id, people["liuyang"].id], absentees=[{"person": people["chenjie"].id, "name": "陈杰", "reason": "出差"}],
        agenda="旧议程", conclusions="旧结论", recorder=people["wangfang"], state="superseded", submitted_at=at("2026-09-24", "16:00"),
    )
    await Minutes.create(
        meeting=meeting, number=2, attendees=[people["lilei"].id, people["liuyang"].id], absentees=[{"person": people["chenjie"].id, "name": "陈杰", "reason": "出差"}],
        agenda="1.需求同步 2.分工确认", conclusions="设计部负责主视觉", resolutions="9月30日前定稿", followups="无", recorder=people["wangfang"],
        state="confirmed", submitted_at=at("2026-09-24", "17:00"), confirmed_at=at("2026-09-24", "18:00"),
    )
    await Improvement.create(
        code=f"{CODE}-G1", collaboration=collab, problem="素材交付延迟", category="information", root_cause="文案无明确截止", measure="素材提交标准写进任务",
        owner=people["wangfang"], deadline=date(2026, 10, 30), status="in_progress", created_by=people["lilei"], created_at=at("2026-10-08"), updated_at=at("2026-10-08"),
    )
    for when, actor, action, subject, detail in (
        (at("2026-09-24", "09:00"), "lilei", "request.created", CODE, {"departments": ["design", "rd"]}),
        (at("2026-09-24", "09:30"), "liuyang", "request.accepted", CODE, {"department": "design"}),
        (at("2026-09-29", "15:00"), "lilei", "acceptance.passed", f"{CODE}-03", {"attempt": 1}),
    ):
        await AuditEntry.create(at=when, actor=people[actor], platform=platform, platform_user_id=actor, action=action, subject=subject, detail=detail)
    other = await Collaboration.create(
        code=OTHER, title="研发内部重构", goal="重构支付模块", raised_on=date(2026, 9, 24), deadline=date(2026, 10, 30),
        initiator=people["zhaoqiang"], state="active", created_at=created,
    )
    await RequestedDepartment.create(collaboration=other, department=depts["rd"], state="accepted", decided_by=people["chenjie"], decided_at=created)
    await Subtask.create(
        code=f"{OTHER}-01", collaboration=other, title="支付接口重构", owner=people["zhaoqiang"], delivery_standard="通过回归", deadline=date(2026, 10, 30),
        created_at=created, updated_at=created,
    )
    return World(collab, other, people, tasks)


async def grow(world: World, total: int = 500) -> None:
    """Make the plan ``total`` subtasks long (the four above plus more, spread over the three departments)."""
    owners = [world.people[h] for h in ("liuyang", "chenjie", "wangfang")]
    created = at("2026-09-24", "09:00")
    await Subtask.bulk_create(
        [
            Subtask(
                code=f"{CODE}-{n:03d}", collaboration_id=world.collab.id, title=f"物料延展第{n}项", owner_id=owners[n % 3].id,
                delivery_standard="按品牌VI", start_date=date(2026, 9, 24 + n % 6), deadline=date(2026, 10, 8 + n % 12),
                progress=(n * 7) % 100, stage="in_progress", created_at=created, updated_at=created,
            )
            for n in range(5, total + 1)
        ]
    )


def oversize_delivery(platform: str, conversation: str, megabytes: int, *, direct: bool = False, link: str | None = None) -> Delivery:
    """An export of ``megabytes`` MB to ``conversation``, as the outbox hands it to a platform: said by the
    workflow what to show when it is too large (``with_fallback``), localized for a Chinese reader."""
    data = bytes(megabytes * 1024 * 1024)
    file = with_fallback(FileContent(f"{CODE}.xlsx", XLSX_MIME, data, caption="协作导出", link=link))
    return Delivery(1, "oversize", "post", Conversation(platform, conversation, direct), localized(file, "zh_CN"), "zh_CN")


OVERSIZE_TEXT = "文件（XZB2026092401.xlsx，{size}.0 MB）超过了这个聊天能接收的大小：请逐个协作导出（“导出 XZB…”）"
