"""The documents' tables of the National Day fixture, as XLSX (opened with openpyxl) and CSV (the csv module)."""

from __future__ import annotations

import csv
import io

import openpyxl

from bot.calendar import WorkCalendar
from workflows.reports.export_commands import export_files
from workflows.reports.exports import FILLS, display_width, to_csv, to_xlsx
from workflows.reports.tables import build_tables

from .fixture import CODE, TODAY, seed

CALENDAR = WorkCalendar("CN")

ZH_HEADERS = {
    "表1 跨部门协作任务总表": ["任务编号", "任务名称", "发起部门", "发起人", "协作部门", "任务目标", "关键时间节点", "交付物清单", "优先级", "备注", "状态"],
    "表2 任务执行进度跟踪表": ["子任务编号", "所属任务", "负责人", "当前阶段", "当前进度", "完成情况描述", "遇到的问题及障碍", "所需支持", "下一步计划", "更新时间"],
    "表3 跨部门会议纪要表": ["会议编号", "会议主题", "会议时间", "会议形式", "参会部门及人员", "缺席人员及原因", "会议议程", "讨论内容及结论", "决议事项", "待跟进问题", "记录人"],
    "协作沟通记录表": ["沟通事项编号", "事项主题", "发起部门/人", "参与部门/人", "需求描述（目标、范围、时间）", "沟通方式", "关键结论/任务分配", "责任人", "截止时间", "当前状态", "备注", "记录时间", "平台账号"],
    "协作改进流程表": ["项目名称", "涉及部门", "问题描述", "责任部门/人", "协作目标", "改进措施", "时间节点", "完成状态", "备注"],
}
ZH_ROWS = {
    "表1 跨部门协作任务总表": [
        [CODE, "国庆营销活动", "市场部", "李雷", "设计部、研发部", "10月20日前上线活动落地页和3款海报", "发起：2026-09-24；启动：2026-09-24；截止时间：2026-10-20", "海报PSD，落地页", "高", "需符合品牌VI", "进行中"],
    ],
    "表2 任务执行进度跟踪表": [
        [f"{CODE}-01", "国庆营销活动", "刘洋", "执行中", "20%", "初稿完成", "文案素材未提供", "请王芳补充文案", "修改海报细节", "2026-09-28 10:00"],
        [f"{CODE}-01", "国庆营销活动", "刘洋", "执行中", "40%", "主视觉定稿", "", "", "出三款延展", "2026-09-30 10:00"],
        [f"{CODE}-02", "国庆营销活动", "陈杰", "执行中", "30%", "页面框架", "", "", "接入接口", "2026-09-29 10:00"],
        [f"{CODE}-02", "国庆营销活动", "陈杰", "执行中", "70%", "接口联调", "测试环境不稳定", "", "提测", "2026-10-08 10:00"],
        [f"{CODE}-03", "国庆营销活动", "陈杰", "已完成", "100%", "", "", "", "", "2026-09-30 10:00"],
        [f"{CODE}-04", "国庆营销活动", "王芳", "未开始", "0%", "", "", "", "", "2026-09-30 10:00"],
    ],
    "表3 跨部门会议纪要表": [
        ["YH2026092401", "活动启动会", "2026-09-24 14:00", "线上", "市场部：李雷；设计部：刘洋", "陈杰（出差）", "1.需求同步 2.分工确认", "设计部负责主视觉", "9月30日前定稿", "无", "王芳"],
    ],
    "协作改进流程表": [
        [f"{CODE} 国庆营销活动", "设计部、研发部", "素材交付延迟", "市场部/王芳", "10月20日前上线活动落地页和3款海报", "素材提交标准写进任务", "2026-10-30", "进行中", f"{CODE}-G1；信息传递；根本原因：文案无明确截止"],
    ],
}


async def tables_for(locale: str):
    world = await seed()
    return world, await build_tables([world.collab], locale=locale, tz="Asia/Shanghai", calendar=CALENDAR, today=TODAY)


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(sheet) -> list[list[str]]:
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


async def test_xlsx_holds_exactly_the_fixtures_rows_in_the_documents_columns_zh(database):
    _world, tables = await tables_for("zh_CN")
    book = workbook(to_xlsx(tables))
    assert book.sheetnames == list(ZH_HEADERS)
    for title, headers in ZH_HEADERS.items():
        sheet = book[title]
        rows = sheet_rows(sheet)
        assert rows[0] == headers, title
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.b
        if title in ZH_ROWS:
            assert rows[1:] == ZH_ROWS[title], title
    log = sheet_rows(book["协作沟通记录表"])[1:]
    assert [(r[0], r[1], r[2], r[5], r[6], r[11], r[12]) for r in log] == [
        (CODE, "发起了协作需求", "市场部/李雷", "模拟器", "设计部、研发部", "2026-09-24 09:00", "simulator:lilei"),
        (CODE, "代表本部门接受", "设计部/刘洋", "模拟器", "设计部", "2026-09-24 09:30", "simulator:liuyang"),
        (f"{CODE}-03", "验收通过", "市场部/李雷", "模拟器", "", "2026-09-29 15:00", "simulator:lilei"),
    ]  # department codes read as names: no code word reaches a Chinese reader


async def test_xlsx_status_cells_carry_the_boards_colours_and_widths_fit_chinese(database):
    _world, tables = await tables_for("zh_CN")
    sheet = workbook(to_xlsx(tables))["表2 任务执行进度跟踪表"]
    fills = {sheet.cell(row=r, column=1).value + f"@{r}": sheet.cell(row=r, column=4).fill.start_color.rgb for r in range(2, sheet.max_row + 1)}
    assert fills == {
        f"{CODE}-01@2": "00000000", f"{CODE}-01@3": "00F6C3BE",  # the latest row of the overdue subtask: red
        f"{CODE}-02@4": "00000000", f"{CODE}-02@5": "00BFE3C9",  # on track: green
        f"{CODE}-03@6": "00DADCE0",  # done: grey
        f"{CODE}-04@7": "00FDE4B0",  # due soon: yellow
    }
    assert sheet.column_dimensions["G"].width >= display_width("遇到的问题及障碍") == 16
    assert display_width("海报PSD") == 7


async def test_english_headers_and_values(database):
    _world, tables = await tables_for("en")
    book = workbook(to_xlsx(tables))
    assert book.sheetnames[:2] == ["Table 1 Cross-department collab", "Table 2 Task progress tracking"]
    first = sheet_rows(book.worksheets[0])
    assert first[0][:4] == ["Task ID", "Task name", "Initiating department", "Initiator"]
    assert first[1][4] == "设计部, 研发部" and first[1][8] == "high"  # typed names stay as typed, words are English
    assert sheet_rows(book.worksheets[1])[1][3] == "in progress"


async def test_csv_is_utf8_with_bom_and_holds_the_same_rows(database):
    _world, tables = await tables_for("zh_CN")
    for table in tables:
        data = to_csv(table)
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert rows[0] == ZH_HEADERS[table.title]
        if table.title in ZH_ROWS:
            assert rows[1:] == ZH_ROWS[table.title]


async def test_minutes_and_improvements_are_left_out_when_there_are_none(database):
    world = await seed()
    tables = await build_tables([world.other], locale="zh_CN", tz="Asia/Shanghai", calendar=CALENDAR, today=TODAY)
    assert [t.key for t in tables] == ["tasks", "progress", "communication"]


async def test_a_table_longer_than_a_sheet_goes_on_in_further_sheets_and_files_each_with_its_header(database):
    """Excel opens 1,048,576 rows of a sheet or a CSV file: a year's communication record of every collaboration
    can be longer. Here a sheet holds 4 rows: table 2 (6 rows, a coloured status cell each) fills two."""
    _world, tables = await tables_for("zh_CN")
    progress = next(t for t in tables if t.key == "progress")

    [xlsx] = await export_files(tables, "xlsx", CODE, "zh_CN", rows_per_sheet=4)
    book = workbook(xlsx.data)
    first, second = book["表2 任务执行进度跟踪表"], book["表2 任务执行进度跟踪表 (2)"]
    assert sheet_rows(first) == [ZH_HEADERS[progress.title], *ZH_ROWS[progress.title][:4]]
    assert sheet_rows(second) == [ZH_HEADERS[progress.title], *ZH_ROWS[progress.title][4:]]
    coloured = {(r, c) for (r, c) in progress.colours if r >= 4}
    assert coloured and all(second.cell(r - 4 + 2, c + 1).fill.start_color.rgb.endswith(FILLS[progress.colours[r, c]]) for r, c in coloured)

    files = await export_files(tables, "csv", CODE, "zh_CN", rows_per_sheet=4)
    names = [f.filename for f in files]
    assert f"{CODE} 表2 任务执行进度跟踪表.csv" in names and f"{CODE} 表2 任务执行进度跟踪表 (2).csv" in names
    halves = [f for f in files if f.filename.startswith(f"{CODE} 表2")]
    read = [list(csv.reader(io.StringIO(f.data.decode("utf-8-sig"), newline=""))) for f in halves]
    assert read == [[ZH_HEADERS[progress.title], *ZH_ROWS[progress.title][:4]], [ZH_HEADERS[progress.title], *ZH_ROWS[progress.title][4:]]]
    assert [f.caption is not None for f in files] == [True] + [False] * (len(files) - 1)


async def test_a_large_export_lets_the_event_loop_turn_while_it_reads(database):
    """A year's export reads and builds rows for seconds; the platforms' acknowledgements must go on meanwhile.
    SQLite answers a read without the event loop turning, so the tables read a batch of collaborations at a time
    and let the loop through between batches — counted here as the turns another task gets, not timed."""
    import asyncio

    from storage.models import Collaboration
    from tests.dashboard.seed import archived_collaborations
    from workflows.reports.tables import EXPORT_BATCH

    await seed()
    await archived_collaborations(6 * EXPORT_BATCH, "lilei")
    collabs = list(await Collaboration.all().order_by("id"))
    turns = 0
    done = False

    async def other_work() -> None:  # what an acknowledgement waiting for its turn would do
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = turns
    tables = await build_tables(collabs, locale="zh_CN", tz="Asia/Shanghai", calendar=CALENDAR, today=TODAY)
    done = True
    await other
    batches = -(-len(collabs) // EXPORT_BATCH)
    assert len(tables[0].rows) == len(collabs)
    assert turns - before >= 3 * batches  # at least once a batch in each of the three tables that read by batch
