"""Params files: validation on load, one-line errors, and --set overrides."""

import textwrap

import pytest

from costlib.core.errors import CostlibError
from costlib.bill.params import apply_overrides, load_params, parse_set_overrides, with_overrides
from costlib.core.paths import PARAMS_DIR

MINIMAL = textwrap.dedent(
    """
    workload: {in_tokens: 100, out_tokens: 50, avg_rps: 1, p95_rps: 2, p95_latency_ms: 500}
    options:
      api: {kind: managed_api, model: meta.llama3-1-8b-instruct-v1:0}
      fleet: {kind: self_hosted, instance: g5.xlarge, batch_size: 2,
              tokens_per_second_per_instance: 100}
    """
)


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_params_reads_the_worksheet_names(tmp_path):
    params = load_params(write(tmp_path, MINIMAL))
    assert params.workload.in_tokens == 100
    assert params.options["fleet"].batch_size == 2
    assert params.region == "us-east-1"


@pytest.mark.parametrize("path", sorted(PARAMS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_params_file_is_valid(path):
    load_params(path)


def test_misspelt_workload_key_names_the_key_and_suggests(tmp_path):
    text = MINIMAL.replace("in_tokens: 100", "in_tokenz: 100")
    with pytest.raises(CostlibError) as err:
        load_params(write(tmp_path, text))
    msg = err.value.message
    assert "workload.in_tokenz" in msg and "in_tokens" in msg and "p.yaml" in msg
    assert "\n" not in msg


def test_misspelt_option_key_lists_that_kinds_keys(tmp_path):
    text = MINIMAL.replace("batch_size: 2", "batch_sise: 2")
    with pytest.raises(CostlibError) as err:
        load_params(write(tmp_path, text))
    msg = err.value.message
    assert "options.fleet.batch_sise" in msg
    assert "batch_size" in msg


def test_unknown_option_kind_lists_valid_kinds(tmp_path):
    text = MINIMAL.replace("kind: managed_api", "kind: managed")
    with pytest.raises(CostlibError, match="managed_api"):
        load_params(write(tmp_path, text))


def test_negative_tokens_are_rejected_with_the_key(tmp_path):
    with pytest.raises(CostlibError, match="workload.out_tokens"):
        load_params(write(tmp_path, MINIMAL.replace("out_tokens: 50", "out_tokens: -5")))


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(CostlibError, match="no such params file"):
        load_params(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line(tmp_path):
    with pytest.raises(CostlibError, match="line"):
        load_params(write(tmp_path, "workload: [unclosed\n"))


def test_set_overrides_parse_yaml_scalars():
    assert parse_set_overrides(["a.b=10", "c=true", "d=p5.48xlarge"]) == {
        "a.b": 10, "c": True, "d": "p5.48xlarge"}


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_set_override_without_key_or_value_is_an_error(bad):
    with pytest.raises(CostlibError, match="dotted.key=value"):
        parse_set_overrides([bad])


def test_set_override_changes_the_loaded_value(tmp_path):
    params = load_params(write(tmp_path, MINIMAL), {"workload.avg_rps": 1.5,
                                                    "options.fleet.batch_size": 8})
    assert params.workload.avg_rps == 1.5
    assert params.options["fleet"].batch_size == 8


def test_set_override_of_unknown_key_is_rejected(tmp_path):
    with pytest.raises(CostlibError, match="workload.avg_rpz"):
        load_params(write(tmp_path, MINIMAL), {"workload.avg_rpz": 3})


def test_apply_overrides_does_not_mutate_its_input():
    data = {"a": {"b": 1}}
    out = apply_overrides(data, {"a.b": 2})
    assert data == {"a": {"b": 1}} and out == {"a": {"b": 2}}


def test_apply_overrides_into_a_scalar_is_an_error():
    with pytest.raises(CostlibError, match="not a section"):
        apply_overrides({"a": 1}, {"a.b": 2})


def test_with_overrides_revalidates(tmp_path):
    params = load_params(write(tmp_path, MINIMAL))
    assert with_overrides(params, {"workload.avg_rps": 2}).workload.avg_rps == 2
    with pytest.raises(CostlibError):
        with_overrides(params, {"workload.avg_rps": -1})


@pytest.mark.parametrize("path", sorted(PARAMS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_committed_params_pin_the_price_date(path):
    """Committed reports must not change with the calendar: each params file says which prices
    are in force (prices.as_of), so "N days old" warnings and in-force rows are stable."""
    assert load_params(path).prices.as_of is not None


def test_prices_block_with_a_different_region_is_rejected(tmp_path):
    text = MINIMAL + "region: us-west-2\nprices: {region: us-east-1}\n"
    with pytest.raises(CostlibError, match="set the region once"):
        load_params(write(tmp_path, text))


def test_unknown_prices_key_is_rejected(tmp_path):
    with pytest.raises(CostlibError, match="prices.max_age"):
        load_params(write(tmp_path, MINIMAL + "prices: {max_age: 3}\n"))


def test_traffic_a_shape_cannot_make_is_rejected_at_load_naming_the_file(tmp_path):
    # at least 5% of the time sits at or above p95, so any non-negative profile has
    # avg >= 0.05 * p95 = 0.05 * 30 = 1.5 rps; avg 1 with p95 30 is impossible for every shape
    path = tmp_path / "shape.yaml"
    path.write_text(textwrap.dedent("""\
        workload: {in_tokens: 100, out_tokens: 10, avg_rps: 1, p95_rps: 30, p95_latency_ms: 500}
        options: {m: {kind: managed_api, model: amazon.nova-micro-v1:0}}
    """))
    with pytest.raises(CostlibError, match=r"shape\.yaml: workload\.traffic"):
        load_params(path)


def test_a_fleet_knob_for_another_policy_is_rejected_at_load(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(textwrap.dedent("""\
        workload: {in_tokens: 100, out_tokens: 10, avg_rps: 1, p95_latency_ms: 500}
        options:
          gpu:
            kind: self_hosted
            instance: g5.xlarge
            model: llama-3.1-8b
            fleet: {policy: fixed, scale_out_delay_min: 5}
    """))
    with pytest.raises(CostlibError, match=r"fleet\.yaml: options\.gpu\.fleet: scale_out_delay_min "
                                           r"applies only to policy 'autoscaled', not 'fixed'"):
        load_params(path)


def test_an_override_that_breaks_the_traffic_shape_is_rejected(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent("""\
        workload: {in_tokens: 100, out_tokens: 10, avg_rps: 1, p95_rps: 2, p95_latency_ms: 500}
        options: {m: {kind: managed_api, model: amazon.nova-micro-v1:0}}
    """))
    params = load_params(path)
    with pytest.raises(CostlibError, match=r"^override: workload\.traffic"):
        with_overrides(params, {"workload.p95_rps": 30})
