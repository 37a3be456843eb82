"""Exports of ``costlib estimate``: FOCUS CSV rows (``--format focus``) and a workbook for
finance (``--format xlsx``).

* :func:`focus_csv_text` writes the rows of :func:`costlib.bill.focus.focus_rows` (FOCUS 1.2
  columns, then costlib's ``x_`` columns) as CSV; :func:`write_focus` writes them to a file with
  a sidecar ``<file>.metadata.json`` naming the FOCUS version, or to stdout.
* :func:`estimate_workbook` builds the workbook with openpyxl (a kept library: the xlsx is never
  written by hand): sheets ``totals`` (per option: monthly, floor, usage, per request, per 1k
  tokens, per unit when the params give a work unit), ``line items`` (quantity, unit, unit price,
  monthly, floor, source), ``prices used`` (each table row with its source and as-of), and
  ``assumptions`` (workload, work unit, prices in force and oldest as-of, warnings, the params
  file's text). Money is stored as numbers with a number format, never as text.

Every file is written atomically (a temporary file in the same folder, then a rename), so a
failed export never leaves half a file; a bad ``--out`` is a one-line error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from costlib.core.errors import CostlibError

__all__ = ["check_out", "atomic_write_bytes", "focus_csv_text", "write_focus",
           "estimate_workbook", "write_xlsx", "TOTALS_COLUMNS", "LINE_ITEM_COLUMNS"]

USD = '#,##0.00'
USD_FINE = '0.000000'
QTY = '#,##0.####'

TOTALS_COLUMNS = ("option", "kind", "monthly_usd", "floor_usd", "usage_usd", "usd_per_request",
                  "usd_per_1k_tokens", "usd_per_unit", "usd_per_unit_all_in")
LINE_ITEM_COLUMNS = ("option", "kind", "category", "item", "quantity", "unit", "unit_usd",
                     "monthly_usd", "floor_usd", "source")
_FORMATS = {"monthly_usd": USD, "floor_usd": USD, "usage_usd": USD, "usd_per_request": USD_FINE,
            "usd_per_1k_tokens": USD_FINE, "usd_per_unit": USD_FINE,
            "usd_per_unit_all_in": USD_FINE, "quantity": QTY, "unit_usd": '0.000000##'}


def check_out(out: str | Path, suffix: str, flag: str = "--out") -> Path:
    """The output path, checked: its folder exists and its name ends with ``suffix``."""
    path = Path(out)
    if path.suffix.lower() != suffix:
        raise CostlibError(f"{flag} {out}: the file name must end with {suffix}")
    if path.is_dir():
        raise CostlibError(f"{flag} {out}: is a folder; give a file name ending with {suffix}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CostlibError(f"{flag} {out}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CostlibError(f"{flag} {out}: folder {folder} is not writable")
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CostlibError(f"--out {path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# FOCUS


def focus_csv_text(rows: list[dict]) -> str:
    """FOCUS rows as CSV text: a header of the column names, null as an empty field."""
    from costlib.bill.focus import FOCUS_COLUMNS, X_COLUMNS

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(FOCUS_COLUMNS + X_COLUMNS), lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if v is None else (repr(v) if isinstance(v, float) else v))
                    for k, v in row.items()})
    return buf.getvalue()


def write_focus(result, out: str | Path | None, month=None) -> str | None:
    """FOCUS CSV of an estimate: to ``out`` (plus ``<out>.metadata.json``), or returned as text."""
    from costlib.bill.focus import focus_metadata, focus_rows

    text = focus_csv_text(focus_rows(result, month))
    if out is None:
        return text
    path = check_out(out, ".csv")
    atomic_write_bytes(path, text.encode("utf-8"))
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = focus_metadata(result, created)
    atomic_write_bytes(path.with_name(path.name + ".metadata.json"),
                       (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return None


# --------------------------------------------------------------------------------------------
# xlsx


def _sheet(wb, title: str, header, rows, formats=None):
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    formats = formats or {}
    for j, name in enumerate(header, start=1):
        fmt = formats.get(name)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
    ws.freeze_panes = "A2"
    return ws


def estimate_workbook(result, params_text: str | None = None):
    """An openpyxl workbook of an estimate: totals, line items, prices used, assumptions."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    cols = list(TOTALS_COLUMNS if result.work_unit is not None else TOTALS_COLUMNS[:7])
    totals = []
    for o in result.options:
        d = {"option": o.name, "kind": o.kind, "monthly_usd": o.monthly_usd,
             "floor_usd": o.floor_usd, "usage_usd": o.usage_usd,
             "usd_per_request": o.usd_per_request, "usd_per_1k_tokens": o.usd_per_1k_tokens,
             "usd_per_unit": o.usd_per_unit, "usd_per_unit_all_in": o.usd_per_unit_all_in}
        totals.append([d[c] for c in cols])
    ws = _sheet(wb, "totals", cols, totals, _FORMATS)
    ws.append([])
    ws.append([f"{result.title} (region {result.region}); USD per 730-hour month. floor_usd: paid "
               "in a month without requests; usage_usd = monthly_usd - floor_usd."])
    items = [[o.name, o.kind, li.category, li.item, float(li.quantity), li.unit,
              float(li.unit_usd), float(li.monthly_usd), float(li.floor_usd), li.source]
             for o in result.options for li in o.line_items]
    _sheet(wb, "line items", LINE_ITEM_COLUMNS, items, _FORMATS)
    prices = result.prices or {}
    used_cols = ["service", "name", "dimension", "region", "unit", "usd", "list_usd", "as_of",
                 "source", "overridden", "override"]
    _sheet(wb, "prices used", used_cols,
           [[r.get(c) for c in used_cols] for r in prices.get("used", [])])
    rows = [("title", result.title), ("region", result.region),
            ("month", "730 hours (AWS pricing-page convention)"), ("currency", "USD")]
    rows += [(f"workload.{k}", v) for k, v in result.workload.items()
             if isinstance(v, (int, float, str, bool)) or v is None]
    if result.work_unit is not None:
        rows += [(f"work_unit.{k}", v) for k, v in result.work_unit.items()
                 if isinstance(v, (int, float, str, bool))]
    rows += [("prices.in_force_on", prices.get("in_force_on")),
             ("prices.oldest_as_of", prices.get("oldest_as_of"))]
    rows += [("warning", w) for w in prices.get("warnings", [])]
    rows += [("overridden price", f"{r['service']}/{r['name']}/{r['dimension']} = {r['usd']:.6g} "
              f"(list {r['list_usd']:.6g}; {r['override']})") for r in prices.get("overridden", [])]
    if params_text is not None:
        rows += [("params file", line) for line in params_text.splitlines()]
    _sheet(wb, "assumptions", ("key", "value"), rows)
    return wb


def write_xlsx(result, out: str | Path, params_text: str | None = None) -> Path:
    """Write :func:`estimate_workbook` to ``out`` (``.xlsx``) atomically; returns the path."""
    path = check_out(out, ".xlsx")
    buf = io.BytesIO()
    estimate_workbook(result, params_text).save(buf)
    atomic_write_bytes(path, buf.getvalue())
    return path
