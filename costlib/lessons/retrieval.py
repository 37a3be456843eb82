"""Lesson 04, retrieval and context (``notebooks/04_retrieval.ipynb``).

The functions the notebook's cells call: the ``retrieval:`` block of a params file, the
retrieval line items (embeddings, the vector store, pre/post-processing), the vector stores
against corpus size, the retrieved context as input tokens billed under inference (and what it
does to a self-hosted fleet), Lambda against Fargate for the glue compute, and the exercises'
answers. Prose comes back as :class:`IPython.display.Markdown` built from computed values.

A params file with retrieval off (``retrieval.enabled: false``, the default) has nothing to show
in this category, so the lesson prices it with retrieval switched on and the block's settings
(:func:`retrieval_case`) and says so (:func:`retrieval_status`).

Every cost is read from the estimate (:func:`costlib.bill.estimate.estimate`,
:func:`costlib.whatif.compare.compare`, :func:`costlib.bill.vector.price_many` for curves);
sizes from :mod:`costlib.formulas.vectorstores`. No price is typed here.

References
----------
How each item is priced: :mod:`costlib.bill.plumbing.retrieval` (embeddings per token on
Bedrock, OpenSearch Serverless OCU-hours with their floor, Aurora Serverless v2 ACU-hours,
DynamoDB request units and an in-process index held in Fargate memory, Lambda requests and
GB-seconds, Fargate vCPU- and GB-hours). The article: "Context bloat from RAG that adds 2k tokens
of low-signal stuff to every request"; "Shrink embedding dimensions if you can".
"""

from __future__ import annotations

from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, with_overrides
from costlib.core.errors import CostlibError
from costlib.core.units import HOURS_PER_MONTH
from costlib.lessons import Lesson, start
from costlib.lessons.charts import CATEGORY_COLORS, HEIGHT, WIDTH, dashed_cost_lines

RETRIEVAL_COLOR = CATEGORY_COLORS["retrieval"]
"""The retrieval category's colour (:data:`costlib.lessons.charts.CATEGORY_COLORS`)."""

INFERENCE_COLOR = CATEGORY_COLORS["inference"]
"""The inference category's colour: the retrieved context is billed there."""

PARTS = ("embeddings", "vector store", "pre/post-processing", "response cache",
         "retrieved context")
"""What a retrieval line item pays for, in the order the lesson explains them."""

STORES = {"opensearch_serverless": "OpenSearch Serverless",
          "aurora_pgvector": "Aurora Serverless v2 + pgvector",
          "dynamodb_inprocess": "in-process index (chunks in DynamoDB)"}
"""The vector stores the lesson compares: ``retrieval.vector_store.kind`` -> words (a
self-managed EC2 store needs a price the tables lack, so it is left out)."""


def _usd(x: float) -> str:
    return f"{x:,.2f} USD"


class RetrievalCase(NamedTuple):
    """What the lesson prices: retrieval switched on.

    Attributes
    ----------
    params : Params
        The params file, with ``retrieval.enabled: true`` when it had retrieval off.
    result : Estimate
        Its estimate.
    switched_on : bool
        True when the lesson switched retrieval on (the file has it off).
    file_result : Estimate
        The params file's own estimate.
    dropped : tuple of (str, str)
        Options the added context makes impossible to price (a self-hosted fleet that can no
        longer meet the latency bounds, say), with the reason; they are left out of ``params``.
    """

    params: Params
    result: Estimate
    switched_on: bool
    file_result: Estimate
    dropped: tuple = ()


def retrieval_case(lesson: Lesson) -> RetrievalCase:
    """The params file with retrieval on: as it is, or with ``retrieval.enabled: true``."""
    params, result = lesson
    if params.retrieval.enabled:
        return RetrievalCase(params, result, False, result)
    on = with_overrides(params, {"retrieval.enabled": True})
    try:
        return RetrievalCase(on, estimate(on), True, result)
    except CostlibError:
        pass
    from costlib.whatif.compare import _only

    kept, dropped = [], []
    for name in on.options:
        try:
            estimate(_only(on, [name]))
            kept.append(name)
        except CostlibError as exc:
            dropped.append((name, exc.message))
    if not kept:
        raise CostlibError("with retrieval on, no option of this params file can be priced: "
                           + "; ".join(m for _, m in dropped))
    on = _only(on, kept)
    return RetrievalCase(on, estimate(on), True, result, tuple(dropped))


def context_tokens(params: Params) -> float:
    """Retrieved tokens added to every prompt [tokens] = chunks x tokens per chunk x share kept
    (:func:`costlib.formulas.tokens.context_tokens_per_request`), whether or not retrieval is on."""
    from costlib.formulas.tokens import context_tokens_per_request

    r = params.retrieval
    return float(context_tokens_per_request(r.chunks_per_request, r.tokens_per_chunk,
                                            r.context_kept_fraction))


def retrieval_status(case: RetrievalCase) -> Markdown:
    """The retrieval block in words, and what the lesson does when the file has it off."""
    r = case.params.retrieval
    store = STORES.get(r.vector_store.kind, r.vector_store.kind)
    emb = (f"{r.embedding.model} on Bedrock" if r.embedding.hosting == "managed"
           else f"a self-hosted model on {r.embedding.instance}")
    what = (f"each request embeds its {r.query_tokens:g}-token question with {emb}, asks "
            f"{store} for the top {r.chunks_per_request} chunks of {r.tokens_per_chunk:g} tokens "
            f"from a corpus of {r.corpus_chunks:,.0f} chunks, and keeps "
            f"{r.context_kept_fraction:.0%} of them: **{context_tokens(case.params):,.0f} tokens "
            f"of context** added to every prompt.")
    if not case.switched_on:
        return Markdown(f"Retrieval is on in this params file: {what}")
    off = sum(li.monthly_usd for o in case.file_result.options for li in o.line_items
              if li.category == "retrieval")
    return Markdown(
        "This params file has retrieval **off** (`retrieval.enabled: false`): its own bill has "
        f"{_usd(off)} a month of retrieval over all its options, and its `in_tokens` is the "
        "whole prompt. So that the lesson has something to price, every number below is the file "
        f"with `retrieval.enabled: true` and the block's baseline settings: {what} Those tokens "
        f"come on top of the file's {case.params.workload.in_tokens:g}-token prompt. "
        "`params/rag_plumbing.yaml` states every setting of a RAG assistant."
        + "".join(f" With that longer prompt, **{name}** cannot be priced ({_reason(msg)}), so "
                  "it is left out below." for name, msg in case.dropped))


def _reason(message: str) -> str:
    """The part of an error message after the option's name."""
    return message.split(": ", 1)[1] if message.startswith("options.") else message


def retrieval_block(params: Params) -> pd.DataFrame:
    """The ``retrieval:`` block as the estimate reads it (defaults filled in): one row per key."""
    block = pd.json_normalize(params.retrieval.model_dump(mode="json"), sep=".").T
    block.columns = ["value"]
    block.index.name = "retrieval."
    block["value"] = [_shown(v) for v in block["value"]]
    return block


def _shown(value) -> str:
    """A params value as text; an unset optional key reads "not set (default)"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "not set (default)"
    return str(value)


# --------------------------------------------------------------------------------------------
# the line items


def part_of(item: str) -> str:
    """Which part of :data:`PARTS` a retrieval line item's label pays for."""
    if "embedding" in item:
        return PARTS[0]
    if item.startswith("pre/post-processing"):
        return PARTS[2]
    if item.startswith("response-cache"):
        return PARTS[3]
    if item.startswith("retrieved context"):
        return PARTS[4]
    return PARTS[1]


def retrieval_items(result: Estimate, option: str | None = None) -> pd.DataFrame:
    """The retrieval line items of one option (default the first): what each costs a month.

    Returns
    -------
    pandas.DataFrame
        ``part``, ``item``, ``quantity``, ``unit``, ``unit_usd``, ``monthly_usd`` [USD/month].
    """
    frame = result.to_frame()
    option = option or frame["option"].iloc[0]
    rows = frame[(frame["option"] == option) & (frame["category"] == "retrieval")]
    rows = rows.assign(part=rows["item"].map(part_of))
    return rows[["part", "item", "quantity", "unit", "unit_usd", "monthly_usd"]].reset_index(drop=True)


def retrieval_chart(items: pd.DataFrame) -> alt.Chart:
    """Bars: what each retrieval line item costs a month, in the retrieval colour."""
    data = items[items["part"] != PARTS[4]]
    return (
        alt.Chart(data)
        .mark_bar(color=RETRIEVAL_COLOR)
        .encode(
            x=alt.X("monthly_usd:Q", title="retrieval cost per month (usd)"),
            y=alt.Y("item:N", title=None, sort="-x", axis=alt.Axis(labelLimit=380)),
            tooltip=["part", "item", alt.Tooltip("quantity:Q", format=",.2f"), "unit",
                     alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=WIDTH - 140, height=alt.Step(22))
    )


def retrieval_note(case: RetrievalCase, items: pd.DataFrame) -> Markdown:
    """The retrieval total of one option, its parts, and the share billed whatever the traffic."""
    total = float(items["monthly_usd"].sum())
    parts = items.groupby("part")["monthly_usd"].sum()
    fixed = float(items.loc[items["unit"].str.endswith("-hour"), "monthly_usd"].sum())
    share = f"{100 * fixed / total:.0f} %" if total else "none"
    ctx = items[items["part"] == PARTS[4]]
    ctx_m = float(ctx["quantity"].sum()) if len(ctx) else 0.0
    spent = "; ".join(f"{p} {_usd(parts[p])}" for p in PARTS if p in parts and p != PARTS[4])
    return Markdown(
        f"Retrieval costs **{_usd(total)} a month** ({spent}). Of that, {share} is billed by the "
        "hour (capacity that runs whether or not anyone asks a question). The retrieved context "
        f"adds {ctx_m:,.0f} million input tokens a month, which the model bills under inference "
        "(next questions).")


# --------------------------------------------------------------------------------------------
# the vector stores against corpus size


def _first(params: Params) -> str:
    """The first option that can be priced alone (not a router, which needs its routes)."""
    for name, opt in params.options.items():
        if opt.kind != "router":
            return name
    return next(iter(params.options))


def store_curve(case: RetrievalCase, corpus_chunks=None) -> pd.DataFrame:
    """Each vector store's monthly cost against the chunks in the corpus.

    One :func:`costlib.bill.vector.price_many` call per store of :data:`STORES` over
    ``retrieval.corpus_chunks`` (first option only; the store's cost is the same for every
    option). The store's cost is its capacity, storage, reads and writes (not embeddings).

    Returns
    -------
    pandas.DataFrame
        ``store`` (words), ``corpus_chunks`` [-], ``monthly_usd`` [USD/month], ``note``: why a
        store is not priced (``monthly_usd`` NaN), e.g. a price missing for the region.
    """
    from costlib.bill.vector import price_many
    from costlib.whatif.compare import _only

    chunks = (np.geomspace(1e4, 1e7, 13) if corpus_chunks is None
              else np.asarray(corpus_chunks, dtype=float))
    option = _first(case.params)
    frames = []
    for kind, words in STORES.items():
        variant = _only(with_overrides(case.params, {"retrieval.vector_store.kind": kind}), [option])
        try:
            bill = price_many(variant, {"retrieval.corpus_chunks": chunks})
        except CostlibError as exc:  # a price the tables lack for this region: say so
            frames.append(pd.DataFrame({"store": words, "corpus_chunks": chunks,
                                        "monthly_usd": np.nan,
                                        "note": exc.message.split(": ", 1)[-1]}))
            continue
        usd = np.zeros(len(chunks))
        for item in bill.options[option]:
            if item.category == "retrieval" and part_of(item.item) == PARTS[1]:
                usd = usd + item.monthly_usd
        frames.append(pd.DataFrame({"store": words, "corpus_chunks": chunks, "monthly_usd": usd,
                                    "note": ""}))
    return pd.concat(frames, ignore_index=True)


def store_chart(curve: pd.DataFrame, corpus_now: float | None = None) -> alt.LayerChart:
    """Lines: each store's monthly cost against corpus size (log-log), retrieval colour, one
    dash pattern per store; a dotted rule at the params file's corpus."""
    curve = curve.dropna(subset=["monthly_usd"])
    return dashed_cost_lines(curve, "corpus_chunks", "chunks in the corpus (log scale)",
                             "vector store cost per month (usd, log scale)", "store",
                             "vector store", list(STORES.values()), RETRIEVAL_COLOR, corpus_now)


def store_note(case: RetrievalCase) -> Markdown:
    """The stores' monthly cost at the params file's corpus, cheapest first."""
    n = case.params.retrieval.corpus_chunks
    at = store_curve(case, [n])
    missing = at[at["monthly_usd"].isna()]
    at = at.dropna(subset=["monthly_usd"]).sort_values("monthly_usd")
    now = STORES.get(case.params.retrieval.vector_store.kind, case.params.retrieval.vector_store.kind)
    text = (f"At this corpus of {n:,.0f} chunks (the dotted line): "
            + "; ".join(f"{r.store} {_usd(r.monthly_usd)}" for r in at.itertuples())
            + f" a month. The params file uses {now}.")
    for r in missing.itertuples():
        text += f" {r.store} is not priced here: {r.note}."
    return Markdown(text)


# --------------------------------------------------------------------------------------------
# the retrieved context, billed under inference


def context_curve(case: RetrievalCase, kept=(0.0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """Each option's inference bill against the retrieved tokens added to every prompt.

    One :func:`costlib.bill.vector.price_many` call over ``retrieval.context_kept_fraction``
    (the share of the retrieved chunks kept); a self-hosted fleet is re-sized at each point.

    Returns
    -------
    pandas.DataFrame
        ``option``, ``context_tokens`` [tokens per request], ``inference_usd`` and
        ``total_usd`` [USD/month].
    """
    from costlib.bill.vector import price_many

    kept = np.asarray(kept, dtype=float)
    bill = price_many(case.params, {"retrieval.context_kept_fraction": kept})
    r = case.params.retrieval
    tokens = r.chunks_per_request * r.tokens_per_chunk * kept
    frames = []
    for option in bill.options:
        cats = bill.by_category(option)
        frames.append(pd.DataFrame({"option": option, "context_tokens": tokens,
                                    "inference_usd": np.broadcast_to(cats.get("inference", 0.0),
                                                                     tokens.shape),
                                    "total_usd": bill.total(option)}))
    return pd.concat(frames, ignore_index=True)


def context_chart(curve: pd.DataFrame) -> alt.Chart:
    """Lines: each option's inference bill against retrieved tokens per prompt, in the inference
    colour (the context is billed there), one dash pattern per option; y on a log scale."""
    options = list(dict.fromkeys(curve["option"]))
    return (
        alt.Chart(curve)
        .mark_line(point=alt.OverlayMarkDef(color=INFERENCE_COLOR, filled=True),
                   color=INFERENCE_COLOR)
        .encode(
            x=alt.X("context_tokens:Q", title="retrieved context per prompt (tokens)"),
            y=alt.Y("inference_usd:Q", title="inference cost per month (usd, log scale)",
                    scale=alt.Scale(type="log")),
            strokeDash=alt.StrokeDash("option:N", title="option", sort=options),
            tooltip=["option", "context_tokens", alt.Tooltip("inference_usd:Q", format=",.0f")],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def _rps_per_instance(details: dict, tokens_per_request: float) -> float:
    """Requests/s one instance serves = sequences held x tokens/s per sequence / tokens per
    request (the worksheet's throughput, :mod:`costlib.formulas.worksheet`)."""
    batch, tps = details.get("batch_size"), details.get("tokens_per_second_per_instance")
    if batch is None or tps is None:
        return float("nan")
    return float(batch) * float(tps) / float(tokens_per_request)


def context_table(case: RetrievalCase) -> pd.DataFrame:
    """Per option: the inference bill with the retrieved context and without it, and for a
    self-hosted fleet the instances it needs at p95 and its tokens per second per sequence.

    Returns
    -------
    pandas.DataFrame
        Index ``option``; ``inference_with_usd``, ``inference_without_usd``, ``context_usd``
        (the difference) [USD/month], ``context_pct`` [% of the option's bill];
        for a self-hosted option ``instances_p95_with``, ``instances_p95_without`` [-],
        ``batch_with``, ``batch_without`` [sequences per instance] and
        ``rps_per_instance_with``, ``rps_per_instance_without`` [requests/s one instance serves].
    """
    from costlib.whatif.compare import compare

    c = compare(case.params, {"retrieval.enabled": False}, before=case.result)
    by = c.by_category()
    inf = by[by["category"] == "inference"].set_index("option")
    after = {o.name: o for o in c.after.options}
    with_tokens = case.result.workload["in_tokens"] + case.result.workload["out_tokens"]
    without_tokens = c.after.workload["in_tokens"] + c.after.workload["out_tokens"]
    rows = []
    for o in case.result.options:
        w, wo = float(inf.loc[o.name, "before_usd"]), float(inf.loc[o.name, "after_usd"])
        row = {"option": o.name, "inference_with_usd": w, "inference_without_usd": wo,
               "context_usd": w - wo, "context_pct": 100 * (w - wo) / o.monthly_usd}
        if o.kind == "self_hosted":
            a = after[o.name].details
            row.update({"instances_p95_with": o.details.get("instances_p95"),
                        "instances_p95_without": a.get("instances_p95"),
                        "batch_with": o.details.get("batch_size"),
                        "batch_without": a.get("batch_size"),
                        "rps_per_instance_with": _rps_per_instance(o.details, with_tokens),
                        "rps_per_instance_without": _rps_per_instance(a, without_tokens)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("option")


def context_note(case: RetrievalCase, table: pd.DataFrame) -> Markdown:
    """What the context costs each option under inference, and what it does to a fleet."""
    tokens = context_tokens(case.params)
    lines = [f"The {tokens:,.0f} retrieved tokens per prompt cost, under inference:"]
    for o, r in table.iterrows():
        line = f"- **{o}**: {_usd(r['context_usd'])} a month ({r['context_pct']:.1f} % of its bill)"
        if "instances_p95_with" in r and pd.notna(r.get("instances_p95_with")):
            line += (f"; one instance serves {r['rps_per_instance_with']:,.1f} requests/s with "
                     f"the context against {r['rps_per_instance_without']:,.1f} without "
                     f"({r['batch_with']:,.0f} sequences at once against "
                     f"{r['batch_without']:,.0f}), so the fleet needs "
                     f"{r['instances_p95_with']:,.0f} instances at p95 against "
                     f"{r['instances_p95_without']:,.0f}")
        lines.append(line + ".")
    return Markdown("\n".join(lines))


# --------------------------------------------------------------------------------------------
# pre/post-processing: Lambda against Fargate


def _traffic_inputs(params: Params, factors) -> dict:
    """``price_many`` inputs scaling every rate of the workload by ``factors`` (shape kept)."""
    w = params.workload
    f = np.asarray(factors, dtype=float)
    out = {"workload.avg_rps": w.avg_rps * f}
    if w.p95_rps is not None:
        out["workload.p95_rps"] = w.p95_rps * f
    if w.traffic is not None:
        for knob in ("peak_rps", "base_rps"):
            if getattr(w.traffic, knob) is not None:
                out[f"workload.traffic.{knob}"] = getattr(w.traffic, knob) * f
    return out


def processing_curve(case: RetrievalCase, factors=None) -> pd.DataFrame:
    """Lambda and Fargate glue compute, monthly, against requests a month.

    The workload's rates are scaled by ``factors`` (shape kept) and the first option priced with
    ``retrieval.processing.kind`` = ``lambda`` and = ``fargate`` (the block's memory, duration and
    task sizes), one :func:`costlib.bill.vector.price_many` call each.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``requests_per_month`` [requests/month], ``monthly_usd`` [USD/month].
    """
    from costlib.bill.vector import price_many
    from costlib.whatif.compare import _only

    factors = np.geomspace(0.01, 30, 25) if factors is None else np.asarray(factors, float)
    option = _first(case.params)
    frames = []
    for kind in ("lambda", "fargate"):
        variant = _only(with_overrides(case.params, {"retrieval.processing.kind": kind}), [option])
        bill = price_many(variant, _traffic_inputs(case.params, factors))
        usd = np.zeros(len(factors))
        for item in bill.options[option]:
            if item.category == "retrieval" and part_of(item.item) == PARTS[2]:
                usd = usd + item.monthly_usd
        frames.append(pd.DataFrame({"kind": kind, "requests_per_month": bill.requests_per_month,
                                    "monthly_usd": usd}))
    return pd.concat(frames, ignore_index=True)


def processing_chart(curve: pd.DataFrame, requests_now: float | None = None) -> alt.LayerChart:
    """Lines: Lambda and Fargate monthly cost against requests a month (log-log)."""
    lines = alt.Chart(curve).mark_line(
        point=alt.OverlayMarkDef(color=RETRIEVAL_COLOR, filled=True), color=RETRIEVAL_COLOR).encode(
        x=alt.X("requests_per_month:Q", title="requests per month (log scale)",
                scale=alt.Scale(type="log")),
        y=alt.Y("monthly_usd:Q", title="pre/post-processing cost per month (usd, log scale)",
                scale=alt.Scale(type="log")),
        strokeDash=alt.StrokeDash("kind:N", title="compute", sort=["lambda", "fargate"]),
        tooltip=["kind", alt.Tooltip("requests_per_month:Q", format=",.0f"),
                 alt.Tooltip("monthly_usd:Q", format=",.2f")],
    )
    layers = [lines]
    if requests_now is not None:
        rule = pd.DataFrame({"requests_per_month": [float(requests_now)]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[2, 3], color="gray").encode(
            x="requests_per_month:Q"))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)


def processing_costs(case: RetrievalCase) -> dict:
    """Lambda and Fargate glue compute at the file's traffic, from the estimate's line items.

    Returns
    -------
    dict
        ``lambda_usd``, ``fargate_usd`` [USD/month], ``lambda_usd_per_request`` [USD/request],
        ``requests_per_month``, and ``breakeven_requests`` [requests/month] = Fargate's monthly
        cost / Lambda's cost per request (Fargate runs all month whatever the traffic; Lambda
        bills per request and GB-second, linear below its next price tier).
    """
    from costlib.whatif.compare import compare

    option = _first(case.params)
    out = {}
    for kind in ("lambda", "fargate"):
        after = compare(case.params, {"retrieval.processing.kind": kind}, before=case.result,
                        options=[option]).after
        out[f"{kind}_usd"] = sum(li.monthly_usd for li in after.options[0].line_items
                                 if li.category == "retrieval" and part_of(li.item) == PARTS[2])
    reqs = float(case.result.workload["requests_per_month"])
    out["requests_per_month"] = reqs
    out["lambda_usd_per_request"] = out["lambda_usd"] / reqs
    out["breakeven_requests"] = out["fargate_usd"] / out["lambda_usd_per_request"]
    return out


def processing_note(case: RetrievalCase) -> Markdown:
    """Lambda against Fargate at this file's traffic, and where they cross."""
    p = case.params.retrieval.processing
    c = processing_costs(case)
    cheaper = "Lambda" if c["lambda_usd"] < c["fargate_usd"] else "Fargate"
    now = {"none": "prices no glue compute (`processing.kind: none`)",
           "lambda": "uses Lambda", "fargate": "uses Fargate"}[p.kind]
    return Markdown(
        f"At this file's {c['requests_per_month'] / 1e6:,.2f} million requests a month, Lambda "
        f"({p.lambda_memory_gb:g} GB for {p.lambda_ms_per_request:g} ms a request) costs "
        f"{_usd(c['lambda_usd'])} a month and {p.fargate_tasks} Fargate tasks of "
        f"{p.fargate_vcpu:g} vCPU and {p.fargate_gb:g} GB cost {_usd(c['fargate_usd'])}: "
        f"{cheaper} is cheaper here. The params file {now}.")


# --------------------------------------------------------------------------------------------
# exercises


def aoss_floor_chunks(params: Params) -> float:
    """The largest corpus [chunks] an OpenSearch Serverless collection holds at its OCU floor.

    Bisection on :func:`costlib.formulas.vectorstores.opensearch_serverless_ocus` of
    :func:`~costlib.formulas.vectorstores.hnsw_index_gib` (monotone in the corpus), with the
    block's dimensions, HNSW links, memory share, redundancy and floor.
    """
    from costlib.bill.plumbing.retrieval import embedding_dims
    from costlib.formulas.vectorstores import hnsw_index_gib, opensearch_serverless_ocus

    r = params.retrieval
    vs = r.vector_store
    dims = embedding_dims(r)

    def ocus(n):
        return float(opensearch_serverless_ocus(hnsw_index_gib(n, dims, vs.hnsw_m),
                                                vs.aoss_redundancy, vs.index_memory_fraction,
                                                vs.aoss_min_ocus))

    floor = ocus(1.0)
    lo, hi = 1.0, 2.0
    while ocus(hi) <= floor:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ocus(mid) <= floor else (lo, mid)
    return float(lo)


def answer_ocu_floor(case: RetrievalCase) -> Markdown:
    """Exercise: what the OpenSearch Serverless floor costs a month, and the corpus it holds.

    The floor's cost is read from the estimate with ``vector_store.kind: opensearch_serverless``
    (OCU-hours x the OCU-hour price); the hand check is floor OCUs x 730 h x that price.
    """
    from costlib.bill.plumbing.retrieval import embedding_dims
    from costlib.whatif.compare import compare

    option = _first(case.params)
    small = compare(case.params, {"retrieval.vector_store.kind": "opensearch_serverless",
                                  "retrieval.corpus_chunks": 1.0}, options=[option]).after
    ocu = next(li for li in small.options[0].line_items if li.item.startswith("OpenSearch "
                                                                               "Serverless OCUs"))
    floor = ocu.quantity / HOURS_PER_MONTH
    n = aoss_floor_chunks(case.params)
    r = case.params.retrieval
    return Markdown(
        f"The floor is {floor:g} OCUs: {floor:g} × {HOURS_PER_MONTH:g} h × {ocu.unit_usd:g} USD = "
        f"**{_usd(ocu.monthly_usd)} a month**, however few questions are asked. At "
        f"{embedding_dims(r)} dimensions it holds up to **{n:,.0f} chunks** before the index "
        f"needs more OCUs; this file's corpus is {r.corpus_chunks:,.0f} chunks.")


def answer_half_context(case: RetrievalCase) -> Markdown:
    """Exercise: what keeping half the retrieved context saves each option, and where."""
    from costlib.whatif.compare import compare

    kept = case.params.retrieval.context_kept_fraction
    c = compare(case.params, {"retrieval.context_kept_fraction": kept / 2}, before=case.result)
    by = c.by_category().set_index(["option", "category"])["change_usd"]
    lines = [f"Keeping {kept / 2:.0%} of the retrieved chunks instead of {kept:.0%} "
             f"({context_tokens(case.params) / 2:,.0f} tokens fewer per prompt):"]
    for row in c.totals().itertuples():
        lines.append(f"- {row.option}: **{_usd(-row.change_usd)} a month** less "
                     f"({-row.change_pct:.1f} %), of which {_usd(-by[(row.option, 'inference')])} "
                     "under inference.")
    return Markdown("\n".join(lines))


def answer_dims(case: RetrievalCase, dims: int = 256) -> Markdown:
    """Exercise: what embeddings of ``dims`` dimensions change, retrieval and network per option."""
    from costlib.whatif.compare import compare

    try:
        c = compare(case.params, {"retrieval.embedding.dims": dims}, before=case.result)
    except CostlibError as exc:
        return Markdown(f"Not with this embedding model: {exc.message}")
    by = c.by_category().set_index(["option", "category"])["change_usd"]
    lines = [f"With {dims}-dimension embeddings:"]
    for o in case.params.options:
        lines.append(f"- {o}: retrieval changes by **{_usd(by[(o, 'retrieval')])} a month**, the "
                     f"network by {_usd(by[(o, 'network')])}.")
    held = aoss_floor_chunks(with_overrides(case.params, {"retrieval.embedding.dims": dims}))
    lines.append(f"The smaller index holds {held:,.0f} chunks at the OpenSearch Serverless floor "
                 f"(against {aoss_floor_chunks(case.params):,.0f}); while the corpus fits under the "
                 "floor, fewer dimensions save only storage and the bytes of each query.")
    return Markdown("\n".join(lines))


def answer_processing_breakeven(case: RetrievalCase) -> Markdown:
    """Exercise: the requests a month above which Fargate's fixed tasks beat Lambda."""
    c = processing_costs(case)
    now = c["requests_per_month"]
    side = "above" if now > c["breakeven_requests"] else "below"
    return Markdown(
        f"Lambda costs {c['lambda_usd_per_request'] * 1e6:,.2f} USD per million requests; the "
        f"Fargate tasks cost {_usd(c['fargate_usd'])} a month whatever the traffic. Fargate is "
        f"cheaper above {c['fargate_usd']:,.2f} / {c['lambda_usd_per_request']:.3g} = "
        f"**{c['breakeven_requests'] / 1e6:,.1f} million requests a month**; this file's "
        f"{now / 1e6:,.2f} million is {side} that.")


__all__ = ["Lesson", "start", "RETRIEVAL_COLOR", "INFERENCE_COLOR", "PARTS", "STORES",
           "RetrievalCase", "retrieval_case", "context_tokens", "retrieval_status",
           "retrieval_block", "part_of", "retrieval_items", "retrieval_chart", "retrieval_note",
           "store_curve", "store_chart", "store_note", "context_curve", "context_chart",
           "context_table", "context_note", "processing_curve", "processing_chart",
           "processing_costs", "processing_note", "aoss_floor_chunks", "answer_ocu_floor",
           "answer_half_context", "answer_dims", "answer_processing_breakeven"]
