"""Shared fixtures."""

import pytest


@pytest.fixture
def no_plumbing(monkeypatch):
    """Price options without the plumbing line items (network, logs, KMS, failures...).

    Tests of an option's own formulas use it so their hand calculations cover exactly the
    option's items; the plumbing has tests of its own and an integration test.
    """
    import costlib.bill.estimate

    monkeypatch.setattr(costlib.bill.estimate, "price_plumbing", lambda *args, **kwargs: [])
