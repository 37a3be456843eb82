"""How to buy a self-hosted fleet's instance-hours: on demand, committed, on Spot, or a mix.

:func:`buying_options` prices one self-hosted option of a params file several ways, each a
``buying:`` block (:class:`costlib.bill.fleet.Buying`) run through the whole bill:

- on demand, every instance-hour;
- each commitment kind (Compute Savings Plan, EC2 Instance Savings Plan, Reserved Instance) at
  a stated discount, with the committed count sized to the fleet's demand curve
  (:func:`costlib.formulas.commitments.cheapest_commitment`: commit the base, buy the peaks);
- a Capacity Block at the table's rate (SP and RI discounts do not apply to it);
- Spot with on-demand fallback, at a stated discount and fallback share;
- the mix: the cheapest commitment with the hours above it on Spot with fallback.

No Savings Plan or RI rate for a GPU instance is in the tables: without a stated
``discount_pct`` the commitment rows are listed, not priced (AWS advertises only the largest
discount of each kind, a best case and not a rate), and say what to state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from costlib.bill.estimate import estimate
from costlib.bill.params import Params
from costlib.core.errors import CostlibError
from costlib.core.names import unknown_name_message
from costlib.formulas.commitments import MAX_DISCOUNT_PCT

SP_RI_KINDS = ("compute_savings_plan", "ec2_instance_savings_plan", "reserved_instance")
LABELS = {"compute_savings_plan": "Compute Savings Plan",
          "ec2_instance_savings_plan": "EC2 Instance Savings Plan",
          "reserved_instance": "Reserved Instance", "capacity_block": "Capacity Block"}


@dataclass(frozen=True)
class BuyingRow:
    """One way of buying the fleet.

    Attributes
    ----------
    label : str
        What is bought.
    fleet_usd : float or None
        The fleet's instance-hours (committed, on demand, Spot, Spot replacements) [USD/month];
        None for a way of buying that has no rate to price it with (``note`` says why).
    option_usd : float or None
        The option's whole monthly bill with it [USD/month]; None as ``fleet_usd``.
    committed_instances : float or None
        Instances committed [instances].
    committed_usd_per_hour : float or None
        Committed rate [USD/instance-hour].
    break_even_utilisation : float or None
        Share of hours a committed instance must be busy to pay off against the hours it
        replaces [-] (``r_c / r_over``).
    note : str
        Where the rate comes from, and its caveats.
    """

    label: str
    fleet_usd: float | None
    option_usd: float | None
    committed_instances: float | None = None
    committed_usd_per_hour: float | None = None
    break_even_utilisation: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BuyingTable:
    """What :func:`buying_options` returns for one option."""

    option: str
    instance: str
    region: str
    on_demand_usd_per_hour: float
    peak_instances: float
    rows: list[BuyingRow]
    assumptions: list[str] = field(default_factory=list)

    @property
    def cheapest(self) -> BuyingRow:
        """The priced row with the lowest fleet cost."""
        return min((r for r in self.rows if r.fleet_usd is not None), key=lambda r: r.fleet_usd)

    def to_dict(self) -> dict:
        return {"option": self.option, "instance": self.instance, "region": self.region,
                "on_demand_usd_per_hour": self.on_demand_usd_per_hour,
                "peak_instances": self.peak_instances,
                "rows": [r.to_dict() for r in self.rows], "cheapest": self.cheapest.label,
                "assumptions": self.assumptions}


def self_hosted_options(params: Params) -> list[str]:
    """Names of the self-hosted options of ``params``."""
    return [n for n, o in params.options.items() if o.kind == "self_hosted"]


def with_buying(params: Params, name: str, buying: dict) -> Params:
    """``params`` with only option ``name``, its ``buying:`` replaced (and validated)."""
    opt = params.options[name]
    data = opt.model_dump(mode="python", exclude_unset=True)
    data.pop("spot_discount_pct", None)
    fleet = dict(data.get("fleet") or {})
    fleet.pop("spot", None)  # interruptions: the fallback share stands for them here
    data["fleet"] = fleet
    data["buying"] = buying
    try:
        new_opt = type(opt).model_validate(data)
    except Exception as exc:  # pydantic ValidationError: one line
        first = getattr(exc, "errors", lambda: [{"msg": str(exc)}])()[0]
        raise CostlibError(f"options.{name}.buying: {first.get('msg', exc)}") from None
    out = params.model_copy(update={"options": {name: new_opt}})
    out._source_path = params.source_path
    return out


def fleet_usd_of(result, name: str) -> float:
    """The fleet's instance-hours in an estimate (committed, on demand, Spot, replacements) [USD/month]."""
    o = result.option(name)
    return float(sum(li.monthly_usd for li in o.line_items if li.unit == "instance-hour"))


def _num(x):
    return None if x is None else float(np.asarray(x, dtype=float).reshape(-1)[0])


def last_capacity_block_rate(instance: str, region: str, when: date) -> dict | None:
    """The latest ``capacity_block`` row of ``ec2_commitments.csv`` in force before ``when``.

    For when no rate is in force on the params' date: the last one sourced, to show with its
    window (not as the rate of that date).
    """
    from costlib.core.paths import PRICES_DIR
    from costlib.tables.prices import read_price_rows

    rows = [r for r in read_price_rows(PRICES_DIR / "ec2_commitments.csv")
            if r["name"] == instance and r["region"] == region
            and r["dimension"] == "capacity_block"
            and (r["effective_from"] is None or r["effective_from"] < when)]
    if not rows:
        return None
    return max(rows, key=lambda r: r["effective_from"] or date.min)


def buying_options(params: Params, option: str, *, discount_pct: float | None = None,
                   term_years: int = 1, payment: str = "no_upfront",
                   spot_discount_pct: float | None = None, fallback_share: float | None = None,
                   spot_source: str | None = None, spot_as_of: str | None = None,
                   block_days: int = 182) -> BuyingTable:
    """Ways of buying one self-hosted option's fleet, each priced through the whole bill.

    Parameters
    ----------
    params : Params
    option : str
        A ``self_hosted`` option of ``params``.
    discount_pct : float, optional
        Stated Savings Plan / RI discount off On-Demand [%] (capped at each kind's advertised
        maximum). None: the Savings Plan and RI rows are listed but not priced (no rate for a
        GPU instance could be sourced), and so is the mix of a commitment and Spot.
    term_years, payment
        Reported with the commitment (the rate is the stated one).
    spot_discount_pct, fallback_share : float, optional
        Spot discount [%] and the share of Spot hours run on demand [-]. None: the Spot
        Instance Advisor reading of the instance and Region (``spot_advisor.csv``): its savings,
        and the upper end of its interruption band read as the fallback share (an assumption;
        a ``>20%`` band gives 0.2, a lower bound, and says so).
    spot_source, spot_as_of : str, optional
        Source and date of given Spot figures.
    block_days : int
        Capacity Block duration [days] (default 182: one block, or blocks back to back,
        covering the month).

    Returns
    -------
    BuyingTable
    """
    if option not in params.options:
        raise CostlibError(unknown_name_message("option", option, params.options))
    opt = params.options[option]
    if opt.kind != "self_hosted":
        raise CostlibError(f"options.{option}: kind {opt.kind!r}; buying applies to self_hosted "
                           f"options ({', '.join(self_hosted_options(params)) or 'none here'})")
    if opt.platform == "sagemaker":
        raise CostlibError(f"options.{option}: platform sagemaker; EC2 Savings Plans, RIs, "
                           f"Capacity Blocks and EC2 Spot do not apply to SageMaker hosting")
    if discount_pct is not None and not 0 <= discount_pct < 100:
        raise CostlibError(f"buying: --discount-pct {discount_pct:g} must be in [0, 100)")
    instance = opt.instance.removeprefix("ml.")
    region = params.region
    assumptions = []

    base = with_buying(params, option, {})
    base_res = estimate(base)
    d0 = base_res.option(option).details.get("buying", {})
    r_od = _num(d0.get("on_demand_usd_per_hour"))
    rows = [BuyingRow("on demand", fleet_usd_of(base_res, option),
                      base_res.option(option).monthly_usd, note="every instance-hour On-Demand")]

    def priced(label, buying, note):
        res = estimate(with_buying(params, option, buying))
        d = res.option(option).details.get("buying", {})
        return BuyingRow(label, fleet_usd_of(res, option), res.option(option).monthly_usd,
                         _num(d.get("committed_instances")), _num(d.get("committed_usd_per_hour")),
                         _num(d.get("break_even_utilisation")), note)

    commits = []
    for kind in SP_RI_KINDS:
        cap = MAX_DISCOUNT_PCT[kind]
        if discount_pct is None:
            rows.append(BuyingRow(
                f"{LABELS[kind]}, {term_years} yr, {payment.replace('_', ' ')}", None, None,
                note=f"not priced: no {LABELS[kind]} rate for {instance} could be sourced (AWS "
                     f"advertises discounts of up to {cap:g}%, a best case for the most "
                     f"favourable term, not a rate for this instance); state one with "
                     f"--discount-pct. A committed instance pays off when the fleet needs it "
                     f"in more than (100 - discount)% of the hours"))
            continue
        pct = min(discount_pct, cap)
        how = f"at a stated {pct:g}%" + (f" (capped at the advertised {cap:g}%)"
                                         if discount_pct > cap else "")
        com = {"kind": kind, "term_years": term_years, "payment": payment, "discount_pct": pct,
               "source": "stated"}
        row = priced(f"{LABELS[kind]}, {term_years} yr, {payment.replace('_', ' ')}, {pct:g}% off",
                     {"commitment": com}, how)
        rows.append(row)
        commits.append((row, com))

    # Capacity Block: the table's rate on the params' date, else the last one sourced, labelled
    cb = {"kind": "capacity_block", "days": block_days}
    try:
        rows.append(priced(f"Capacity Block, {block_days} days", {"commitment": cb},
                           "table rate in force on the params' date; paid up front; SP/RI "
                           "discounts do not apply"))
    except CostlibError:
        when = params.prices.as_of or date.today()
        last = last_capacity_block_rate(instance, region, when)
        if last is None:
            assumptions.append(f"Capacity Block: no rate for {instance} in {region} in the "
                               f"tables (Capacity Blocks exist for p4d, p4de, p5, p5e, p5en, "
                               f"p6, trn1, trn2 only); row left out")
        else:
            win = f"{last['effective_from'] or '?'} to {last['effective_to'] or 'open'}"
            note = (f"no rate in force on {when}; priced at the last sourced rate "
                    f"{last['usd']:g} USD/h ({last['source']}, as of {last['as_of']}, in force "
                    f"{win}): NOT the rate of {when}")
            cb_stated = {**cb, "usd_per_instance_hour": float(last["usd"]),
                         "source": last["source"], "as_of": str(last["as_of"])}
            rows.append(priced(f"Capacity Block, {block_days} days (last sourced rate)",
                               {"commitment": cb_stated}, note))
            assumptions.append("Capacity Block: " + note)

    # Spot with on-demand fallback
    if spot_discount_pct is None or fallback_share is None:
        from costlib.tables.spot import spot_reading

        try:
            reading = spot_reading(instance, region)
        except CostlibError as exc:
            raise CostlibError(f"{exc.message} (--spot-discount-pct and --fallback-share)") from None
        if spot_discount_pct is None:
            spot_discount_pct = reading.savings_pct
        if fallback_share is None:
            up = reading.band_upper
            fallback_share = 0.2 if up is None else up
            assumptions.append(
                f"Spot fallback share {fallback_share:g}: the upper end of the Advisor's "
                f"interruption band {reading.band} read as the share of Spot hours run on "
                f"demand (an assumption; the Advisor publishes no such share"
                + ("; '>20%' has no upper end, so 0.2 is a lower bound" if up is None else "")
                + ")")
        spot_source = spot_source or reading.source
        spot_as_of = spot_as_of or reading.as_of
    if not 0 <= fallback_share <= 1:
        raise CostlibError(f"buying: --fallback-share {fallback_share:g} must be in [0, 1]")
    spot = {"share": 1.0, "discount_pct": spot_discount_pct, "fallback_share": fallback_share,
            "source": spot_source or "stated", "as_of": spot_as_of or "stated"}
    assumptions.append(f"Spot: {spot_discount_pct:g}% off On-Demand, {fallback_share:g} of "
                       f"Spot hours on demand ({spot['source']}, {spot['as_of']}); an Advisor "
                       f"savings figure is against the On-Demand price when its feed was built, "
                       f"which may predate a price change; Spot interruption overhead "
                       f"(fleet.spot) is not added")
    rows.append(priced(f"Spot with on-demand fallback ({spot_discount_pct:g}% off, "
                       f"{fallback_share:g} fallback)", {"spot": spot}, "stated Spot figures"))

    # the mix: the cheapest commitment kind, sized against the Spot-blended rate above it
    if commits:
        best_row, best_com = min(commits, key=lambda rc: rc[0].fleet_usd)
        rows.append(priced(f"mix: {best_row.label} for the base, Spot with fallback above it",
                           {"commitment": best_com, "spot": spot}, best_row.note))
    else:
        assumptions.append("Savings Plan / RI rows are not priced: no rate for a GPU instance "
                           "could be sourced (AWS advertises only maxima: Compute SP 66%, EC2 "
                           "Instance SP 72%, RI 72%); give --discount-pct for a stated one, "
                           "which also prices the mix of a commitment and Spot")
    peak = _num(d0.get("peak_instances"))
    return BuyingTable(option, instance, region, r_od, peak, rows, assumptions)


def format_buying(table: BuyingTable) -> str:
    """The table as text: one line per way of buying, then the assumptions."""
    lines = [f"{table.option} ({table.instance}, {table.region}): on demand "
             f"{table.on_demand_usd_per_hour:,.4g} USD/instance-hour, peak "
             f"{table.peak_instances:g} instances",
             f"{'way of buying':<78} {'fleet USD/mo':>14} {'option USD/mo':>14} "
             f"{'committed':>9} {'break-even':>10}"]
    for r in table.rows:
        c = "" if r.committed_instances is None else f"{r.committed_instances:g}"
        be = ("" if r.break_even_utilisation is None else "never" if
              r.break_even_utilisation >= 1 else f"{r.break_even_utilisation:.1%}")
        if r.fleet_usd is None:
            lines.append(f"{r.label:<78} {'not priced':>14} {'':>14} {c:>9} {be:>10}")
            continue
        lines.append(f"{r.label:<78} {r.fleet_usd:>14,.0f} {r.option_usd:>14,.0f} {c:>9} "
                     f"{be:>10}")
    lines.append(f"cheapest: {table.cheapest.label}")
    lines.append("break-even: the share of hours a committed instance must be busy to pay off "
                 "against the hours it replaces; 'never' when the committed rate is above them. "
                 "Spot's fallback share stands for capacity it cannot supply, not for the "
                 "latency of an interrupted request.")
    lines.extend(f"note: {a}" for a in table.assumptions)
    return "\n".join(lines)


__all__ = ["BuyingRow", "BuyingTable", "buying_options", "format_buying", "with_buying",
           "fleet_usd_of",
           "last_capacity_block_rate", "self_hosted_options"]
