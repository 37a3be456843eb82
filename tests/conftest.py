"""Shared fixtures, and a private cache directory for the whole session."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SESSION_CACHE: str | None = None


def pytest_configure(config):
    """Point the on-disk cache (:mod:`costlib.core.cache`) at a fresh folder for this session.

    Set before collection, so module-level price books use it too; subprocesses inherit it.
    Tests never read or write the real ``~/.cache/costlib``.
    """
    global _SESSION_CACHE
    _SESSION_CACHE = tempfile.mkdtemp(prefix="costlib-test-cache-")
    os.environ["COSTLIB_CACHE_DIR"] = _SESSION_CACHE
    os.environ.pop("COSTLIB_NO_CACHE", None)


def pytest_unconfigure(config):
    if _SESSION_CACHE:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
"""A small copy of the price tables: the rows the option and plumbing tests use, each with its
source and as_of, and the Bedrock per-token rows the genai-prices import supplies (copied into
``bedrock.csv``). Option and plumbing tests price against it, so refreshing the live tables in
``costlib/data/prices`` cannot change their hand calculations; the price tests pin the live
tables."""


def fixture_price_book(settings=None, **kwargs):
    """:func:`costlib.tables.prices.load_price_book` on :data:`FIXTURE_PRICES`, without the
    genai-prices import."""
    from costlib.tables.prices import load_price_book

    return load_price_book(settings, **{**kwargs, "tables_dir": FIXTURE_PRICES,
                                        "genai_import": False})


@pytest.fixture
def fixture_prices(monkeypatch):
    """Make :func:`costlib.bill.estimate.estimate` price against :data:`FIXTURE_PRICES`."""
    import costlib.tables.prices

    original = costlib.tables.prices.load_price_book

    def load(settings=None, **kwargs):
        return original(settings, **{**kwargs, "tables_dir": FIXTURE_PRICES,
                                     "genai_import": False})

    monkeypatch.setattr(costlib.tables.prices, "load_price_book", load)
    return FIXTURE_PRICES


@pytest.fixture
def no_plumbing(monkeypatch):
    """Price options without the plumbing line items (network, logs, KMS, failures...).

    Tests of an option's own formulas use it so their hand calculations cover exactly the
    option's items; the plumbing has tests of its own and an integration test.
    """
    import costlib.bill.estimate

    monkeypatch.setattr(costlib.bill.estimate, "price_plumbing", lambda *args, **kwargs: [])
