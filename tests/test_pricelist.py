"""Tests of costlib.tables.pricelist against small AWS Price List offer excerpts (no network).

Expected values are read by hand from tests/fixtures/pricelist/*.json.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from costlib.tables import prices as P
from costlib.core.errors import CostlibError
from costlib.tables.pricelist import parse_offer, refresh
from costlib.cli.prices import main as cli_main

FIXTURES = Path(__file__).parent / "fixtures" / "pricelist"
OFFER = FIXTURES / "amazonec2_us-east-1_us-west-2_excerpt.json"
BAD_OFFER = FIXTURES / "bad_offer_non_numeric_price.json"
PUBLISHED = date(2026, 7, 20)  # "publicationDate" : "2026-07-20T13:44:30Z"


@pytest.fixture
def tables(tmp_path):
    """A copy of the price tables to refresh."""
    out = tmp_path / "prices"
    out.mkdir()
    for f in P.table_files():
        shutil.copy(f, out / f.name)
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_parse_offer_fixture_rows():
    df = parse_offer(OFFER)
    got = {(r.service, r.name, r.dimension, r.region): (r.unit, r.usd) for r in df.itertuples()}
    # read by hand from the fixture:
    #   FXP4D24XLUSE1LNX p4d.24xlarge Linux Shared Used us-east-1: "USD" : "21.9576420000", unit Hrs
    #   FXG5XLARGEUSE1LX g5.xlarge us-east-1: "1.0060000000" Hrs; FXG5XLARGEUSW2LX g5.xlarge "US West (Oregon)": "1.0060000000"
    #   FXGP3STORAGEUSE1 Storage gp3 us-east-1: "0.0800000000" GB-Mo
    #   FXG5XLARGEUSE1AC capacitystatus AllocatedCapacityReservation: not an on-demand price
    assert got == {
        ("ec2", "p4d.24xlarge", "on_demand", "us-east-1"): ("usd_per_hour", 21.957642),
        ("ec2", "g5.xlarge", "on_demand", "us-east-1"): ("usd_per_hour", 1.006),
        ("ec2", "g5.xlarge", "on_demand", "us-west-2"): ("usd_per_hour", 1.006),
        ("ebs", "gp3", "storage", "us-east-1"): ("usd_per_gb_month", 0.08),
    }
    assert set(df["as_of"]) == {PUBLISHED}
    assert df["source"].str.contains("AmazonEC2 version 20260720134430").all()
    assert df.attrs["unmatched"] == 1
    assert (df["tier_start"] == 0).all()


def test_parse_offer_sagemaker_hosting_only():
    offer = {
        "offerCode": "AmazonSageMaker", "version": "1", "publicationDate": "2026-01-02T00:00:00Z",
        "products": {
            "A": {"sku": "A", "productFamily": "ML Instance",
                  "attributes": {"instanceName": "ml.g5.xlarge", "component": "Hosting", "regionCode": "us-east-1"}},
            "B": {"sku": "B", "productFamily": "ML Instance",
                  "attributes": {"instanceName": "ml.g5.xlarge", "component": "Training", "regionCode": "us-east-1"}},
        },
        "terms": {"OnDemand": {
            s: {f"{s}.T": {"priceDimensions": {f"{s}.T.R": {"unit": "Hrs", "beginRange": "0", "endRange": "Inf",
                                                              "pricePerUnit": {"USD": "1.4084000000"}}}}}
            for s in ("A", "B")}},
    }  # fmt: skip
    df = parse_offer(offer)
    assert list(zip(df["service"], df["name"], df["usd"], strict=True)) == [("sagemaker", "ml.g5.xlarge", 1.4084)]
    assert df["as_of"].iloc[0] == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda o: o.pop("publicationDate"), "not an AWS Price List offer file"),
        (lambda o: o.__setitem__("publicationDate", "yesterday"), "is not a timestamp"),
    ],
)
def test_parse_offer_rejects_broken_offers(mutate, match):
    import json

    offer = json.loads(OFFER.read_text())
    mutate(offer)
    with pytest.raises(CostlibError, match=match):
        parse_offer(offer)


def test_refresh_confirms_unchanged_prices(tables):
    summary = refresh(OFFER, tables)
    # p4d (post-cut row), g5.xlarge us-east-1 and us-west-2, gp3 storage: same prices as the tables
    assert (summary["matched"], summary["changed"], summary["confirmed"]) == (4, 0, 4)
    assert summary["not_in_tables"] == 0 and summary["unmatched_skus"] == 1
    book = P.load_price_book(P.PriceSettings(as_of=date(2026, 11, 27)), tables_dir=tables)
    row = book.row("ec2", "p4d.24xlarge", "on_demand")
    assert (row["usd"], row["as_of"], row["effective_from"]) == (21.957642, PUBLISHED, date(2025, 6, 23))
    assert "confirmed by AWS Price List AmazonEC2" in row["notes"]
    west = P.load_price_book(P.PriceSettings(region="us-west-2", as_of=date(2026, 11, 27)), tables_dir=tables)
    assert west.row("ec2", "g5.xlarge", "on_demand")["as_of"] == PUBLISHED
    # the pre-cut p4d row is outside the offer date and keeps its own provenance
    old = P.load_price_book(P.PriceSettings(as_of=date(2025, 5, 1)), tables_dir=tables).row("ec2", "p4d.24xlarge", "on_demand")
    assert (old["usd"], old["as_of"]) == (32.7726, date(2025, 4, 28))
    # refreshing twice does not pile up notes
    refresh(OFFER, tables)
    again = P.load_price_book(P.PriceSettings(as_of=date(2026, 11, 27)), tables_dir=tables).row("ec2", "p4d.24xlarge", "on_demand")
    assert again["notes"].count("confirmed by") == 1


def test_refresh_changed_price_keeps_the_old_row(tables):
    ec2 = tables / "ec2.csv"
    text = ec2.read_text()
    assert "ec2,g5.xlarge,on_demand,us-east-1,usd_per_hour,1.006," in text
    ec2.write_text(text.replace("ec2,g5.xlarge,on_demand,us-east-1,usd_per_hour,1.006,",
                                "ec2,g5.xlarge,on_demand,us-east-1,usd_per_hour,1.5,"))  # fmt: skip
    summary = refresh(OFFER, tables)
    assert summary["changed"] == 1
    assert "ec2/g5.xlarge/on_demand/us-east-1: 1.5 -> 1.006 from 2026-07-20" in summary["changes"]
    before = P.load_price_book(P.PriceSettings(as_of=date(2026, 7, 19)), tables_dir=tables)
    after = P.load_price_book(P.PriceSettings(as_of=date(2026, 7, 20)), tables_dir=tables)
    assert before.usd("ec2", "g5.xlarge", "on_demand") == 1.5
    new = after.row("ec2", "g5.xlarge", "on_demand")
    assert (new["usd"], new["as_of"], new["effective_from"]) == (1.006, PUBLISHED, PUBLISHED)


def test_refresh_dry_run_writes_nothing(tables):
    before = _snapshot(tables)
    summary = refresh(OFFER, tables, dry_run=True)
    assert summary["confirmed"] == 4 and summary["files"]
    assert _snapshot(tables) == before


def test_bad_offer_changes_nothing(tables):
    before = _snapshot(tables)
    with pytest.raises(CostlibError, match="SKU FXG5XLARGEUSE1LX has no numeric USD price"):
        refresh(BAD_OFFER, tables)
    assert _snapshot(tables) == before  # no table touched, no temp file left


def test_refresh_failure_while_writing_changes_nothing(tables, monkeypatch):
    import costlib.tables.pricelist as PL

    before = _snapshot(tables)
    calls = {"n": 0}
    real = PL.read_price_csv

    def flaky(path, *a, **kw):  # the re-read of the second rewritten table fails
        if str(path).endswith(".tmp"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise CostlibError("simulated failure")
        return real(path, *a, **kw)

    monkeypatch.setattr(PL, "read_price_csv", flaky)
    with pytest.raises(CostlibError, match="simulated failure"):
        refresh(OFFER, tables)
    assert _snapshot(tables) == before


def test_cli_refresh(tables, capsys):
    assert cli_main(["prices", "refresh", "--offer", str(OFFER), "--tables-dir", str(tables), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "offer published 2026-07-20: 4 table rows matched (0 would change, 4 confirmed)" in out
    assert cli_main(["prices", "refresh", "--offer", str(BAD_OFFER), "--tables-dir", str(tables)]) == 2
    assert "no numeric USD price" in capsys.readouterr().err
