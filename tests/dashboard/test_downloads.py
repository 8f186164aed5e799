"""The dashboard hands out the tables as files: a collaboration's page and the archive (with its filters, all
pages) link to an Excel workbook and to the CSV files zipped, in the reader's language, within what the reader
may see. The chat's 导出 links its files there, so a chat that cannot take a file still leads to it."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from html import unescape
from typing import Any
from urllib.parse import unquote

import aiohttp
from openpyxl import load_workbook

from bot.app import App
from storage.models import Collaboration
from tests.dashboard.conftest import link_for, local
from tests.dashboard.seed import archived_collaborations, busy_collaboration
from tests.simclient import SimClient
from tests.workflows.helpers import ok


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, dict(response.headers), await response.read()


def download_links(app: App, html: bytes) -> dict[str, str]:
    """The page's download links by extension, pointed at the test server."""
    found = re.findall(r'<a class="download" href="([^"]+)" download>', html.decode())
    links = {}
    for href in found:
        path = unescape(href)
        links[path.split("?")[0].rsplit(".", 1)[1]] = f"http://127.0.0.1:{app.port}{path}"
    return links


def workbook(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def codes_in(sheet: list[tuple[Any, ...]]) -> list[str]:
    return [str(row[0]) for row in sheet[1:]]


def listed(data: bytes) -> list[str]:
    """The collaborations a workbook's first table (表1, one row each) lists, in the reader's language."""
    return codes_in(next(iter(workbook(data).values())))


async def test_a_collaboration_page_downloads_its_tables(dashboard: tuple[App, SimClient]) -> None:
    app, sim = dashboard
    code = await busy_collaboration(sim)
    collab = await Collaboration.get(code=code)
    status, _headers, html = await get(await link_for(app, "lilei", f"collab:{collab.id}"))
    assert status == 200 and "下载表格：" in html.decode()
    links = download_links(app, html)
    assert set(links) == {"xlsx", "zip"}

    status, headers, data = await get(links["xlsx"])
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert headers["Content-Disposition"] == f"attachment; filename=\"{code}.xlsx\"; filename*=UTF-8''{code}.xlsx"
    sheets = workbook(data)
    assert list(sheets)[:2] == ["表1 跨部门协作任务总表", "表2 任务执行进度跟踪表"]
    assert codes_in(sheets["表1 跨部门协作任务总表"]) == [code]
    assert any("素材晚到" in str(cell) for row in sheets["表2 任务执行进度跟踪表"] for cell in row)

    status, headers, data = await get(links["zip"])
    assert status == 200 and headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert f"{code} 表1 跨部门协作任务总表.csv" in names and all(name.endswith(".csv") for name in names)
        progress = archive.read(f"{code} 表2 任务执行进度跟踪表.csv").decode("utf-8-sig")
    assert "初稿" in progress and next(csv.reader(io.StringIO(progress)))[0] == "子任务编号"  # the header row, then the rows

    english = download_links(app, (await get(await link_for(app, "lilei", f"collab:{collab.id}", locale="en")))[2])
    assert next(iter(workbook((await get(english["xlsx"]))[2]))).startswith("Table 1")


async def test_the_archive_downloads_every_page_of_what_it_finds_and_only_what_the_reader_may_see(dashboard: tuple[App, SimClient]) -> None:
    app, sim = dashboard
    code = await busy_collaboration(sim)
    await archived_collaborations(130, "lilei")  # more than a page of results; 市场部's alone

    html = (await get(await link_for(app, "lilei", "archive") + "&status=archived"))[2]
    status, headers, data = await get(download_links(app, html)["xlsx"])
    assert status == 200
    assert "filename*=UTF-8''" + "协作助手导出" in unquote(headers["Content-Disposition"]).replace(" ", "")
    found = codes_in(workbook(data)["表1 跨部门协作任务总表"])
    assert len(found) == 130 and code not in found  # every page of the filter's results, and only those

    dated = download_links(app, (await get(await link_for(app, "lilei", "archive") + "&from=2021-01-01&to=2021-12-31"))[2])
    status, headers, data = await get(dated["xlsx"])
    assert "filename*=UTF-8''" + "协作助手导出 2021-01-01 至 2021-12-31.xlsx" in unquote(headers["Content-Disposition"])
    assert len(listed(data)) == 130  # the archived ones, raised in 2021; not the busy one of 2026

    everything = download_links(app, (await get(await link_for(app, "lilei", "archive")))[2])
    assert len(listed((await get(everything["xlsx"]))[2])) == 131

    # 研发部 was asked for the busy collaboration only: the archive it downloads holds that one
    theirs = download_links(app, (await get(await link_for(app, "anna", "archive")))[2])
    assert listed((await get(theirs["xlsx"]))[2]) == [code]

    # a link to one collaboration does not reach the archive's download, nor another collaboration's
    collab = await Collaboration.get(code=code)
    bearer = await link_for(app, None, f"collab:{collab.id}")
    assert (await get(bearer.replace(f"/collab/{collab.id}?", f"/collab/{collab.id}/tables.xlsx?")))[0] == 200
    assert (await get(bearer.replace(f"/collab/{collab.id}?", "/archive/tables.xlsx?")))[0] == 403
    other = await Collaboration.get(code="OLD1")
    assert (await get(bearer.replace(f"/collab/{collab.id}?", f"/collab/{other.id}/tables.xlsx?")))[0] == 403
    # a reversed date range is a clear refusal, not a file
    status, _headers, page = await get(await link_for(app, "lilei", "archive:tables.xlsx") + "&from=2026-12-31&to=2026-12-01")
    assert status == 400 and "请检查日期" in page.decode()


async def test_the_chats_export_links_its_files_to_the_download(dashboard: tuple[App, SimClient]) -> None:
    app, sim = dashboard
    code = await busy_collaboration(sim)
    await ok(await sim.say("lilei", f"导出 {code}", "launch"))
    await ok(await sim.say("lilei", "导出 全部 csv", "launch"))
    messages = await sim.messages(conversation="launch") + await sim.messages(person="lilei")  # 导出 全部 goes to them directly
    files = [m["content"] for m in messages if m["sender"] == "bot" and m["content"]["type"] == "file"]
    one = next(f for f in files if f["filename"] == f"{code}.xlsx")
    assert "/dashboard/collab/" in one["link"] and "/tables.xlsx?t=" in one["link"]
    status, _headers, data = await get(local(app, one["link"]))
    assert status == 200 and listed(data) == [code]
    await ok(await sim.say("lilei", "导出 全部 从：2026-11-01 到：12月31日", "launch"))
    ranged = [m["content"] for m in await sim.messages(person="lilei") if m["sender"] == "bot" and m["content"]["type"] == "file"][-1]
    assert ranged["filename"] == "协作助手导出 2026-11-01 至 2026-12-31.xlsx"
    assert "/dashboard/archive/tables.xlsx?t=" in ranged["link"] and ranged["link"].endswith("&from=2026-11-01&to=2026-12-31")
    status, headers, data = await get(local(app, ranged["link"]))
    assert status == 200 and listed(data) == [code] and "2026-11-01" in unquote(headers["Content-Disposition"])
    every = next(f for f in files if f["filename"].endswith(".csv"))
    assert "/dashboard/archive/tables.zip?t=" in every["link"]
    status, headers, data = await get(local(app, every["link"]))
    assert status == 200 and headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(f["filename"] for f in files if f["filename"].endswith(".csv"))
