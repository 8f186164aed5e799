"""Benchmark: a Gantt of 200 subtasks and an XLSX of 10,000 rows, each against a floor in the same run.

    python bench/bench_reports.py [--subtasks 200] [--rows 10000] [--repeat 5]

  * floor-figure — an empty matplotlib figure of the Gantt's size saved as PNG (what any chart costs);
  * gantt-200    — ``render_gantt`` of 200 bars on one image (dependencies, milestones, days off, today);
  * gantt-page   — the first page (40 bars) of the same plan, what the chat command posts;
  * floor-xlsx   — an empty workbook saved (what any XLSX costs);
  * xlsx-10000   — ``to_xlsx`` of 10,000 rows of 表2 (Chinese text, coloured status cells, widths fitted);
  * csv-10000    — ``to_csv`` of the same rows.
Pure rendering of data already loaded from the database (the database reads are the dispatch bench's
subject). It prints the best of ``--repeat`` runs, the targets and the ratios to the floors.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.figure import Figure
from openpyxl import Workbook

from bot.calendar import WorkCalendar
from workflows.reports.chartdata import Bar, GanttData
from workflows.reports.charts import render_gantt
from workflows.reports.exports import to_csv, to_xlsx
from workflows.reports.fonts import cjk_font_family
from workflows.reports.tables import Table

TODAY = date(2026, 10, 9)
COLOURS = ("red", "yellow", "green", "grey")
DEPARTMENTS = ("市场部", "设计部", "研发部", "运营部", "品牌部")


def gantt(count: int, calendar: WorkCalendar) -> GanttData:
    bars = []
    for i in range(count):
        start = date(2026, 9, 1) + timedelta(days=i % 40)
        bars.append(
            Bar(
                code=f"XZB2026090101-{i + 1:03d}", title=f"子任务{i + 1} 海报与落地页设计", owner="刘洋", department=DEPARTMENTS[i % 5],
                start=start, end=start + timedelta(days=3 + i % 9), progress=(i * 7) % 101, colour=COLOURS[i % 4], stage="in_progress",
                depends_on=[f"{i:03d}"] if i and i % 3 == 0 else [], milestone=start + timedelta(days=2) if i % 4 == 3 else None,
            )
        )
    bars.sort(key=lambda b: (b.department, b.start, b.end, b.code))
    first, last = min(b.start for b in bars) - timedelta(days=1), max(b.end for b in bars) + timedelta(days=1)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return GanttData("XZB2026090101", "国庆营销活动", TODAY, bars, [d for d in days if not calendar.is_working_day(d)], first, last, 1, 1, count)


def rows(count: int) -> Table:
    headers = ["子任务编号", "所属任务", "负责人", "当前阶段", "当前进度", "完成情况描述", "遇到的问题及障碍", "所需支持", "下一步计划", "更新时间"]
    body = [
        [f"XZB2026090101-{i:05d}", "国庆营销活动", "刘洋", "执行中", f"{i % 101}%", "海报初稿已完成，待市场部确认文案", "文案素材未提供", "请专员今日18点前补充", "根据文案修改海报细节", "2026-10-08 10:00"]
        for i in range(count)
    ]
    return Table("progress", "表2 任务执行进度跟踪表", headers, body, {(i, 3): COLOURS[i % 4] for i in range(0, count, 7)})


def best(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeat`` runs (CPU time is what the work costs on a shared,
    busy machine; wall time is what a user waits on an idle one)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def empty_figure(width: float, height: float) -> bytes:
    buffer = io.BytesIO()
    Figure(figsize=(width, height), dpi=100).savefig(buffer, format="png", dpi=100, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def empty_workbook() -> bytes:
    buffer = io.BytesIO()
    Workbook(write_only=True).save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subtasks", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    calendar = WorkCalendar("CN")
    cjk_font_family()
    plan = gantt(args.subtasks, calendar)
    page = GanttData(plan.code, plan.title, plan.today, plan.bars[:40], plan.non_working, plan.first_day, plan.last_day, 1, -(-args.subtasks // 40), args.subtasks)
    _png, layout = render_gantt(plan, "zh_CN")  # warm: fonts and caches
    table = rows(args.rows)
    results = {
        "floor-figure": best(lambda: empty_figure(layout.width / 100, layout.height / 100), args.repeat),
        f"gantt-{args.subtasks}": best(lambda: render_gantt(plan, "zh_CN"), args.repeat),
        "gantt-page": best(lambda: render_gantt(page, "zh_CN"), args.repeat),
        "floor-xlsx": best(empty_workbook, args.repeat),
        f"xlsx-{args.rows}": best(lambda: to_xlsx([table]), args.repeat),
        f"csv-{args.rows}": best(lambda: to_csv(table), args.repeat),
    }
    targets = {f"gantt-{args.subtasks}": 1.0, f"xlsx-{args.rows}": 2.0}
    floors = {"gantt": "floor-figure", "xlsx": "floor-xlsx", "csv": "floor-xlsx"}
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs; best of {args.repeat}")
    print(f"{'run':<14} {'wall':>9} {'cpu':>9} {'target':>8} {'cpu vs floor':>13}")
    for name, (wall, cpu) in results.items():
        floor = floors.get(name.split("-")[0])
        ratio = f"{cpu / results[floor][1]:.1f}×" if floor else ""
        target = f"< {targets[name]:.0f} s" if name in targets else ""
        verdict = ("met" if cpu < targets[name] else "MISSED") + (" (cpu)" if wall >= targets[name] > cpu else "") if name in targets else ""
        print(f"{name:<14} {wall * 1000:>6.0f} ms {cpu * 1000:>6.0f} ms {target:>8} {ratio:>13} {verdict}")
    print(f"gantt image: {layout.width}×{layout.height} px for {args.subtasks} bars")


if __name__ == "__main__":
    main()
