"""The article's cost levers, each as params overrides with a before/after in the estimate.

The article ends with "Practical ways to cut cost without wrecking latency". Each of those ways
is a :class:`Lever` here: a name, the reason in one line, and :meth:`Lever.overrides`, which
returns the ``--set``-style ``{"dotted.key": value}`` overrides that pull the lever for one
params file (``None`` when it does not apply to that file), using only keys the params schema
already has. :func:`lever_report` re-prices the file with each lever pulled
(:func:`costlib.whatif.compare.compare`) and tabulates before/after per option;
``costlib levers PARAMS`` prints the same table.

============================ ======================================================= ==========
lever                        params keys it sets                                     always
                                                                                     cheaper?
============================ ======================================================= ==========
response_cache               ``options.X`` wrapped in a router with the file's       no
                             ``options.R.cache`` (hit rate, DynamoDB store,
                             invalidation via ``failures.deploys_per_month``)
routing                      ``options.X`` wrapped in a router with the file's       no
                             ``options.R.routes`` / ``classifier``
context_right_sizing         ``retrieval.context_kept_fraction``                     yes (*)
output_caps                  ``workload.out_tokens``                                 yes (*)
token_budgets_per_tenant     none yet (no per-tenant key in the schema)              --
quantization                 ``options.X.precision: fp8``                            no
speculative_decoding         ``options.X.speculative``                               no
embedding_dimensions         ``retrieval.embedding.dims``                            yes
privatelink                  ``network.aws_path: privatelink``                       no
same_az_placement            ``network.model_cross_az_fraction``,                    yes
                             ``network.vector_store_cross_az_fraction``
log_sampling                 ``observability.payload_sample_rate``                   yes
kms_data_key_caching         ``security.objects_per_data_key``                       yes
retry_budget                 ``failures.retry_policy: budgeted``                     yes
warm_pool                    ``options.X.fleet`` (autoscaled, ``min_instances`` for  no
                             p95 demand) for fleets sized for the peak
============================ ======================================================= ==========

"Always cheaper" (:attr:`Lever.cuts_cost`) means the lever only shrinks billed quantities, so
it can never raise the total of an option it targets; the tests check it on every params file.
(*) through the throughput model a self-hosted fleet re-picks its batch, which is checked too.
The others are trade-offs: PrivateLink bills an endpoint per service per AZ-hour, which can
exceed two NAT gateways at low traffic; speculative decoding spends draft and verify compute
that pays off at small batches only; FP8 can slow a GPU without FP8 tensor cores (so it is
only proposed for GPUs that have them); an autoscaled fleet keeps headroom
(``target_utilisation``) and boots instances for each spike; a cache or router adds its own
lookups and classifier calls.

Assumptions of the levers (not prices; change them with ``--set`` when you know better) are
module constants, each documented: :data:`CONTEXT_KEPT_AFTER_DEDUP`, :data:`OUTPUT_CAP_FACTOR`,
:data:`PAYLOAD_SAMPLE_RATE`, :data:`OBJECTS_PER_DATA_KEY`, :data:`SPECULATIVE`,
:data:`SMALL_EMBEDDING_DIMS`.

References
----------
The reference article, "Practical ways to cut cost without wrecking latency" and "Business
impact you can actually forecast".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from costlib.core.errors import CostlibError
from costlib.bill.estimate import estimate
from costlib.bill.params import Params, SelfHostedOption
from costlib.whatif.compare import compare

CONTEXT_KEPT_AFTER_DEDUP = 0.25
"""Share of the retrieved tokens kept after deduplication and summarisation [0-1]; an
assumption: compact citations in place of five raw 400-token paragraphs (2,000 -> 500 tokens,
the same right-sizing the plumbing tests use)."""

OUTPUT_CAP_FACTOR = 0.6
"""Mean output tokens with an enforced ``max_new_tokens`` budget, as a share of today's mean
[-]; an assumption (a cap trims the long tail of answers; measure your own distribution)."""

PAYLOAD_SAMPLE_RATE = 0.05
"""Share of requests whose prompt/response payloads and token traces are still logged after
sampling [0-1]; an assumption (one request in twenty kept as a redacted exemplar)."""

OBJECTS_PER_DATA_KEY = 100.0
"""Objects one KMS request serves with S3 Bucket Keys or data-key caching [objects/request];
AWS says Bucket Keys cut KMS request costs "by up to 99 percent" (Amazon S3 user guide,
"Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys"), so this is the optimistic end."""

SPECULATIVE = {"acceptance_rate": 0.8, "num_speculative_tokens": 4}
"""Speculative decoding settings [-]: an assumption, the same acceptance rate (0.8) and
draft length (4) the throughput tests use; the acceptance rate depends on your prompts and
answers, so measure it."""

DRAFT_MODELS = {"llama-3.1-70b": "llama-3.1-8b", "llama-3.3-70b": "llama-3.1-8b"}
"""Draft model for a target model of the throughput catalog: the same tokenizer (Llama 3)."""

SMALL_EMBEDDING_DIMS = {"amazon.titan-embed-text-v2:0": 512}
"""Smaller output size of a managed embedding model: Titan Text Embeddings V2 offers 256, 512
and 1,024 dimensions (384, the article's figure, is not one of them; 512 is the next size
down). A self-hosted embedding model is proposed 384 dimensions (MiniLM / bge-small class)."""

SELF_HOSTED_SMALL_DIMS = 384
"""Dimensions proposed for a self-hosted embedding model above it (the article's figure)."""


@dataclass(frozen=True)
class Plan:
    """What pulling a lever means for one params file.

    Attributes
    ----------
    overrides : dict or None
        ``{"dotted.key": value}``; ``None`` when the lever does not apply.
    targets : tuple of str
        Options the lever concerns (whose totals it is meant to change).
    note : str
        What was set and on which assumption, or why the lever does not apply.
    """

    overrides: dict[str, Any] | None
    targets: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Lever:
    """One of the article's ways to cut cost.

    Attributes
    ----------
    name : str
        Short identifier (``privatelink``, ``log_sampling``, ...).
    reason : str
        Why it cuts cost, in one line.
    keys : tuple of str
        The params keys it sets (``X`` stands for an option name).
    cuts_cost : bool
        True when it only shrinks billed quantities (never raises a targeted option's total).
    plan_fn : callable
        ``(params, estimate or None) -> Plan``.
    """

    name: str
    reason: str
    keys: tuple[str, ...]
    cuts_cost: bool
    plan_fn: Callable[[Params, Any], Plan] = field(repr=False, compare=False)

    def plan(self, params: Params, result=None) -> Plan:
        """The overrides, targets and note of this lever for ``params``.

        ``result`` is the estimate of ``params`` when the caller has it (some levers size
        themselves from it, e.g. the warm pool from ``instances_p95``).
        """
        return self.plan_fn(params, result)

    def overrides(self, params: Params, result=None) -> dict[str, Any] | None:
        """The ``--set``-style overrides that pull the lever for ``params``, or ``None``."""
        return self.plan(params, result).overrides

    def targets(self, params: Params, result=None) -> tuple[str, ...]:
        """The options of ``params`` the lever concerns (empty when it does not apply)."""
        return self.plan(params, result).targets


# --------------------------------------------------------------------------------------------
# helpers


def _leaf_names(params: Params) -> list[str]:
    """Top-level options that serve a model themselves (not routers)."""
    return [n for n, o in params.options.items() if o.kind != "router"]


def _routers(params: Params, with_cache: bool | None = None) -> list[str]:
    out = []
    for n, o in params.options.items():
        if o.kind != "router":
            continue
        if with_cache is None or (o.cache is not None and o.cache.hit_fraction > 0) == with_cache:
            out.append(n)
    return out


def _unique(name: str, taken: Iterable[str], suffix: str) -> str:
    taken = set(taken)
    candidate = f"{name}__{suffix}"
    i = 2
    while candidate in taken:
        candidate = f"{name}__{suffix}{i}"
        i += 1
    return candidate


def _dump(model) -> dict:
    return model.model_dump(mode="json", exclude_unset=True)


def _wrap(params: Params, wrapped: dict[str, dict], suffix: str) -> dict[str, Any]:
    """Overrides that put each option ``X`` of ``wrapped`` behind a router body.

    ``wrapped`` maps an option name to a router body whose routes may name ``X`` itself; the
    original ``X`` moves to ``X__<suffix>``, and every route (in the new bodies and in the
    file's own routers) that named ``X`` follows it, so the file's routers cost what they did.
    """
    taken = set(params.options)
    moved = {}
    for name in wrapped:
        moved[name] = _unique(name, taken, suffix)
        taken.add(moved[name])

    def follow(routes: list[dict]) -> list[dict]:
        return [{**r, "to": moved.get(r["to"], r["to"])} for r in routes]

    out: dict[str, Any] = {}
    for name, body in wrapped.items():
        out[f"options.{moved[name]}"] = _dump(params.options[name])
        out[f"options.{name}"] = {**body, "kind": "router", "routes": follow(body["routes"])}
    for name in _routers(params):
        routes = [_dump(r) for r in params.options[name].routes]
        if any(r["to"] in moved for r in routes):
            out[f"options.{name}.routes"] = follow(routes)
    return out


def _derives_throughput(opt: SelfHostedOption) -> bool:
    """Whether a self-hosted option's throughput comes from the throughput model."""
    return (opt.tokens_per_second_per_instance is None and opt.measured_curve is None
            and opt.model is not None)


def _gpu_has_fp8(instance: str) -> bool:
    from costlib.tables import hardware as catalog

    try:
        inst = catalog.get_instance(instance)
        return bool(catalog.get_gpu(inst.accelerator).fp8_dense_tflops)
    except CostlibError:
        return False


# --------------------------------------------------------------------------------------------
# the levers, one plan function each


def _plan_response_cache(params: Params, result=None) -> Plan:
    cached = _routers(params, with_cache=True)
    if not cached:
        return Plan(None, note="no router option with a response cache in this file: the hit "
                               "rate is yours to state (options.R.cache.hit_fraction)")
    router = params.options[cached[0]]
    served = {r.to for r in router.routes}
    leaves = _leaf_names(params)
    body = {"cache": _dump(router.cache)}
    wrapped = {n: {**body, "routes": [{"to": n, "share": 1.0}]} for n in leaves}
    if not wrapped:
        return Plan(None, note="no option to put behind the cache")
    return Plan(_wrap(params, wrapped, "uncached"), tuple(wrapped),
                f"each option behind {cached[0]}'s response cache "
                f"({router.cache.hit_fraction:.0%} hits, DynamoDB lookups and fills, stampede "
                f"after deploys per failures.deploys_per_month); "
                f"{', '.join(sorted(served))} already sits behind it")


def _plan_routing(params: Params, result=None) -> Plan:
    routers = _routers(params)
    if not routers:
        return Plan(None, note="no router option in this file: routes and their shares are "
                               "yours to state (options.R.routes)")
    router = params.options[routers[0]]
    routes = [_dump(r) for r in router.routes]
    body: dict[str, Any] = {"routes": routes}
    if router.classifier is not None:
        body["classifier"] = _dump(router.classifier)
    wrapped = {}
    for name in _leaf_names(params):
        if [r["to"] for r in routes] == [name]:
            continue  # routing an option to itself changes nothing
        wrapped[name] = body
    if not wrapped:
        return Plan(None, note=f"{routers[0]} routes every miss to one option; nothing to "
                               "route elsewhere")
    return Plan(_wrap(params, wrapped, "direct"), tuple(wrapped),
                f"each option's traffic split by {routers[0]}'s routes "
                f"({', '.join(f'{r.to} {r.share:.0%}' for r in router.routes)}), no cache")


def _plan_context(params: Params, result=None) -> Plan:
    r = params.retrieval
    if not r.enabled:
        return Plan(None, note="retrieval.enabled is false: this file does not separate "
                               "retrieved context from the prompt")
    if r.context_kept_fraction <= CONTEXT_KEPT_AFTER_DEDUP:
        return Plan(None, note=f"context already right-sized (context_kept_fraction "
                               f"{r.context_kept_fraction:g})")
    before = r.chunks_per_request * r.tokens_per_chunk * r.context_kept_fraction
    after = r.chunks_per_request * r.tokens_per_chunk * CONTEXT_KEPT_AFTER_DEDUP
    return Plan({"retrieval.context_kept_fraction": CONTEXT_KEPT_AFTER_DEDUP},
                tuple(params.options),
                f"retrieved context {before:,.0f} -> {after:,.0f} tokens per request "
                f"(dedup + summarise keeps {CONTEXT_KEPT_AFTER_DEDUP:.0%}; assumption)")


def _plan_output_caps(params: Params, result=None) -> Plan:
    out = params.workload.out_tokens
    capped = round(out * OUTPUT_CAP_FACTOR, 1)
    return Plan({"workload.out_tokens": capped}, tuple(params.options),
                f"mean answer {out:g} -> {capped:g} tokens under a max_new_tokens budget "
                f"({OUTPUT_CAP_FACTOR:g} x; assumption)")


def _plan_token_budgets(params: Params, result=None) -> Plan:
    return Plan(None, note="no params key yet: the schema has no per-tenant traffic or budget "
                           "(only one workload's mean in_tokens/out_tokens; see "
                           "output_caps and context_right_sizing)")


def _plan_quantization(params: Params, result=None) -> Plan:
    targets, skipped = [], []
    for name, opt in params.options.items():
        if not isinstance(opt, SelfHostedOption):
            continue
        if not _derives_throughput(opt):
            skipped.append(f"{name}: throughput given in the file")
        elif opt.precision != "bf16" and opt.precision != "fp16":
            skipped.append(f"{name}: already {opt.precision}")
        elif not _gpu_has_fp8(opt.instance):
            skipped.append(f"{name}: {opt.instance} has no FP8 tensor cores")
        else:
            targets.append(name)
    if not targets:
        why = "; ".join(skipped) or "no self-hosted option"
        return Plan(None, note=f"does not apply: {why}")
    return Plan({f"options.{n}.precision": "fp8" for n in targets}, tuple(targets),
                "FP8 weights (and, by default, FP8 KV cache) on GPUs with FP8 tensor cores; "
                "the throughput model re-picks the batch")


def _plan_speculative(params: Params, result=None) -> Plan:
    out, targets = {}, []
    for name, opt in params.options.items():
        if not isinstance(opt, SelfHostedOption) or not _derives_throughput(opt):
            continue
        draft = DRAFT_MODELS.get(opt.model)
        if draft is None or opt.speculative is not None:
            continue
        out[f"options.{name}.speculative"] = {**SPECULATIVE, "draft_model": draft}
        targets.append(name)
    if not targets:
        return Plan(None, note="no self-hosted option whose throughput is modelled with a "
                               "draft model in the catalog (Llama 3 70B class)")
    return Plan(out, tuple(targets),
                f"draft model, acceptance {SPECULATIVE['acceptance_rate']:g}, "
                f"{SPECULATIVE['num_speculative_tokens']} tokens per step (assumption)")


def _plan_embedding_dims(params: Params, result=None) -> Plan:
    r = params.retrieval
    if not r.enabled:
        return Plan(None, note="retrieval.enabled is false")
    e = r.embedding
    if e.hosting == "managed":
        small = SMALL_EMBEDDING_DIMS.get(e.model)
        if small is None:
            return Plan(None, note=f"no smaller size known for {e.model}")
        if e.dims is not None and e.dims <= small:
            return Plan(None, note=f"already {e.dims} dimensions")
    else:
        small = SELF_HOSTED_SMALL_DIMS
        if e.dims is not None and e.dims <= small:
            return Plan(None, note=f"already {e.dims} dimensions")
    return Plan({"retrieval.embedding.dims": small}, tuple(params.options),
                f"{small}-dimension vectors: less storage, index memory and bytes per query")


def _plan_privatelink(params: Params, result=None) -> Plan:
    if params.network.aws_path != "nat":
        return Plan(None, note="AWS APIs already reached through PrivateLink")
    return Plan({"network.aws_path": "privatelink"}, tuple(params.options),
                "interface endpoints for Bedrock, Logs, KMS, ... in place of NAT gateways")


def _plan_same_az(params: Params, result=None) -> Plan:
    n = params.network
    out = {}
    if n.model_cross_az_fraction > 0:
        out["network.model_cross_az_fraction"] = 0.0
    if n.vector_store_cross_az_fraction > 0:
        out["network.vector_store_cross_az_fraction"] = 0.0
    if not out:
        return Plan(None, note="already same-AZ")
    return Plan(out, tuple(params.options),
                "zone-affine routing: app, fleet and vector store calls stay in their AZ")


def _plan_log_sampling(params: Params, result=None) -> Plan:
    o = params.observability
    if not (o.log_payloads or o.token_level_traces):
        return Plan(None, note="no payloads or token traces logged: nothing heavy to sample")
    if o.payload_sample_rate <= PAYLOAD_SAMPLE_RATE:
        return Plan(None, note=f"payloads already sampled at {o.payload_sample_rate:g}")
    return Plan({"observability.payload_sample_rate": PAYLOAD_SAMPLE_RATE},
                tuple(params.options),
                f"payloads and token traces kept for {PAYLOAD_SAMPLE_RATE:.0%} of requests "
                "(assumption); metadata lines for all")


def _plan_kms(params: Params, result=None) -> Plan:
    s = params.security
    if not (s.encrypted_writes_per_request or s.encrypted_reads_per_request):
        return Plan(None, note="no KMS request per request to cache")
    if s.objects_per_data_key >= OBJECTS_PER_DATA_KEY:
        return Plan(None, note="data keys already cached")
    return Plan({"security.objects_per_data_key": OBJECTS_PER_DATA_KEY}, tuple(params.options),
                f"S3 Bucket Keys / data-key caching: one KMS call per "
                f"{OBJECTS_PER_DATA_KEY:g} objects (AWS's 'up to 99 %')")


def _plan_retry_budget(params: Params, result=None) -> Plan:
    f = params.failures
    if f.retry_policy != "naive":
        return Plan(None, note=f"retries already {f.retry_policy}")
    return Plan({"failures.retry_policy": "budgeted"}, tuple(params.options),
                f"backoff with retries capped at {f.retry_budget_fraction:.0%} of requests")


def _plan_warm_pool(params: Params, result=None) -> Plan:
    hosted = [n for n, o in params.options.items() if isinstance(o, SelfHostedOption)]
    if not hosted:
        return Plan(None, note="no self-hosted option")
    if result is None:
        from costlib.bill.estimate import estimate

        result = estimate(params)
    details = {o.name: o.details for o in result.options}
    out, targets, notes, skipped = {}, [], [], []
    for name in hosted:
        fleet = params.options[name].fleet
        warm = max(1, int(math.ceil(details[name]["instances_p95"] - 1e-9)))
        if fleet.policy == "fixed" and fleet.size_for == "peak":
            notes.append(f"{name}: fixed for the peak -> autoscaled, {warm} warm")
        elif fleet.policy == "autoscaled" and fleet.min_instances > warm:
            notes.append(f"{name}: warm pool {fleet.min_instances} -> {warm}")
        else:
            skipped.append(f"{name}: {fleet.policy}"
                           + (f" for {fleet.size_for}" if fleet.policy != "autoscaled" else
                              f", {fleet.min_instances} warm (p95 needs {warm})"))
            continue
        body = {k: v for k, v in _dump(fleet).items() if k not in ("size_for", "schedule")}
        out[f"options.{name}.fleet"] = {**body, "policy": "autoscaled", "min_instances": warm}
        targets.append(name)
    if not targets:
        return Plan(None, note="no fleet sized for the peak or with a warm pool above p95 ("
                               + "; ".join(skipped) + "); a larger warm pool buys latency, "
                               "not savings")
    return Plan(out, tuple(targets), "; ".join(notes))


LEVERS: tuple[Lever, ...] = (
    Lever("response_cache",
          "repeated questions are answered from a cache keyed by instruction and context, "
          "not by the model", ("options.X -> router with options.R.cache",), False,
          _plan_response_cache),
    Lever("routing", "easy questions go to a small model, only hard ones to the large one",
          ("options.X -> router with options.R.routes",), False, _plan_routing),
    Lever("context_right_sizing",
          "every retrieved token is paid twice: model compute and KV memory that limits the "
          "batch", ("retrieval.context_kept_fraction",), True, _plan_context),
    Lever("output_caps", "a max_new_tokens budget trims the longest, priciest answers",
          ("workload.out_tokens",), True, _plan_output_caps),
    Lever("token_budgets_per_tenant",
          "a budget per tenant rejects or compresses oversized requests before inference",
          (), True, _plan_token_budgets),
    Lever("quantization", "FP8 weights and KV cache halve the bytes each step moves and leave "
          "room for a larger batch", ("options.X.precision",), False, _plan_quantization),
    Lever("speculative_decoding",
          "a small draft model proposes tokens the large one verifies in one pass",
          ("options.X.speculative",), False, _plan_speculative),
    Lever("embedding_dimensions",
          "smaller vectors shrink storage, index memory and bytes per query",
          ("retrieval.embedding.dims",), True, _plan_embedding_dims),
    Lever("privatelink", "interface endpoints take NAT gateways off the hot path",
          ("network.aws_path",), False, _plan_privatelink),
    Lever("same_az_placement",
          "inference and the vector store in the caller's AZ stop the cross-AZ charge",
          ("network.model_cross_az_fraction", "network.vector_store_cross_az_fraction"), True,
          _plan_same_az),
    Lever("log_sampling", "keep redacted exemplars, not every byte of every prompt",
          ("observability.payload_sample_rate",), True, _plan_log_sampling),
    Lever("kms_data_key_caching", "one KMS call serves many objects instead of one each",
          ("security.objects_per_data_key",), True, _plan_kms),
    Lever("retry_budget", "backoff and a budget stop retries multiplying load at the peak",
          ("failures.retry_policy",), True, _plan_retry_budget),
    Lever("warm_pool", "a warm pool sized for p95 that scales out for spikes, instead of a "
          "fleet sized for the peak all month", ("options.X.fleet",), False, _plan_warm_pool),
)
"""Every lever, in the article's order."""


def get_lever(name: str) -> Lever:
    """The lever called ``name``; an unknown name is a :class:`CostlibError` with suggestions."""
    for lever in LEVERS:
        if lever.name == name:
            return lever
    from costlib.core.names import unknown_name_message

    raise CostlibError(unknown_name_message("lever", name, [lv.name for lv in LEVERS]))


def catalog_frame() -> pd.DataFrame:
    """The catalog as a table: ``lever``, ``reason``, ``keys``, ``cuts_cost``."""
    return pd.DataFrame([{"lever": lv.name, "reason": lv.reason,
                          "keys": ", ".join(lv.keys) or "(none yet)", "cuts_cost": lv.cuts_cost}
                         for lv in LEVERS])


# --------------------------------------------------------------------------------------------
# before / after


def _format_value(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _overrides_for(overrides: dict | None, option: str) -> str:
    """The overrides that concern one option (global keys and that option's own keys)."""
    if not overrides:
        return ""
    keep = []
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] == "options" and len(parts) > 1:
            if parts[1] != option and not parts[1].startswith(option + "__"):
                continue
        keep.append(f"{key}={_format_value(value)}")
    return "; ".join(keep)


REPORT_COLUMNS = ["lever", "option", "applies", "targeted", "before_usd", "after_usd",
                  "change_usd", "change_pct", "cuts_cost", "overrides", "why"]


def lever_report(params: Params, levers: Iterable[Lever] | None = None) -> pd.DataFrame:
    """Before/after monthly totals of every option for each lever.

    Parameters
    ----------
    params : Params
        The "before".
    levers : iterable of Lever, optional
        Default: :data:`LEVERS`.

    Returns
    -------
    pandas.DataFrame
        One row per lever x option: ``lever``, ``option``, ``applies`` (the lever has
        overrides for this file), ``targeted`` (the lever concerns this option),
        ``before_usd``, ``after_usd``, ``change_usd`` [USD/month], ``change_pct`` (negative
        = cheaper), ``cuts_cost``, ``overrides`` (the keys set, for this option) and ``why``
        (the reason and what was assumed, or why the lever does not apply).
    """
    levers = tuple(LEVERS if levers is None else levers)
    base = estimate(params)
    rows = []
    for lv in levers:
        plan = lv.plan(params, base)
        after, failed = {}, ""
        if plan.overrides is not None:
            # one lever at a time, so that a lever the file cannot take (e.g. a batch that no
            # longer fits) is a row, not an error for the whole report
            try:
                after = compare(params, plan.overrides, before=base).totals().set_index("option")
            except CostlibError as exc:
                failed = exc.message
        for o in base.options:
            applies = plan.overrides is not None
            targeted = applies and o.name in plan.targets
            before = o.monthly_usd
            if failed:
                value, change = float("nan"), float("nan")
            elif applies:
                value, change = after.loc[o.name, "after_usd"], after.loc[o.name, "change_usd"]
            else:
                value, change = before, 0.0
            if not applies:
                why = f"{lv.reason}. Does not apply: {plan.note}"
            elif failed:
                why = f"{lv.reason}. Cannot be priced for this file: {failed}"
            elif targeted:
                why = f"{lv.reason}. {plan.note}"
            else:
                why = f"{lv.reason}. Not aimed at this option"
            rows.append({
                "lever": lv.name,
                "option": o.name,
                "applies": applies,
                "targeted": targeted,
                "before_usd": before,
                "after_usd": value,
                "change_usd": change,
                "change_pct": (float("nan") if failed else
                               after.loc[o.name, "change_pct"] if applies else 0.0),
                "cuts_cost": lv.cuts_cost,
                "overrides": _overrides_for(plan.overrides, o.name) if targeted else "",
                "why": why,
            })
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


# --------------------------------------------------------------------------------------------
# the article's claims, checked on a params file


def _category_totals(comparison, option: str) -> pd.Series:
    """The "after" monthly USD per category of one option, largest first."""
    cats = comparison.by_category()
    cats = cats[cats["option"] == option]
    return cats.set_index("category")["after_usd"].sort_values(ascending=False)


def _claim(claim, option, inputs, measured, threshold, holds, note) -> dict:
    return {"claim": claim, "option": option, "inputs": inputs, "measured": measured,
            "threshold": threshold, "holds": holds, "note": note}


def _swing_rows(params, claim, overrides, inputs, base) -> list[dict]:
    totals = compare(params, overrides, before=base).totals()
    rows = []
    for r in totals.itertuples(index=False):
        swing = -r.change_pct
        rows.append(_claim(claim, r.option, inputs, round(swing, 2), ">= 30 % cheaper",
                           swing >= 30.0, f"{r.before_usd:,.0f} -> {r.after_usd:,.0f} USD/month"))
    return rows


def article_claims(params: Params) -> pd.DataFrame:
    """The article's claims about the rest of the bill, checked on one params file.

    Each row states the claim, the option, the inputs changed (stated), what was measured,
    the threshold, whether it holds (``None`` when the file cannot test it) and a note.

    Claims
    ------
    1. With full payload logging (prompts, answers, token-level traces for every request),
       observability is among the three largest categories of a managed-API option.
    2. PrivateLink in place of NAT plus same-AZ placement swing the total by >= 30 %.
    3. Context length swings the total by >= 30 % (retrieved context 2,000 -> 500 tokens
       with :data:`CONTEXT_KEPT_AFTER_DEDUP`, or, without retrieval, the prompt halved).
    4. Batching swings a self-hosted total by >= 30 % (a batch of 8 held against one
       collapsed to 2, the article's Scenario B numbers).
    5. Naive retries under peak throttling cost at least the throttled traffic's tokens again
       (checked with throttled attempts billed, and not billed as for a Bedrock 429).
    """
    from costlib.whatif.sweeps import batch_sweep

    base = estimate(params)
    rows: list[dict] = []

    # 1. observability under full payload logging
    claim = "observability in the top three categories under full payload logging"
    managed = [o.name for o in base.options if o.kind == "managed_api"]
    if not managed:
        rows.append(_claim(claim, "", "", None, "rank <= 3", None,
                           "no managed-API option in this file"))
    else:
        logged = compare(params, {"observability.log_payloads": True,
                                  "observability.token_level_traces": True,
                                  "observability.payload_sample_rate": 1.0}, before=base)
        for name in managed:
            cats = _category_totals(logged, name)
            rank = list(cats.index).index("observability") + 1
            share = cats["observability"] / cats.sum()
            rows.append(_claim(claim, name, "log_payloads, token_level_traces, sample rate 1",
                               rank, "rank <= 3", rank <= 3,
                               f"{share:.1%} of the total; ahead of it: "
                               f"{', '.join(cats.index[:rank - 1]) or 'nothing'}"))

    # 2. NAT removal + same AZ
    rows += _swing_rows(params, "PrivateLink + same-AZ placement swing the total >= 30 %",
                        {"network.aws_path": "privatelink",
                         "network.model_cross_az_fraction": 0.0,
                         "network.vector_store_cross_az_fraction": 0.0},
                        "aws_path privatelink, cross-AZ fractions 0", base)

    # 3. context length
    r = params.retrieval
    if r.enabled:
        ctx_over = {"retrieval.context_kept_fraction": CONTEXT_KEPT_AFTER_DEDUP}
        kept = r.chunks_per_request * r.tokens_per_chunk
        inputs = (f"retrieved context {kept * r.context_kept_fraction:,.0f} -> "
                  f"{kept * CONTEXT_KEPT_AFTER_DEDUP:,.0f} tokens")
    else:
        ctx_over = {"workload.in_tokens": params.workload.in_tokens * 0.5}
        inputs = (f"no retrieval: prompt {params.workload.in_tokens:,.0f} -> "
                  f"{params.workload.in_tokens * 0.5:,.0f} tokens")
    rows += _swing_rows(params, "context length swings the total >= 30 %", ctx_over, inputs,
                        base)

    # 4. batching
    claim = "batching swings a self-hosted total >= 30 %"
    hosted = [n for n, o in params.options.items() if isinstance(o, SelfHostedOption)]
    if not hosted:
        rows.append(_claim(claim, "", "", None, ">= 30 %", None,
                           "no self-hosted option in this file"))
    for name in hosted:
        sweep = batch_sweep(params, name, [2, 8]).set_index("batch_size")
        if not bool(sweep["feasible"].all()):
            rows.append(_claim(claim, name, "batch 8 held vs collapsed to 2", None, ">= 30 %",
                               None, "a batch of 2 or 8 does not fit in memory"))
            continue
        two, eight = sweep.loc[2, "monthly_usd"], sweep.loc[8, "monthly_usd"]
        swing = 100.0 * (two - eight) / two
        rows.append(_claim(claim, name, "batch 8 held vs collapsed to 2", round(swing, 2),
                           ">= 30 % cheaper", swing >= 30.0,
                           f"{two:,.0f} -> {eight:,.0f} USD/month"))

    # 5. naive retries under throttling
    throttled = [(o.name, o.details.get("throttled_fraction", 0.0)) for o in base.options
                 if o.kind == "managed_api"]
    throttled = [(n, f) for n, f in throttled if f > 0]
    if not throttled:
        rows.append(_claim("naive retries cost the throttled tokens again", "", "", None,
                           ">= 1 x", None, "no managed option is throttled in this file "
                           "(no quota, or demand below it)"))
    reqs = base.workload["requests_per_month"]
    for billed, label in ((1.0, "billed (client timeout after generation)"),
                          (0.0, "not billed (429 rejected before inference)")):
        if not throttled:
            break
        over = {"failures.retry_policy": "naive", "failures.billed_share_of_throttled_attempts":
                billed, "failures.discarded_after_processing_fraction": 0.0}
        res = compare(params, over, before=base).after
        for name, frac in throttled:
            o = next(x for x in res.options if x.name == name)
            billed_items = [li for li in o.line_items
                            if li.category == "failures" and li.unit == "request"
                            and li.unit_usd > 0]
            usd_per_request = billed_items[0].unit_usd if billed_items else 0.0
            extra = sum(li.monthly_usd for li in billed_items)
            again = frac * reqs * usd_per_request
            ratio = extra / again if again else 0.0
            rows.append(_claim(f"naive retries cost the throttled tokens again, attempts {label}",
                               name, f"naive, {params.failures.max_attempts} attempts, "
                               f"{frac:.1%} throttled", round(ratio, 3), ">= 1 x",
                               ratio >= 1.0,
                               f"{extra:,.0f} USD extra against {again:,.0f} USD of "
                               "throttled tokens"))
    return pd.DataFrame(rows, columns=["claim", "option", "inputs", "measured", "threshold",
                                       "holds", "note"])


__all__ = ["Lever", "Plan", "LEVERS", "get_lever", "catalog_frame", "lever_report",
           "article_claims", "CONTEXT_KEPT_AFTER_DEDUP", "OUTPUT_CAP_FACTOR",
           "PAYLOAD_SAMPLE_RATE", "OBJECTS_PER_DATA_KEY", "SPECULATIVE", "DRAFT_MODELS",
           "SMALL_EMBEDDING_DIMS"]
