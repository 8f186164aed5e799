"""Tables → files: CSV (UTF-8 with BOM, so Excel on Chinese Windows reads it) and XLSX (openpyxl).

XLSX: one sheet per table, the header row frozen and bold, column widths that fit Chinese text (a CJK
character is two columns wide), status cells filled with the board's colours.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable

import lxml  # noqa: F401  openpyxl streams rows through lxml when it is importable: several times faster
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .tables import Table

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILLS = {"red": "F6C3BE", "yellow": "FDE4B0", "green": "BFE3C9", "grey": "DADCE0"}
MAX_WIDTH = 60  # wider columns wrap instead
EXCEL_ROWS = 1_048_576  # the rows of a sheet Excel opens, the header's included
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: wide (CJK, full-width) characters count two."""
    longest = max(text.split("\n"), key=len) if "\n" in text else text
    return len(longest) if longest.isascii() else len(longest) + len(_WIDE.findall(longest))


def to_csv(table: Table) -> bytes:
    """One table as CSV, UTF-8 with a byte-order mark, CRLF line ends (what Excel expects)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    return buffer.getvalue().encode("utf-8-sig")


def sheet_title(title: str, taken: Iterable[str]) -> str:
    """A valid, unique sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    base = title.translate(_SHEET_FORBIDDEN).strip()[:31] or "Sheet"
    name, number = base, 2
    while name in set(taken):
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    return name


def parts(table: Table, rows: int = EXCEL_ROWS - 1) -> list[Table]:
    """``table`` in pieces of at most ``rows`` rows, each with the header: what Excel opens of one sheet or file."""
    if len(table.rows) <= rows:
        return [table]
    pieces = []
    for first in range(0, len(table.rows), rows):
        colours = {(r - first, c): colour for (r, c), colour in table.colours.items() if first <= r < first + rows}
        pieces.append(Table(table.key, table.title, table.headers, table.rows[first : first + rows], colours))
    return pieces


def to_xlsx(tables: list[Table], rows_per_sheet: int = EXCEL_ROWS - 1) -> bytes:
    """Every table as one sheet of a workbook (openpyxl's write-only mode: rows stream out, 10,000 rows stay fast);
    a table longer than a sheet holds goes on in further sheets, "title (2)"…"""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    fills = {name: PatternFill("solid", start_color=colour, end_color=colour) for name, colour in FILLS.items()}
    taken: list[str] = []
    for table in (part for whole in tables for part in parts(whole, rows_per_sheet)):
        taken.append(sheet_title(table.title, taken))
        sheet = workbook.create_sheet(taken[-1])
        widths = [display_width(h) for h in table.headers]
        for row in table.rows:
            for index, value in enumerate(row):
                if value:
                    widths[index] = max(widths[index], display_width(value))
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, width + 2)
        wrapped = {index for index, width in enumerate(widths) if width > MAX_WIDTH}
        sheet.freeze_panes = "A2"
        header = []
        for value in table.headers:
            cell = WriteOnlyCell(sheet, value)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        styled: dict[int, dict[int, str]] = defaultdict(dict)  # row → {column: colour}
        for (row_index, column_index), colour in table.colours.items():
            styled[row_index][column_index] = colour
        for row_index, row in enumerate(table.rows):
            if row_index not in styled and not wrapped:
                sheet.append(row)
                continue
            cells: list[object] = []
            for column_index, value in enumerate(row):
                fill = styled.get(row_index, {}).get(column_index)
                if fill is None and column_index not in wrapped:
                    cells.append(value)
                    continue
                cell = WriteOnlyCell(sheet, value)
                if fill is not None:
                    cell.fill = fills[fill]
                if column_index in wrapped:
                    cell.alignment = wrap
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
