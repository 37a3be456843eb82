"""Tests of costlib.whatif.levers (the article's cost levers) and costlib.cli.levers."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from costlib.core.errors import CostlibError
from costlib.bill.estimate import estimate
from costlib.whatif.levers import (
    CONTEXT_KEPT_AFTER_DEDUP,
    LEVERS,
    OUTPUT_CAP_FACTOR,
    article_claims,
    catalog_frame,
    get_lever,
    lever_report,
)
from costlib.bill.params import Params, load_params, with_overrides
from costlib.core.paths import PARAMS_DIR

PARAMS_FILES = sorted(PARAMS_DIR.glob("*.yaml"))
MONTH_S = 730 * 3600  # 2,628,000 s
GB = 2**30


@pytest.fixture(scope="module")
def loaded():
    return {p.name: load_params(p) for p in PARAMS_FILES}


@pytest.fixture(scope="module")
def reports(loaded):
    return {name: lever_report(params) for name, params in loaded.items()}


def small_managed(**blocks) -> Params:
    """A stated workload: Llama 3.1 8B on Bedrock, 1,000 in / 100 out, 1 rps steady."""
    data = {"workload": {"in_tokens": 1000, "out_tokens": 100, "avg_rps": 1,
                         "p95_latency_ms": 1000, "traffic": {"shape": "steady"}},
            "prices": {"as_of": "2026-11-27"},
            "options": {"m": {"kind": "managed_api", "model": "meta.llama3-1-8b-instruct-v1:0"}}}
    data.update(blocks)
    return Params.model_validate(data)


# --------------------------------------------------------------------------------------------
# the catalog


def test_catalog_covers_the_articles_levers():
    # The list: caching, routing, context right-sizing, output caps, token budgets per
    # tenant, quantization, speculative decoding, PrivateLink, AZ placement, log sampling,
    # retry budgets, autoscaling warm pool.
    names = {lv.name for lv in LEVERS}
    assert {"response_cache", "routing", "context_right_sizing", "output_caps",
            "token_budgets_per_tenant", "quantization", "speculative_decoding", "privatelink",
            "same_az_placement", "log_sampling", "retry_budget", "warm_pool"} <= names
    frame = catalog_frame()
    assert list(frame["lever"]) == [lv.name for lv in LEVERS]
    assert frame["reason"].str.len().min() > 20


def test_get_lever_unknown_name_suggests():
    with pytest.raises(CostlibError, match="privatelink"):
        get_lever("privatelnk")


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("lever", LEVERS, ids=lambda lv: lv.name)
def test_overrides_validate_against_the_params_schema(loaded, path, lever):
    params = loaded[path.name]
    plan = lever.plan(params)
    if plan.overrides is None:
        assert plan.targets == () and plan.note  # says why it does not apply
        return
    assert plan.overrides and set(plan.targets) <= set(params.options)
    changed = with_overrides(params, plan.overrides)  # raises CostlibError when invalid
    assert changed != params  # the lever changes something


def test_token_budgets_have_no_params_key_yet(loaded):
    lever = get_lever("token_budgets_per_tenant")
    for params in loaded.values():
        assert lever.overrides(params) is None
    assert "no params key" in lever.plan(loaded["default.yaml"]).note


# --------------------------------------------------------------------------------------------
# before / after


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_lever_report_cost_cutting_levers_never_raise_a_targeted_total(reports, path):
    # Property: a lever marked cuts_cost only shrinks billed quantities (bytes, tokens,
    # KMS calls, cross-AZ GB, retries), so the total of an option it targets cannot rise.
    report = reports[path.name]
    rows = report[report["applies"] & report["targeted"] & report["cuts_cost"]]
    for r in rows.itertuples():
        assert r.after_usd <= r.before_usd * (1 + 1e-12), (r.lever, r.option)


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.name)
def test_lever_report_one_row_per_lever_and_option(reports, loaded, path):
    report = reports[path.name]
    assert len(report) == len(LEVERS) * len(loaded[path.name].options)
    base = {o.name: o.monthly_usd for o in estimate(loaded[path.name]).options}
    for r in report.itertuples():
        assert r.before_usd == pytest.approx(base[r.option])
        if r.applies:
            assert r.change_usd == pytest.approx(r.after_usd - r.before_usd)
            assert r.change_pct == pytest.approx(100 * r.change_usd / r.before_usd)
        else:
            assert r.change_usd == 0 and "Does not apply" in r.why


def test_lever_report_matches_analysis_lever_table(loaded):
    # lever_report prices each lever the way costlib.whatif.sweeps.lever_table does
    from costlib.whatif.sweeps import lever_table

    params = loaded["rag_plumbing.yaml"]
    lever = get_lever("log_sampling")
    table = lever_table(params, {lever.name: lever.overrides(params)})
    report = lever_report(params, [lever])
    assert list(report["after_usd"]) == pytest.approx(list(table["after_usd"]))


def test_privatelink_hand_checked_nat_lines_vanish_endpoint_lines_appear():
    # Stated workload: Llama 3.1 8B on Bedrock, 1,000 tokens in, 100 out, 1 rps steady
    # (2,628,000 requests/month), no entry point, no request overhead, 4 bytes per streamed
    # token, metadata logs of 1,024 bytes per request, 2 AZs.
    # Bytes per request: to Bedrock 1,000 x 4 + 100 x 4 = 4,400; to CloudWatch Logs 1,024.
    #   Bedrock: 4,400 x 2,628,000 / 2**30 = 10.7691 GB;  Logs: 1,024 x 2,628,000 / 2**30
    #   = 2.5063 GB; together 13.2754 GB.
    # Before (NAT): 13.2754 x 0.045 = 0.5974 USD processed + 2 gateways x 730 h x 0.045
    #   = 65.70 + 2 public IPv4 x 730 h x 0.005 = 7.30 -> 73.5974 USD.
    # After (PrivateLink): 2 services (bedrock-runtime, logs) x 2 AZs x 730 h = 2,920
    #   endpoint-AZ-hours x 0.01 = 29.20 + 13.2754 GB x 0.01 = 0.1328 -> 29.3328 USD.
    # Change: 29.3328 - 73.5974 = -44.2646 USD/month.
    params = small_managed(network={"entry": "none", "request_overhead_bytes": 0,
                                    "stream_bytes_per_output_token": 4})
    overrides = get_lever("privatelink").overrides(params)
    assert overrides == {"network.aws_path": "privatelink"}
    before = estimate(params).options[0]
    after = estimate(with_overrides(params, overrides)).options[0]
    nat = [li for li in before.line_items if "NAT" in li.item]
    assert sum(li.monthly_usd for li in nat) == pytest.approx(73.5974, abs=1e-4)
    assert not [li for li in after.line_items if "NAT" in li.item]
    endpoints = [li for li in after.line_items if "interface endpoint" in li.item]
    assert sum(li.monthly_usd for li in endpoints) == pytest.approx(29.3328, abs=1e-4)
    gb = (4400 + 1024) * MONTH_S / GB
    assert gb == pytest.approx(13.2754, abs=1e-4)
    assert after.monthly_usd - before.monthly_usd == pytest.approx(-44.2646, abs=1e-3)
    report = lever_report(params, [get_lever("privatelink")])
    assert report.loc[0, "change_usd"] == pytest.approx(-44.2646, abs=1e-3)


def test_log_sampling_hand_checked_ingestion():
    # Stated workload as above, with payloads logged for every request: bytes per request
    # 1,024 metadata + (1,000 + 100) tokens x 4 = 5,424. Sampling payloads at 5 % leaves
    # 1,024 + 0.05 x 4,400 = 1,244 bytes. Ingestion at 0.50 USD/GB:
    #   before 5,424 x 2,628,000 / 2**30 = 13.2754 GB -> 6.6377 USD
    #   after  1,244 x 2,628,000 / 2**30 =  3.0447 GB -> 1.5223 USD
    params = small_managed(observability={"log_payloads": True})
    overrides = get_lever("log_sampling").overrides(params)
    assert overrides == {"observability.payload_sample_rate": 0.05}

    def ingestion(p):
        o = estimate(p).options[0]
        return sum(li.monthly_usd for li in o.line_items
                   if li.category == "observability" and "ingestion" in li.item)

    assert ingestion(params) == pytest.approx(5424 * MONTH_S / GB * 0.5)
    assert ingestion(with_overrides(params, overrides)) == pytest.approx(
        1244 * MONTH_S / GB * 0.5)


def test_output_cap_and_context_levers_state_their_assumptions(loaded):
    params = loaded["rag_plumbing.yaml"]
    # 400 output tokens x 0.6 = 240; 5 chunks x 400 tokens kept at 0.25 = 500 tokens
    assert get_lever("output_caps").overrides(params) == {"workload.out_tokens": 240.0}
    assert OUTPUT_CAP_FACTOR == 0.6
    assert get_lever("context_right_sizing").overrides(params) == {
        "retrieval.context_kept_fraction": CONTEXT_KEPT_AFTER_DEDUP}
    assert "2,000 -> 500 tokens" in get_lever("context_right_sizing").plan(params).note
    # without retrieval the lever does not apply
    assert get_lever("context_right_sizing").overrides(loaded["default.yaml"]) is None


def test_quantization_only_on_gpus_with_fp8_and_modelled_throughput(loaded):
    # default.yaml: p5 (H100, FP8) with modelled throughput -> fp8; the p5 with throughput
    # given in the file is left alone. scenario_b: p4d (A100, no FP8) is left alone.
    plan = get_lever("quantization").plan(loaded["default.yaml"])
    assert plan.overrides == {"options.p5_vllm_llama31_70b.precision": "fp8"}
    plan_b = get_lever("quantization").plan(loaded["scenario_b_steady.yaml"])
    assert "options.p4d_vllm_llama31_70b.precision" not in plan_b.overrides
    assert get_lever("quantization").overrides(loaded["scenario_a_bursty.yaml"]) is None


def test_response_cache_lever_reproduces_the_files_router(loaded, reports):
    # scenario C: the router puts llama31_8b_no_cache behind an 80 % response cache. Pulling
    # the caching lever on llama31_8b_no_cache must cost what the router costs, and the
    # router itself must not change (its route follows the moved option).
    report = reports["scenario_c_cached_rag.yaml"]
    rows = report[report["lever"] == "response_cache"].set_index("option")
    assert rows.loc["llama31_8b_no_cache", "after_usd"] == pytest.approx(
        rows.loc["cache_then_llama31_8b", "before_usd"])
    assert rows.loc["cache_then_llama31_8b", "change_usd"] == pytest.approx(0.0, abs=1e-9)
    assert not rows.loc["cache_then_llama31_8b", "targeted"]


def test_warm_pool_replaces_a_fleet_sized_for_the_peak(loaded, reports):
    plan = get_lever("warm_pool").plan(loaded["scenario_a_bursty.yaml"])
    assert plan.targets == ("g5_llama31_8b_sized_for_spikes",)
    fleet = plan.overrides["options.g5_llama31_8b_sized_for_spikes.fleet"]
    assert fleet["policy"] == "autoscaled" and fleet["min_instances"] >= 1
    rows = reports["scenario_a_bursty.yaml"]
    row = rows[(rows.lever == "warm_pool") & (rows.option == "g5_llama31_8b_sized_for_spikes")]
    assert float(row["change_pct"].iloc[0]) < 0  # a peak-sized fleet all month is the dearer


# --------------------------------------------------------------------------------------------
# the article's claims


def test_article_claims_on_the_rag_scenario(loaded):
    claims = article_claims(loaded["rag_plumbing.yaml"]).set_index(["claim", "option"])
    top3 = claims.loc[("observability in the top three categories under full payload logging",
                       "bedrock_llama31_70b")]
    assert bool(top3["holds"]) and top3["measured"] <= 3
    nat = claims.xs("PrivateLink + same-AZ placement swing the total >= 30 %", level="claim")
    assert not nat["holds"].any()  # text payloads: network is a small share of the bill
    ctx = claims.xs("context length swings the total >= 30 %", level="claim")
    # per-token billing is linear in the prompt: the managed bill swings by over 30 %
    assert bool(ctx.loc["bedrock_llama31_70b", "holds"])
    # a self-hosted fleet saves too, less: its instances are sized by the time per output token,
    # which a shorter prompt eases only through the prefill it adds to each step
    assert 0 < ctx.loc["p5_vllm_llama31_70b", "measured"] < ctx.loc["bedrock_llama31_70b", "measured"]
    # naive retries: 3 attempts -> 2 billed retries per throttled request when billed,
    # none when a 429 is rejected before inference
    billed = claims.xs("naive retries cost the throttled tokens again, attempts billed "
                       "(client timeout after generation)", level="claim")
    assert billed["measured"].iloc[0] == pytest.approx(2.0)
    unbilled = claims.xs("naive retries cost the throttled tokens again, attempts not billed "
                         "(429 rejected before inference)", level="claim")
    assert unbilled["measured"].iloc[0] == pytest.approx(0.0)


def test_article_claims_say_when_a_file_cannot_test_them(loaded):
    claims = article_claims(loaded["scenario_c_cached_rag.yaml"])
    batching = claims[claims["claim"].str.startswith("batching")]
    assert batching["holds"].isna().all() and "no self-hosted" in batching["note"].iloc[0]


# --------------------------------------------------------------------------------------------
# the command line


def run_cli(argv):
    from costlib.cli import _Parser
    from costlib.cli.levers import register

    parser = _Parser(prog="costlib")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    register(sub)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = parser.parse_args(argv).func(parser.parse_args(argv))
    return code, buf.getvalue()


def test_levers_cli_json_rows():
    code, out = run_cli(["levers", str(PARAMS_DIR / "rag_plumbing.yaml"), "--json"])
    assert code == 0
    data = json.loads(out)
    assert len(data["levers"]) == len(LEVERS) * 2
    assert {"lever", "option", "before_usd", "after_usd", "change_pct", "overrides",
            "why"} <= set(data["levers"][0])


def test_levers_cli_text_lists_levers_not_applied():
    code, out = run_cli(["levers", str(PARAMS_DIR / "default.yaml")])
    assert code == 0
    assert "privatelink" in out and "not applied to this file" in out
    assert "token_budgets_per_tenant: no params key yet" in out


def test_levers_cli_bad_set_key_is_one_line_error():
    with pytest.raises(CostlibError, match="network.aws_pth"):
        run_cli(["levers", str(PARAMS_DIR / "default.yaml"), "--set", "network.aws_pth=nat"])


def test_lever_explorer_recomputes_through_costlib(loaded):
    from costlib.lessons.widgets import lever_explorer

    params = loaded["rag_plumbing.yaml"]
    explorer = lever_explorer(params)
    assert "retrieval.context_kept_fraction" in explorer.controls
    before = {o.name: o.monthly_usd for o in explorer.result.options}
    explorer.controls["retrieval.context_kept_fraction"].value = 0.25
    after = {o.name: o.monthly_usd for o in explorer.result.options}
    expected = estimate(with_overrides(params, {"retrieval.context_kept_fraction": 0.25}))
    assert after == {o.name: o.monthly_usd for o in expected.options}
    assert all(after[k] < before[k] for k in before)
