"""The charts of the National Day fixture, looked at pixel by pixel."""

from __future__ import annotations

import io
from datetime import date

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from PIL import Image

from bot.calendar import WorkCalendar
from workflows.reports.chartdata import burndown_data, gantt_data
from workflows.reports.charts import SOLID, burndown_png, gantt_png, render_burndown, render_gantt
from workflows.reports.fonts import FALLBACK, cjk_font_family

from .fixture import CODE, TODAY, seed

CALENDAR = WorkCalendar("CN")
TZ = "Asia/Shanghai"


def pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.format is None or image.format == "PNG"
    return image


def text_image(text: str, family: str) -> bytes:
    figure = Figure(figsize=(3, 0.8), dpi=100)
    figure.text(0.05, 0.3, text, fontsize=20, family=family)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the point of the comparison
def test_chinese_renders_with_a_cjk_font_not_as_boxes():
    family = cjk_font_family()
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert "CJK" in family or "Hei" in family or "Han" in family, family
    # The font that lacks the glyphs draws every unknown character as the same box: two different
    # words give the same picture. The CJK font draws each character: the pictures differ.
    boxes = (text_image("甘特图", FALLBACK), text_image("燃尽表", FALLBACK))
    glyphs = (text_image("甘特图", family), text_image("燃尽表", family))
    assert boxes[0] == boxes[1], "the fallback font unexpectedly has CJK glyphs: the comparison proves nothing"
    assert glyphs[0] != glyphs[1], f"{family} ({path}) drew the same picture for different characters"
    assert glyphs[0] != boxes[0]


def is_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 180 and g < 110 and b < 110


def is_shaded(rgb: tuple[int, int, int]) -> bool:
    return all(200 <= c <= 240 for c in rgb) and max(rgb) - min(rgb) < 12


def is_white(rgb: tuple[int, int, int]) -> bool:
    return all(c >= 250 for c in rgb)


async def test_gantt_colours_bars_and_shades_holidays_not_tiaoxiu_saturdays(database):
    world = await seed()
    data = await gantt_data(world.collab, calendar=CALENDAR, today=TODAY, tz=TZ, due_soon=2)
    colours = {bar.code.rsplit("-", 1)[1]: bar.colour for bar in data.bars}
    assert colours == {"01": "red", "02": "green", "03": "grey", "04": "yellow"}
    assert [b.milestone for b in data.bars if b.milestone] == [date(2026, 9, 29)]
    png, layout = render_gantt(data, "zh_CN")
    image = pixels(png)
    assert image.size == (layout.width, layout.height)

    # the overdue bar: solid red where its 40% progress is filled, tinted red after it
    start, _end = layout.bar_x[f"{CODE}-01"]
    y = layout.bar_y[f"{CODE}-01"]
    assert is_red(image.getpixel((start + 3, y))), image.getpixel((start + 3, y))
    assert image.getpixel((start + 3, y)) == tuple(int(SOLID["red"][i : i + 2], 16) for i in (1, 3, 5))
    green_start, _end = layout.bar_x[f"{CODE}-02"]
    assert not is_red(image.getpixel((green_start + 3, layout.bar_y[f"{CODE}-02"])))

    # a row without bars shows the calendar: holidays and Sundays shaded, the 调休 Saturday a working day
    row = layout.blank_y[0]
    assert is_shaded(image.getpixel((layout.day_x[date(2026, 10, 1)], row))), "National Day is not shaded"
    assert is_shaded(image.getpixel((layout.day_x[date(2026, 9, 25)], row))), "Mid-Autumn Festival (a Friday) is not shaded"
    assert is_shaded(image.getpixel((layout.day_x[date(2026, 10, 11)], row))), "a Sunday is not shaded"
    assert is_white(image.getpixel((layout.day_x[date(2026, 10, 10)], row))), "the 调休 working Saturday is shaded"
    assert is_white(image.getpixel((layout.day_x[date(2026, 10, 8)], row))), "a working Thursday is shaded"
    assert not CALENDAR.is_working_day(date(2026, 10, 1)) and CALENDAR.is_working_day(date(2026, 10, 10))


async def test_gantt_png_for_the_dashboard_in_both_languages(database):
    world = await seed()
    zh = await gantt_png(world.collab.id, locale="zh_CN", calendar=CALENDAR, today=TODAY)
    en = await gantt_png(world.collab.id, locale="en", calendar=CALENDAR, today=TODAY)
    assert zh.startswith(b"\x89PNG") and en.startswith(b"\x89PNG")
    assert zh != en  # the labels differ


async def test_a_long_plan_is_paged_by_department(database):
    world = await seed()
    first = await gantt_data(world.collab, calendar=CALENDAR, today=TODAY, tz=TZ, due_soon=2, page=1, page_size=3)
    second = await gantt_data(world.collab, calendar=CALENDAR, today=TODAY, tz=TZ, due_soon=2, page=2, page_size=3)
    assert (first.pages, first.total, len(first.bars), len(second.bars)) == (2, 4, 3, 1)
    assert [b.department for b in first.bars + second.bars] == ["市场部", "研发部", "研发部", "设计部"]
    png, _layout = render_gantt(second, "zh_CN")
    assert png.startswith(b"\x89PNG")


async def test_burndown_follows_the_progress_history_and_marks_the_change(database):
    world = await seed()
    data = await burndown_data(world.collab, calendar=CALENDAR, today=TODAY, tz=TZ)
    assert data.days[0] == date(2026, 9, 24)
    assert date(2026, 10, 1) not in data.days and date(2026, 10, 10) in data.days  # working days only, 调休 included
    by_day = dict(zip(data.days, data.remaining_tasks, strict=True))
    work = dict(zip(data.days, data.remaining_work, strict=True))
    assert by_day[date(2026, 9, 28)] == 4 and by_day[date(2026, 9, 29)] == 3  # 03 passed acceptance on 29 Sep
    assert work[date(2026, 9, 28)] == 0.8 + 1 + 1 + 1  # 01 reported 20%, 02 and 04 nothing yet, 03 still open
    assert work[TODAY] == round(0.6 + 0.3 + 1, 2)  # 01 at 40%, 02 at 70%, 04 untouched
    assert by_day[date(2026, 10, 12)] is None  # the future is not drawn
    assert data.ideal[0] == 4 and data.ideal[data.days.index(date(2026, 10, 20))] == 0
    assert data.changes == [(date(2026, 9, 30), f"{CODE}-C1")]
    png, _layout = render_burndown(data, "zh_CN")
    assert png.startswith(b"\x89PNG")
    assert (await burndown_png(world.collab.id, locale="en", calendar=CALENDAR, today=TODAY)).startswith(b"\x89PNG")
