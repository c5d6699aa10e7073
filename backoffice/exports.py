"""Table exports: .xlsx (openpyxl write-only) and CSV with a BOM, streamed row by row.

The writers know nothing of Flask or of scope: they take Chinese column headers and an
iterator of rows (already read through the permission layer) and never hold more than
one row in memory. Every text cell that a spreadsheet would run as a formula (it starts
with ``= + - @``, a tab or a carriage return) is neutralised with a leading apostrophe;
numbers stay numbers.
"""

import csv
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # one sheet of Excel; further rows go on the next sheet
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
BOM = "\ufeff"
EXPORT_TYPES = ("xlsx", "csv")
PROGRESS_EVERY = 1000


def neutralise(value):
    """A cell value a spreadsheet shows as written: text that could start a formula
    gets a leading apostrophe; numbers, dates and empty cells pass through."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, Decimal, datetime, date)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _csv_text(value):
    value = neutralise(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return value


class _Echo:
    def write(self, value):
        return value


def iter_csv(headers, rows, progress=None):
    """CSV text chunks: a BOM (so Excel reads the Chinese as UTF-8), the header row,
    then one chunk per row."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([_csv_text(h) for h in headers])
    n = 0
    for row in rows:
        yield writer.writerow([_csv_text(v) for v in row])
        n += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    if progress is not None:
        progress(n)


def write_csv(stream, headers, rows, progress=None):
    """Write the CSV (UTF-8 with BOM) to a binary stream; returns the row count."""
    count = 0

    def counting(done):
        nonlocal count
        count = done
        if progress is not None:
            progress(done)

    for chunk in iter_csv(headers, rows, counting):
        stream.write(chunk.encode("utf-8"))
    return count


def write_xlsx(stream, headers, rows, progress=None, sheet_title="导出"):
    """Write an .xlsx workbook to a binary stream (or path) in openpyxl's write-only
    mode: rows go to a temporary file as they come, memory stays flat. Returns the row
    count. More rows than one sheet holds continue on a second sheet, headers repeated."""
    wb = Workbook(write_only=True)
    sheet_no, ws, on_sheet = 0, None, XLSX_MAX_ROWS
    header_cells = None
    n = 0
    for row in rows:
        if on_sheet >= XLSX_MAX_ROWS:
            sheet_no += 1
            ws = wb.create_sheet(sheet_title if sheet_no == 1 else f"{sheet_title}{sheet_no}")
            if header_cells is None:
                header_cells = list(headers)
            ws.append(header_cells)
            on_sheet = 1
        ws.append([neutralise(v) for v in row])
        on_sheet += 1
        n += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    if ws is None:  # no rows: a sheet with the headers only
        ws = wb.create_sheet(sheet_title)
        ws.append(list(headers))
    if progress is not None:
        progress(n)
    wb.save(stream)
    return n


def write(export_type, stream, headers, rows, progress=None):
    if export_type == "xlsx":
        return write_xlsx(stream, headers, rows, progress)
    if export_type == "csv":
        return write_csv(stream, headers, rows, progress)
    raise ValueError(export_type)


__all__ = ["EXPORT_TYPES", "neutralise", "iter_csv", "write", "write_csv", "write_xlsx"]
