"""The Bedrock rows of genai-prices come from a table made at refresh, not an import at start."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from costlib.cli import main as cli_main
from costlib.core.errors import CostlibError
from costlib.core.paths import GENAI_BEDROCK_CSV, PRICES_DIR
from costlib.tables import genai
from costlib.tables import prices as P

ROOT = Path(__file__).resolve().parents[1]


def test_committed_bedrock_table_is_what_the_pinned_genai_prices_gives(tmp_path):
    assert version("genai_prices") == genai.GENAI_PRICES_VERSION
    summary = genai.write_bedrock_table(tmp_path / "bedrock_genai_prices.csv")
    assert summary["skipped"] == []  # every price of the pinned snapshot has an as-of date
    made = (tmp_path / "bedrock_genai_prices.csv").read_text(encoding="utf-8")
    assert made == GENAI_BEDROCK_CSV.read_text(encoding="utf-8"), (
        "costlib/data/prices/imported/bedrock_genai_prices.csv is stale: run "
        "`costlib prices refresh --bedrock`")


def test_table_rows_equal_the_package_rows_but_for_where_they_were_read():
    table = P.imported_rows()
    package = genai.genai_bedrock_records()
    assert len(table) == len(package) > 450
    for mine, theirs in zip(table, package, strict=True):
        assert {k: v for k, v in mine.items() if k not in ("origin", "line")} == \
               {k: v for k, v in theirs.items() if k not in ("origin", "line")}
        assert mine["origin"].startswith(genai.IMPORT_ORIGIN)


def test_write_bedrock_table_reports_unchanged_and_writes_nothing_on_dry_run(tmp_path):
    target = tmp_path / "imported" / "t.csv"
    assert genai.write_bedrock_table(target, dry_run=True)["changed"] is True
    assert not target.exists()
    first = genai.write_bedrock_table(target)
    assert first["changed"] and target.exists() and first["rows"] == len(P.imported_rows())
    assert genai.write_bedrock_table(target)["changed"] is False
    assert P.read_price_rows(target)  # the table it writes is a valid price table


def test_write_bedrock_table_refuses_another_genai_prices_version(tmp_path, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9.9")
    with pytest.raises(CostlibError, match="genai-prices 9.9.9 is installed"):
        genai.write_bedrock_table(tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()


def test_cli_refresh_bedrock(tmp_path, capsys):
    assert cli_main(["prices", "refresh", "--bedrock", "--dry-run"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert cli_main(["prices", "refresh", "--bedrock", "--tables-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"rewrote {tmp_path / GENAI_BEDROCK_CSV.relative_to(PRICES_DIR)}" in out


def test_cli_refresh_needs_offer_or_bedrock(capsys):
    assert cli_main(["prices", "refresh"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error: ") and "--offer" in err and "--bedrock" in err
    assert len(err.strip().splitlines()) == 1


def test_estimate_path_does_not_import_genai_prices():
    code = ("import sys, io, contextlib\n"
            "from costlib.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['estimate', 'params/scenario_b_steady.yaml', '--json']) == 0\n"
            "assert 'costlib.tables.prices' in sys.modules\n"
            "assert 'genai_prices' not in sys.modules, 'genai_prices imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
