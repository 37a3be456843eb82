"""Every data row says where it comes from and how old its source is.

Reads the files under costlib/data with the standard library only (csv, yaml, pathlib): no
network, no costlib import, so the checks hold whatever the package layout.
"""

import csv
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[1] / "costlib" / "data"
README = DATA / "README.md"

#: The day the as-of dates were last checked; no source can be dated after it.
CHECKED_ON = date(2026, 12, 2)

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DAY_OR_MONTH = re.compile(r"\d{4}-\d{2}(-\d{2})?")

HARDWARE_TABLES = ("gpus.csv", "models.csv", "instances.csv", "benchmarks.csv")
PRICE_TABLES = sorted(p.relative_to(DATA).as_posix() for p in (DATA / "prices").glob("*.csv"))
PRICE_META_TABLES = sorted(p.relative_to(DATA).as_posix() for p in (DATA / "prices" / "meta").glob("*.csv"))
PRICE_COLUMNS = ("service", "name", "dimension", "region", "unit", "usd", "source", "as_of", "notes")


def _rows(relpath: str) -> list[dict]:
    with open(DATA / relpath, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _as_of_problem(value, *, pattern=ISO_DAY_OR_MONTH) -> str | None:
    """Why an as_of value is not acceptable, or None when it is."""
    text = value.isoformat() if isinstance(value, date) else str(value or "").strip()
    if not pattern.fullmatch(text):
        return f"as_of {text!r} is not ISO {'YYYY-MM-DD' if pattern is ISO_DAY else 'YYYY-MM or YYYY-MM-DD'}"
    year, month, *day = (int(x) for x in text.split("-"))
    try:
        first_possible = date(year, month, day[0] if day else 1)
    except ValueError:
        return f"as_of {text!r} is not a calendar date"
    if first_possible > CHECKED_ON:
        return f"as_of {text!r} is later than {CHECKED_ON}"
    return None


def _source_problem(value) -> str | None:
    text = str(value or "").strip()
    return None if text.startswith("http") else f"source {text!r} is not a URL"


def _problems(rows: list[dict], key_columns, *, pattern=ISO_DAY_OR_MONTH) -> list[str]:
    out = []
    for line, row in enumerate(rows, start=2):
        for problem in (_source_problem(row.get("source")), _as_of_problem(row.get("as_of"), pattern=pattern)):
            if problem:
                key = "/".join(str(row.get(c, "")) for c in key_columns)
                out.append(f"line {line} {key}: {problem}")
    return out


@pytest.mark.parametrize("table", HARDWARE_TABLES)
def test_every_hardware_row_has_a_source_url_and_an_iso_as_of_date(table):
    rows = _rows(table)
    assert rows, f"{table} has no rows"
    key = list(rows[0])[:2]
    assert _problems(rows, key) == [], table


def test_no_hardware_row_is_left_undated():
    left = [f"{t}: {r}" for t in HARDWARE_TABLES for r in _rows(t) if r["as_of"].strip().lower() == "undated"]
    assert left == []


def test_price_tables_were_found():
    assert PRICE_TABLES, "no price tables under costlib/data/prices"
    assert PRICE_META_TABLES, "no price meta tables under costlib/data/prices/meta"


@pytest.mark.parametrize("table", PRICE_TABLES)
def test_every_price_row_has_a_source_url_and_an_iso_as_of_day(table):
    rows = _rows(table)
    assert rows, f"{table} has no rows"
    missing = [c for c in PRICE_COLUMNS if c not in rows[0]]
    assert missing == [], f"{table} lacks columns {missing}"
    assert _problems(rows, ("service", "name", "dimension", "region"), pattern=ISO_DAY) == [], table


@pytest.mark.parametrize("table", PRICE_META_TABLES)
def test_every_price_meta_row_has_a_source_url_and_an_iso_as_of_day(table):
    rows = _rows(table)
    assert rows, f"{table} has no rows"
    key = list(rows[0])[:2]
    assert _problems(rows, key, pattern=ISO_DAY) == [], table


def test_every_sourced_engine_default_has_a_source_url_and_an_iso_as_of_date():
    doc = yaml.safe_load((DATA / "engines.yaml").read_text(encoding="utf-8"))
    problems, seen = [], 0
    for name, profile in doc["profiles"].items():
        for key, entry in profile.items():
            if not isinstance(entry, dict) or "source" not in entry:
                continue
            seen += 1
            for problem in (_source_problem(entry.get("source")), _as_of_problem(entry.get("as_of"))):
                if problem:
                    problems.append(f"profiles.{name}.{key}: {problem}")
    assert seen, "engines.yaml has no sourced entries"
    assert problems == []


def test_an_as_of_date_after_the_check_day_is_refused():
    assert _as_of_problem("2027-01-01") is not None
    assert _as_of_problem("2026-12") is None
    assert _as_of_problem("2026-12-02") is None
    assert _as_of_problem("undated") is not None
    assert _as_of_problem("2026-13") is not None
    assert _as_of_problem("2026-12", pattern=ISO_DAY) is not None


def test_data_readme_describes_every_data_file():
    text = README.read_text(encoding="utf-8")
    files = sorted(
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".yaml", ".yml", ".json") and "__pycache__" not in p.parts
    )
    assert files, "no data files found"
    missing = [f for f in files if f not in text]
    assert missing == [], f"costlib/data/README.md does not mention {missing}"


def test_data_readme_states_the_units_and_dating_conventions():
    text = README.read_text(encoding="utf-8")
    for phrase in ("730 hours", "USD", "2**30", "as_of", "page carries no date; as_of is the date it was read"):
        assert phrase in text, phrase


def test_every_data_file_is_a_named_table():
    from costlib.tables import TABLES

    files = {p for p in DATA.rglob("*") if p.suffix in (".csv", ".yaml")}
    assert files == set(TABLES.values())


def test_an_unknown_table_name_lists_the_closest_valid_names():
    import pytest

    from costlib.core.errors import CostlibError
    from costlib.tables import read_table

    with pytest.raises(CostlibError, match=r"unknown table 'prices/ec3'; closest valid: prices/ec2"):
        read_table("prices/ec3")
    assert list(read_table("prices/ec2").columns)[:3] == ["service", "name", "dimension"]
