"""``costlib diff`` and :mod:`costlib.whatif.diff`: the change of every line item and total.

Oracles are properties (a file against itself changes nothing; totals are the sum of their line
items) and a hand calculation (a Bedrock input price change moves the input-token item by its
quantity times the price difference), never pasted output.
"""

from __future__ import annotations

import json

import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.cli import main
from costlib.core.paths import PARAMS_DIR
from costlib.whatif.diff import STATUSES, diff_estimates, diff_to_dict, diff_totals

DEFAULT = PARAMS_DIR / "default.yaml"
BEDROCK = "bedrock_llama31_70b"
MODEL = "meta.llama3-1-70b-instruct-v1:0"


@pytest.fixture(scope="module")
def params():
    return load_params(DEFAULT)


@pytest.fixture(scope="module")
def before(params):
    return estimate(params)


def _input_item(est):
    (li,) = [li for li in next(o for o in est.options if o.name == BEDROCK).line_items
             if li.item.endswith("input tokens")]
    return li


def test_diff_estimates_of_a_file_against_itself_is_all_zeros(before):
    items = diff_estimates(before, before)
    totals = diff_totals(before, before)
    assert len(items) == sum(len(o.line_items) for o in before.options)
    assert (items["change_usd"] == 0).all() and (items["status"] == "same").all()
    assert (totals["change_usd"] == 0).all() and (totals["status"] == "same").all()
    assert list(totals["option"]) == [o.name for o in before.options]


def test_diff_estimates_bedrock_input_price_moves_only_input_tokens(params, before):
    old = _input_item(before)
    new_price = old.unit_usd + 0.25  # [USD per 1M input tokens]
    after = estimate(with_overrides(
        params, {f"options.{BEDROCK}.usd_per_1m_input_tokens": new_price}))
    items = diff_estimates(before, after)
    changed = items[items["status"] == "changed"]
    assert list(changed["item"]) == [f"{MODEL} input tokens"]
    assert changed["option"].iloc[0] == BEDROCK
    # hand calculation: quantity [1M tokens/month] x price difference [USD per 1M tokens]
    assert_allclose(changed["change_usd"].iloc[0], old.quantity * 0.25, rtol=1e-12)
    assert (items.loc[items["status"] != "changed", "change_usd"] == 0).all()
    assert set(items["status"]) <= set(STATUSES)


def test_diff_totals_change_is_the_sum_of_line_item_changes(params, before):
    after = estimate(with_overrides(params, {"workload.avg_rps": 20}))
    items, totals = diff_estimates(before, after), diff_totals(before, after)
    by_option = items.groupby("option", sort=False)["change_usd"].sum()
    assert_allclose(totals.set_index("option")["change_usd"], by_option[totals["option"]],
                    rtol=1e-9, atol=1e-6)
    assert (totals["change_usd"] > 0).all()


def test_diff_totals_an_option_only_in_after_is_added(params, before):
    after = estimate(with_overrides(params, {"options.extra.kind": "managed_api",
                                             "options.extra.model": MODEL}))
    totals = diff_totals(before, after).set_index("option")
    assert totals.loc["extra", "status"] == "added"
    assert totals.loc["extra", "before_usd"] == 0
    assert totals.loc["extra", "change_usd"] == totals.loc["extra", "after_usd"] > 0
    items = diff_estimates(before, after)
    assert set(items.loc[items["option"] == "extra", "status"]) == {"added"}
    # the other way round, the same option is removed
    back = diff_totals(after, before).set_index("option")
    assert back.loc["extra", "status"] == "removed" and back.loc["extra", "after_usd"] == 0


def test_diff_to_dict_is_valid_json(params, before):
    after = estimate(with_overrides(params, {"options.extra.kind": "managed_api",
                                             "options.extra.model": MODEL}))
    out = json.loads(json.dumps(diff_to_dict(before, after), allow_nan=False))
    assert {"totals", "line_items"} <= set(out)
    added = [r for r in out["line_items"] if r["status"] == "added"]
    assert added and all(r["before_quantity"] is None for r in added)


def test_cli_diff_text_totals_first_then_changed_items(capsys):
    assert main(["diff", str(DEFAULT), "--set", f"options.{BEDROCK}.usd_per_1m_input_tokens=9"]) == 0
    out = capsys.readouterr().out
    assert out.index("option") < out.index(f"{BEDROCK}:")
    assert f"{MODEL} input tokens" in out and f"{MODEL} output tokens" not in out
    assert "unchanged line items not listed" in out
    assert "+" in out and "," in out  # signed, thousands separators


def test_cli_diff_all_lists_unchanged_items(capsys):
    assert main(["diff", str(DEFAULT), "--all"]) == 0
    out = capsys.readouterr().out
    assert f"{MODEL} output tokens" in out and "not listed" not in out


def test_cli_diff_markdown_is_a_table_with_a_header_row(capsys):
    assert main(["diff", str(DEFAULT), str(DEFAULT), "--set", "workload.avg_rps=20",
                 "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("| option |"))
    assert set(lines[i + 1].replace("|", "").split()) <= {":---", "---:"}
    assert lines[i + 2].startswith(f"| {BEDROCK} |")
    assert all(line.count("|") == lines[i].count("|") for line in lines[i:i + 4])


def test_cli_diff_json_is_the_dict_form(capsys):
    assert main(["diff", str(DEFAULT), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(r["change_usd"] == 0 for r in out["totals"] + out["line_items"])


@pytest.mark.parametrize("argv, starts", [
    (["diff", "params/no_such_file.yaml"], "costlib: error: params/no_such_file.yaml: no such"),
    (["diff", str(DEFAULT), "--set", "workload.avg_rpz=3"], "costlib: error: "),
    (["diff", str(DEFAULT), "--set", "workload.avg_rps=abc"], "costlib: error: "),
    (["diff", str(DEFAULT), "--set", "novalue"], "costlib: error: --set 'novalue'"),
])
def test_cli_diff_bad_input_exits_2_with_one_line(capsys, argv, starts):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(starts) and captured.err.count("\n") == 1
    assert captured.out == ""


# -------------------------------------------------------------------------------------------
# the waterfall of one option, and the HTML page


def _many_changes(params):
    """Default with the traffic doubled: the fleet and much of the plumbing move."""
    return estimate(with_overrides(params, {"workload.avg_rps": 20}))


@pytest.mark.parametrize("top", [1, 3, 8, 100])
def test_waterfall_steps_sum_to_the_change_and_end_on_the_totals(params, before, top):
    from costlib.whatif.diff import waterfall_frame

    after = _many_changes(params)
    for o in before.options:
        w = waterfall_frame(before, after, o.name, top=top)
        b_total = o.monthly_usd
        a_total = next(x for x in after.options if x.name == o.name).monthly_usd
        assert w["kind"].iloc[0] == w["kind"].iloc[-1] == "total"
        assert (w["start_usd"].iloc[0], w["end_usd"].iloc[0]) == (0.0, b_total)
        assert (w["start_usd"].iloc[-1], w["end_usd"].iloc[-1]) == (0.0, a_total)
        steps = w.iloc[1:-1]
        assert_allclose(steps["change_usd"].sum(), a_total - b_total, rtol=1e-12, atol=1e-6)
        # each step starts where the one before ended, and ends on the total after
        assert_allclose(steps["start_usd"].to_numpy()[1:], steps["end_usd"].to_numpy()[:-1],
                        rtol=1e-12)
        assert_allclose(steps["end_usd"].iloc[-1], a_total, rtol=1e-12)
        assert list(w["order"]) == list(range(len(w))) and w["step"].is_unique
        assert set(steps["kind"]) <= {"increase", "decrease"}
        assert ((steps["change_usd"] > 0) == (steps["kind"] == "increase")).all()


def test_waterfall_top_n_items_then_the_rest_summed(params, before):
    from costlib.whatif.diff import waterfall_frame

    after = _many_changes(params)
    items = diff_estimates(before, after)
    name = "p5_vllm_llama31_70b"
    changed = items[(items["option"] == name) & (items["change_usd"] != 0)]
    assert len(changed) > 2  # the fixture must move several items for this test to mean much
    w = waterfall_frame(before, after, name, top=2)
    steps = w.iloc[1:-1]
    assert len(steps) == 3 and steps["step"].iloc[-1] == f"other changes ({len(changed) - 2} items)"
    biggest = changed["change_usd"].abs().sort_values(ascending=False).iloc[:2]
    assert_allclose(steps["change_usd"].iloc[:2].abs(), biggest, rtol=1e-12)
    assert steps["items"].iloc[-1] == len(changed) - 2


def test_waterfall_added_option_starts_from_zero(params, before):
    from costlib.whatif.diff import waterfall_frame

    after = estimate(with_overrides(params, {"options.extra.kind": "managed_api",
                                             "options.extra.model": MODEL}))
    w = waterfall_frame(before, after, "extra")
    assert w["end_usd"].iloc[0] == 0.0
    assert_allclose(w["change_usd"].iloc[1:-1].sum(), w["end_usd"].iloc[-1], rtol=1e-12)


def test_waterfall_unknown_option_is_a_one_line_error(before):
    from costlib.core.errors import CostlibError
    from costlib.whatif.diff import waterfall_frame

    with pytest.raises(CostlibError, match="no option 'p9'"):
        waterfall_frame(before, before, "p9")


def test_waterfall_chart_colours_steps_up_and_down_apart(params, before):
    from costlib.lessons import charts
    from costlib.whatif.diff import waterfall_frame

    after = estimate(with_overrides(params, {"workload.out_tokens": 50}))  # fewer tokens
    w = waterfall_frame(before, after, BEDROCK)
    spec = charts.waterfall_chart(w).to_dict()
    color = spec["layer"][0]["encoding"]["color"]
    kinds = color["scale"]["domain"]
    assert "decrease" in kinds and color["scale"]["range"] == [charts.WATERFALL_COLORS[k]
                                                               for k in kinds]
    assert len(set(charts.WATERFALL_COLORS.values())) == 3
    assert spec["layer"][0]["encoding"]["y"]["sort"] == list(w["step"])
    assert "title" not in spec


def test_cli_diff_html_has_a_waterfall_per_changed_option(tmp_path, capsys):
    out = tmp_path / "diff.html"
    assert main(["diff", str(DEFAULT), "--set", f"options.{BEDROCK}.usd_per_1m_input_tokens=9",
                 "--format", "html", "--out", str(out)]) == 0
    page = out.read_text()
    # one option changed (only the Bedrock price moved): one waterfall
    assert page.count('src="data:image/svg+xml;base64,') == 1
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert f"{MODEL} input tokens" in page and f"{MODEL} output tokens" not in page
    assert page.index('id="totals"') < page.index(f"<h2>{BEDROCK}:")
    assert [p.name for p in tmp_path.iterdir()] == ["diff.html"]  # no temp file left


def test_cli_diff_html_to_stdout_and_nothing_changed(capsys):
    assert main(["diff", str(DEFAULT), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "No option's total changes." in page
    assert "data:image/svg+xml" not in page


def test_cli_diff_out_to_a_missing_folder_exits_2_and_writes_nothing(tmp_path, capsys):
    target = tmp_path / "nope" / "diff.html"
    assert main(["diff", str(DEFAULT), "--format", "html", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costlib: error: diff: --out ") and err.count("\n") == 1
    assert not target.parent.exists()


def test_write_atomic_failure_keeps_the_old_file(tmp_path, monkeypatch):
    import os

    from costlib.cli.diff import write_atomic

    target = tmp_path / "diff.md"
    target.write_text("old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["diff.md"]
