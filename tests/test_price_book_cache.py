"""The checked price rows are built once and reused across processes; the book needs no pandas.

Figures are the fixture tables' (tests/fixtures/prices, each row with its source); the edits
below change a price only to see the cache notice it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.core import cache
from costlib.tables import prices as P


ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PRICES = ROOT / "tests" / "fixtures" / "prices"  # the same tables as conftest.FIXTURE_PRICES
TODAY = date(2026, 11, 27)


@pytest.fixture
def tables(tmp_path, monkeypatch):
    """A copy of the fixture tables, and a fresh cache directory; the process memo forgotten."""
    copy = tmp_path / "prices"
    shutil.copytree(FIXTURE_PRICES, copy)
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    P.clear_caches()
    yield copy
    P.clear_caches()


def _book(tables_dir, **settings):
    settings.setdefault("as_of", TODAY)
    return P.load_price_book(P.PriceSettings(**settings), tables_dir=tables_dir, genai_import=False)


def _entries(tmp_path) -> list[Path]:
    return sorted((tmp_path / "cache" / "prices").glob("rows-*.json"))


def test_first_load_stores_the_checked_rows(tables, tmp_path):
    book = _book(tables)
    (entry,) = _entries(tmp_path)
    doc = json.loads(entry.read_text(encoding="utf-8"))
    assert len(doc["value"]["rows"]) == len(book._rows)


def test_second_load_reads_the_cache_and_checks_nothing(tables, monkeypatch):
    first = _book(tables)
    P.clear_caches()  # a new process: nothing in memory, the entry on disk

    def refuse(rows):
        raise AssertionError("check_prices called although the cache holds the checked rows")

    monkeypatch.setattr(P, "check_prices", refuse)
    second = _book(tables)
    assert second._rows == first._rows
    assert second.usd("ec2", "g5.xlarge", "on_demand") == 1.006  # fixture ec2.csv (Karpenter)


def test_a_changed_table_invalidates_the_cache(tables):
    assert _book(tables).usd("ec2", "g5.xlarge", "on_demand") == 1.006
    path = tables / "ec2.csv"
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",1.006,", ",1.007,", 1), encoding="utf-8")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    P.clear_caches()
    assert _book(tables).usd("ec2", "g5.xlarge", "on_demand") == 1.007


def test_a_new_table_file_invalidates_the_cache(tables):
    with pytest.raises(Exception, match="unknown service 'extra'"):
        _book(tables).usd("extra", "x", "y")
    (tables / "extra.csv").write_text(
        "service,name,dimension,region,unit,usd,source,as_of,notes\n"
        "extra,x,y,us-east-1,usd_per_hour,2,https://example.org,2026-01-01,a test row\n",
        encoding="utf-8")
    P.clear_caches()
    assert _book(tables).usd("extra", "x", "y") == 2.0


def test_a_bad_edit_is_still_refused_after_a_cached_load(tables):
    _book(tables)
    path = tables / "ec2.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",1.006,", ",-1,", 1), encoding="utf-8")
    P.clear_caches()
    with pytest.raises(P.CostlibError, match="non-negative"):
        _book(tables)


@pytest.mark.parametrize("damage", ["{not json", '{"key": "x", "value": 1}', ""])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(tables, tmp_path, damage):
    first = _book(tables)
    (entry,) = _entries(tmp_path)
    entry.write_text(damage, encoding="utf-8")
    P.clear_caches()
    assert _book(tables)._rows == first._rows
    json.loads(entry.read_text(encoding="utf-8"))  # written again, whole


def test_a_cache_entry_with_the_right_key_but_bad_rows_is_rebuilt(tables, tmp_path):
    first = _book(tables)
    (entry,) = _entries(tmp_path)
    doc = json.loads(entry.read_text(encoding="utf-8"))
    doc["value"]["rows"] = [["too", "short"]]
    entry.write_text(json.dumps(doc), encoding="utf-8")
    P.clear_caches()
    assert _book(tables)._rows == first._rows


def test_an_unwritable_cache_dir_still_prices(tables, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "cache"))
    assert _book(tables).usd("ec2", "g5.xlarge", "on_demand") == 1.006
    monkeypatch.setenv(cache.ENV_OFF, "1")
    P.clear_caches()
    assert _book(tables).usd("ec2", "g5.xlarge", "on_demand") == 1.006


def test_cached_rows_give_the_same_book_as_a_fresh_build(tables):
    built, superseded = P._build_base_rows(tables, False)
    P.clear_caches()
    _book(tables)
    P.clear_caches()
    cached, cached_superseded = P._base_rows(tables, False)  # read back from disk
    assert list(cached) == built and list(cached_superseded) == superseded
    assert {type(r["as_of"]) for r in cached} == {date}


def test_overrides_and_discounts_apply_on_top_of_cached_rows(tables, tmp_path):
    # the fixture's Llama 3.1 8B price is 0.22 (genai-prices 0.2.3); 0.1 is the override's own figure
    over = tmp_path / "over.csv"
    over.write_text(
        "service,name,dimension,region,unit,usd,source,as_of,notes\n"
        "bedrock,meta.llama3-1-8b-instruct-v1:0,input,us-east-1,usd_per_1m_tokens,0.1,"
        "https://example.org/quote,2026-01-01,negotiated\n", encoding="utf-8")
    _book(tables)
    P.clear_caches()
    book = _book(tables, overrides_file=str(over), discounts_pct={"bedrock": 10})
    row = book.row("bedrock", "meta.llama3-1-8b-instruct-v1:0", "input")
    assert_allclose([row["usd"], row["list_usd"]], [0.09, 0.22])
    assert row["override"] == "override file over.csv; 10% discount"
    assert book.usd("bedrock", "meta.llama3-1-8b-instruct-v1:0", "output") == pytest.approx(0.22 * 0.9)


# --- the pandas-free book ------------------------------------------------------------------


def test_tiers_match_the_table_rows():
    book = P.load_price_book(P.PriceSettings(as_of=TODAY))
    t = book.table()
    for service, name, dim in [("data_transfer", "internet", "out"), ("ec2", "p5.48xlarge", "on_demand")]:
        mine = t[(t["service"] == service) & (t["name"] == name) & (t["dimension"] == dim)
                 & (t["region"] == book.region)].sort_values("tier_start")
        tiers = book.tiers(service, name, dim)
        assert [r["usd"] for r in tiers] == list(mine["usd"])
        assert [r["tier_start"] for r in tiers] == list(mine["tier_start"])
        assert [r["source"] for r in tiers] == list(mine["source"])
        assert all(isinstance(r["as_of"], date) for r in tiers)


def test_used_records_match_used():
    book = P.load_price_book(P.PriceSettings(as_of=TODAY))
    book.usd("ec2", "p5.48xlarge", "on_demand")
    book.tiered_usd("data_transfer", "internet", "out", 20_000.0)
    book.row("bedrock", "meta.llama3-1-8b-instruct-v1:0", "input")
    records = book.used_records()
    frame = book.used()[list(P.USED_COLUMNS)].to_dict("records")
    assert records == frame
    assert list(records[0]) == list(P.USED_COLUMNS)
    assert book.oldest_as_of_used() == min(r["as_of"] for r in records)


def test_tiered_usd_of_an_array_is_the_tiered_usd_of_each_quantity():
    book = P.load_price_book(P.PriceSettings(as_of=TODAY))
    q = np.array([0.0, 5.0, 100.0, 10_340.0, 60_000.0])
    each = [book.tiered_usd("data_transfer", "internet", "out", float(x)) for x in q]
    got = book.tiered_usd("data_transfer", "internet", "out", q)
    assert isinstance(got, np.ndarray) and got.shape == q.shape
    assert_allclose(got, each, rtol=0, atol=0)
    assert isinstance(each[1], float)


def test_price_book_works_without_pandas():
    code = """
import sys
import numpy as np
from costlib.tables.prices import PriceSettings, load_price_book
book = load_price_book(PriceSettings())
assert book.usd("ec2", "p5.48xlarge", "on_demand") > 0
book.row("bedrock", "meta.llama3-1-8b-instruct-v1:0", "input")
book.tiers("data_transfer", "internet", "out")
book.tiered_usd("data_transfer", "internet", "out", np.array([1.0, 20000.0]))
book.tiered_usd("data_transfer", "internet", "out", 3.0)
assert book.has("ec2", "p5.48xlarge", "on_demand") and book.names("ec2")
book.used_records(); book.oldest_as_of_used(); book.stale_warnings(); book.summary_lines()
print(book.as_of, book.region)
bad = [m for m in ("pandas", "genai_prices") if m in sys.modules]
assert not bad, bad
"""
    for _ in range(2):  # the first run builds the cached rows, the second reads them
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
