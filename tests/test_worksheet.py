"""The article's four worksheet formulas, checked against hand-worked numbers."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from costlib.formulas import worksheet


def test_tokens_per_request_adds_prompt_and_answer():
    # Scenario A of the article: 1.5k in, 400 out -> 1,900 tokens per request.
    assert worksheet.tokens_per_request(1500, 400) == 1900.0


@pytest.mark.parametrize("container", [list, np.array, pd.Series])
def test_tokens_per_second_at_p95_is_vectorised(container):
    # 40 rps x (2000 + 500) = 100,000 tokens/s; 60 rps x (1500 + 400) = 114,000 tokens/s.
    out = worksheet.tokens_per_second_at_p95(container([40, 60]), container([2000, 1500]),
                                             container([500, 400]))
    assert_allclose(np.asarray(out), [100_000.0, 114_000.0])


def test_required_instances_divides_by_capacity_per_instance():
    # 100,000 tokens/s over (2,500 tokens/s per sequence x batch 4 = 10,000 per instance) = 10.
    assert_allclose(worksheet.required_instances(100_000, 2_500, 4), 10.0)


def test_required_instances_halves_when_batch_doubles():
    # Linearity: capacity is throughput x batch, so doubling the batch halves the fleet.
    one = worksheet.required_instances(50_000, 1_000, np.array([2.0, 4.0, 8.0]))
    assert_allclose(one[:-1] / one[1:], [2.0, 2.0])


def test_instances_to_provision_rounds_up_but_ignores_float_noise():
    assert_allclose(worksheet.instances_to_provision([0.0, 0.2, 2.0, 2.0000000000001, 2.1]),
                    [0.0, 1.0, 2.0, 2.0, 3.0])


def test_worksheet_hand_worked_example_scenario_b_shape():
    """The four formulas end to end, with throughput and batch given directly.

    Inputs: 2,000 in / 500 out, p95 40 rps, 2,500 tokens/s per sequence, batch 4, and an
    instance at 21.957642 USD/h (p4d.24xlarge on demand, us-east-1, after June 2025).
      1. tokens per request      = 2000 + 500                     = 2,500
      2. tokens/s at p95         = 40 x 2,500                     = 100,000
      3. required instances      = 100,000 / (2,500 x 4)          = 10
      4. USD per 1k tokens       = 21.957642 x 10 / (100,000 x 3.6) = 219.57642 / 360,000
                                 = 0.000609934500
    """
    tpr = worksheet.tokens_per_request(2000, 500)
    tps = worksheet.tokens_per_second_at_p95(40, 2000, 500)
    need = worksheet.required_instances(tps, 2500, 4)
    price = worksheet.usd_per_1k_tokens_self_hosted(21.957642, need, tps)
    assert tpr == 2500.0
    assert tps == 100_000.0
    assert need == 10.0
    assert_allclose(price, 219.57642 / 360_000, rtol=1e-12)
    assert_allclose(price, 0.0006099345, rtol=1e-9)


def test_usd_per_1k_tokens_falls_as_served_rate_rises():
    # Same fleet cost, twice the tokens -> half the price per token.
    prices = worksheet.usd_per_1k_tokens_self_hosted(10.0, 2, np.array([1000.0, 2000.0]))
    assert_allclose(prices[0] / prices[1], 2.0)
    # 10 USD/h x 2 / (1,000 x 3.6) = 20 / 3,600 = 0.0055556 USD per 1k tokens
    assert_allclose(prices[0], 20 / 3600)
