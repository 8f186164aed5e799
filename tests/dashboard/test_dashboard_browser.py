"""The dashboard in headless Chromium: a signed link opens the board and its charts; expired, altered,
someone else's and out-of-sight links are refused with a clear page in the reader's language; screenshots
at desktop and phone width are saved as artifacts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.async_api import expect

from bot.app import App
from storage.models import Collaboration, Person
from tests.dashboard.conftest import ADMIN_TOKEN, artifact, link_for
from tests.dashboard.seed import archived_collaborations, busy_collaboration
from tests.simclient import SimClient
from tests.workflows.helpers import active_collaboration

expect.set_options(timeout=15_000)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
DESIGN_ONLY = "新建协作\n标题：设计部内部海报评审\n目标：评审海报\n协作部门：设计部\n截止：2026-12-20"


async def image_loaded(page: Any, selector: str) -> None:
    await page.locator(selector).scroll_into_view_if_needed()
    await page.wait_for_function(
        "s => { const img = document.querySelector(s); return img && img.complete && img.naturalWidth > 100; }", arg=selector
    )


async def test_a_signed_link_opens_the_board_with_its_charts_in_both_languages(dashboard: tuple[App, SimClient], page: Any) -> None:
    app, sim = dashboard
    code = await busy_collaboration(sim)
    collab = await Collaboration.get(code=code)
    url = await link_for(app, "lilei", f"collab:{collab.id}")

    response = await page.goto(url)
    assert response.status == 200
    await expect(page.locator("h1")).to_have_text("新品发布物料")
    await expect(page.locator(".state")).to_have_text("进行中")
    rows = page.locator("table.board tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_contain_text("主视觉海报")
    await expect(rows.nth(0).locator(".dot")).to_have_text("🟡")  # due in two working days
    await expect(rows.nth(1)).to_contain_text("已完成")  # the page passed its second acceptance
    await expect(rows.nth(0)).to_contain_text("韩梅")
    # the timeline speaks people's names and translated actions, never internal keys
    timeline = page.locator("ol.timeline")
    await expect(timeline).to_contain_text("李雷")
    await expect(timeline).to_contain_text("验收不通过")
    body = await page.locator("body").inner_text()
    for key in ("request.accepted", "acceptance.failed", "task.created", "in_progress", "design", "None"):
        assert key not in body, key
    await expect(page.locator("#minutes")).to_contain_text("今天补素材")
    reviews = page.locator("table.reviews tbody tr")
    await expect(reviews).to_have_count(2)
    await expect(reviews.nth(0)).to_contain_text("首屏加载慢")
    await expect(page.locator("#health table.health tbody tr")).to_have_count(2)  # 市场部 → 设计部, 市场部 → 研发部
    for selector in ("#gantt-1", "#burndown", "#heatmap"):
        await image_loaded(page, selector)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=artifact("board-desktop-zh.png"), full_page=True)

    await page.set_viewport_size(PHONE)
    await page.reload()
    await expect(rows.nth(0)).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
    await page.screenshot(path=artifact("board-phone-zh.png"), full_page=True)

    await page.set_viewport_size(DESKTOP)
    await page.locator("header nav").get_by_role("link", name="我的页面").click()
    await expect(page.locator("h1")).to_have_text("李雷")
    await expect(page.locator("#waiting")).to_contain_text(f"{code}-R01")  # the risk he must answer
    await page.screenshot(path=artifact("person-desktop-zh.png"), full_page=True)
    await page.go_back()
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("#board h2")).to_have_text("Board")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(rows.nth(0)).to_contain_text("in progress")
    for selector in ("#gantt-1", "#burndown", "#heatmap"):
        await image_loaded(page, selector)
    await page.screenshot(path=artifact("board-desktop-en.png"), full_page=True)


async def test_refused_links_get_a_clear_page_and_show_nothing_of_the_collaboration(dashboard: tuple[App, SimClient], page: Any) -> None:
    app, sim = dashboard
    code = await active_collaboration(sim)
    collab = await Collaboration.get(code=code)
    scope = f"collab:{collab.id}"

    expired = await link_for(app, "lilei", scope, now=app.clock.now() - timedelta(days=8))
    response = await page.goto(expired)
    assert response.status == 410
    await expect(page.locator("h1")).to_have_text("链接已过期")
    await expect(page.locator(".refusal")).to_contain_text("我的任务")
    await page.screenshot(path=artifact("refused-expired-zh.png"))
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=artifact("refused-expired-phone-zh.png"))
    await page.set_viewport_size(DESKTOP)

    good = await link_for(app, "lilei", scope)
    head, _, signature = good.rpartition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for altered in (f"{head}.{flipped}", good.replace(f"/collab/{collab.id}?", f"/collab/{collab.id + 1}?"), good.split("?")[0]):
        response = await page.goto(altered)
        assert response.status in (401, 403), altered
        await expect(page.locator("h1")).to_have_text("需要协作助手发出的链接" if "?" not in altered else "链接无效")
        assert "新品发布物料" not in await page.content()

    # the browser belongs to 韩梅 once she opened her own link; 李雷's link is not hers
    assert (await page.goto(await link_for(app, "hanmei", scope))).status == 200
    response = await page.goto(good)
    assert response.status == 403
    await expect(page.locator("h1")).to_have_text("这是发给其他人的链接")
    assert "新品发布物料" not in await page.content()

    # an English reader is refused in English
    anna_expired = await link_for(app, "anna", scope, now=app.clock.now() - timedelta(days=30))
    await page.context.clear_cookies()
    await page.goto(anna_expired)
    await expect(page.locator("h1")).to_have_text("This link has expired")
    await page.screenshot(path=artifact("refused-expired-en.png"))


async def test_what_a_person_may_not_see_stays_out_of_sight(dashboard: tuple[App, SimClient], page: Any) -> None:
    app, sim = dashboard
    code = await active_collaboration(sim, text=DESIGN_ONLY, heads=("liuyang",))
    collab = await Collaboration.get(code=code)

    response = await page.goto(await link_for(app, "chenjie", f"collab:{collab.id}"))  # 研发部 is not part of it
    assert response.status == 403
    await expect(page.locator("h1")).to_have_text("你无权查看此页面")
    assert "设计部内部海报评审" not in await page.content()

    response = await page.goto(await link_for(app, "chenjie", "collab:99999"))
    assert response.status == 404
    await expect(page.locator("h1")).to_have_text("未找到")

    await page.context.clear_cookies()
    await page.goto(await link_for(app, "anna", "archive"))  # 研发部 too: the archive does not list it
    await expect(page.locator("h2")).to_contain_text("0")
    assert code not in await page.content()
    await page.context.clear_cookies()
    await page.goto(await link_for(app, "hanmei", "archive"))  # 设计部 does see it
    await expect(page.locator("table.archive")).to_contain_text(code)


async def test_the_archive_pages_its_results_and_counts_them_all(dashboard: tuple[App, SimClient], page: Any) -> None:
    """250 collaborations: a hundred a page, the newest first, the badge counting all of them."""
    app, _sim = dashboard
    await archived_collaborations(250, "lilei")
    base = f"http://127.0.0.1:{app.port}/dashboard/archive?admin={ADMIN_TOKEN}"
    rows = page.locator("table.archive tbody tr")

    await page.goto(base)
    await expect(page.locator("h2 .badge")).to_have_text("250")
    await expect(rows).to_have_count(100)
    await expect(rows.first).to_contain_text("OLD250")
    await expect(page.locator(".card p.muted")).to_have_text("第 1–100 条，共 250 条，最新的在前")
    await expect(page.locator("nav.pager a[rel=prev]")).to_have_count(0)
    await page.locator("nav.pager a[rel=next]").click()
    await expect(rows.first).to_contain_text("OLD150")
    await expect(page.locator(".card p.muted")).to_have_text("第 101–200 条，共 250 条，最新的在前")
    await page.locator("nav.pager a[rel=next]").click()
    await expect(rows).to_have_count(50)
    await expect(rows.last).to_contain_text("OLD1")
    await expect(page.locator("nav.pager a[rel=next]")).to_have_count(0)
    await page.screenshot(path=artifact("archive-last-page-zh.png"), full_page=True)
    await page.locator("nav.pager a[rel=prev]").click()
    await expect(rows.first).to_contain_text("OLD150")

    await page.goto(f"{base}&page=99")  # past the last: the last
    await expect(page.locator(".card p.muted")).to_have_text("第 201–250 条，共 250 条，最新的在前")
    await page.goto(f"{base}&status=archived&q=往年")  # the filters stay on the pages' links
    await page.locator("nav.pager a[rel=next]").click()
    await expect(rows.first).to_contain_text("OLD150")
    await expect(page.locator("select[name=status]")).to_have_value("archived")

    lilei = await Person.get(handle="lilei")  # the person's page lists the newest hundred, the archive the rest
    await page.goto(await link_for(app, "lilei", f"person:{lilei.id}"))
    await expect(page.locator("h2 .badge")).to_have_text("250")
    await expect(page.locator("ul.items li", has_text="OLD")).to_have_count(100)
    await expect(page.locator("p.muted", has_text="这里只列出最新的 100 个。")).to_have_count(1)
    await page.get_by_role("link", name="在项目库中查看全部").click()
    await expect(page.locator("h2 .badge")).to_have_text("250")
    await expect(page.locator("select[name=person]")).to_have_value(str(lilei.id))


async def test_the_archive_filters_and_the_admin_token(dashboard: tuple[App, SimClient], page: Any) -> None:
    app, sim = dashboard
    first = await active_collaboration(sim)
    second = await active_collaboration(sim, text=DESIGN_ONLY, heads=("liuyang",))
    base = f"http://127.0.0.1:{app.port}/dashboard/archive"

    response = await page.goto(f"{base}?admin=wrong-token-0000000000")
    assert response.status == 401
    await page.goto(f"{base}?admin={ADMIN_TOKEN}")
    table = page.locator("table.archive tbody tr")
    await expect(table).to_have_count(2)
    await page.select_option("select[name=dept]", "rd")
    await page.get_by_role("button", name="搜索").click()
    await expect(table).to_have_count(1)
    await expect(table.first).to_contain_text(first)
    await page.screenshot(path=artifact("archive-desktop-zh.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=artifact("archive-phone-zh.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
    await page.fill("input[name=q]", "海报评审")
    await page.select_option("select[name=dept]", "")
    await page.get_by_role("button", name="搜索").click()
    await expect(table).to_have_count(1)
    await expect(table.first).to_contain_text(second)

    response = await page.goto(f"{base}?admin={ADMIN_TOKEN}&from=2026-13-45")
    assert response.status == 400
    await expect(page.locator(".error")).to_contain_text("请检查日期")

    await page.goto(f"{base}?admin={ADMIN_TOKEN}")
    await page.locator("table.archive a", has_text=first).click()
    await expect(page.locator("h1")).to_have_text("新品发布物料")
    await page.locator(".facts a", has_text="研发部").click()
    await expect(page.locator("h1")).to_have_text("研发部")
    await page.screenshot(path=artifact("department-desktop-zh.png"), full_page=True)
