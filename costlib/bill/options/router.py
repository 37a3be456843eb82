"""Hybrid router: answer from a response cache, send the rest to a small or a large model.

The router looks every request up in a response cache (keyed by instruction plus canonicalised
context); hits are answered from it, misses are split among other options of the same params
file by ``routes`` shares, each priced at the traffic it receives. The router's own work (a
classifier call per request, the cache's reads and writes) is priced too: a router that runs a
big model on every request can cost more than it saves. Cache reads and writes are DynamoDB
request units of :mod:`costlib.formulas.vectorstores` (the same function the retrieval's chunk
store uses), on an item of :func:`costlib.formulas.network.cached_answer_bytes`.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import Field, model_validator

from costlib.bill.context import Context
import numpy as np

from costlib.bill.lineitems import Operations, OptionOutcome, line_item, num, operations_items
from costlib.core.schema import Strict
from costlib.core.units import PER_1M
from costlib.formulas.network import cached_answer_bytes
from costlib.formulas.tokens import million_tokens
from costlib.formulas.vectorstores import dynamodb_read_units, dynamodb_write_units

class ResponseCache(Strict):
    """A response cache in DynamoDB on demand.

    Attributes
    ----------
    hit_fraction : float
        Share of requests answered from the cache [0-1].
    item_kb : float, optional
        Size of a cached answer [KB], 1 KB = 1,024 bytes as DynamoDB counts item sizes;
        default ``out_tokens * 4 bytes`` (``BYTES_PER_TOKEN_TEXT``).
    strongly_consistent : bool
        Strongly consistent reads cost a full read unit, eventual ones half.
    """

    hit_fraction: float = Field(ge=0, le=1)
    item_kb: float | None = Field(None, gt=0)
    strongly_consistent: bool = False


class Route(Strict):
    """A share of the cache misses sent to another option by name."""

    to: str
    share: float = Field(gt=0, le=1)


class Classifier(Strict):
    """The model the router runs on every request to choose a route (priced per input token)."""

    model: str
    tokens_per_request: float = Field(gt=0)


class RouterOption(Strict):
    """Cache, then split the misses among other options.

    Attributes
    ----------
    cache : ResponseCache, optional
    routes : list of Route
        Shares of the misses; they must add up to 1.
    classifier : Classifier, optional
        A model call per request to pick the route.
    operations : Operations
        Engineer time per month for the router and cache (the routes bring their own).
    """

    kind: Literal["router"]
    cache: ResponseCache | None = None
    routes: list[Route] = Field(min_length=1)
    classifier: Classifier | None = None
    operations: Operations = Operations()

    @model_validator(mode="after")
    def _shares_add_up(self):
        total = sum(r.share for r in self.routes)
        if np.any(np.abs(np.asarray(total, dtype=float) - 1.0) > 1e-6):
            shown = np.asarray(total, dtype=float).reshape(-1)
            bad = shown[np.abs(shown - 1.0) > 1e-6][0]
            raise ValueError(f"routes shares add up to {bad:g}; they must add up to 1")
        return self


def price_router(name: str, opt: RouterOption, ctx: Context) -> OptionOutcome:
    """Line items of a router: its own work plus each route at its share of the traffic."""
    w = ctx.workload
    reqs = ctx.requests_per_month
    items = []
    hit = opt.cache.hit_fraction if opt.cache else 0.0
    if opt.cache is not None:
        item_bytes = cached_answer_bytes(w.out_tokens, opt.cache.item_kb)
        rru = dynamodb_read_units(item_bytes, opt.cache.strongly_consistent)
        wru = dynamodb_write_units(item_bytes)
        p_read = ctx.price("dynamodb", "on_demand", "read_request_units")
        p_write = ctx.price("dynamodb", "on_demand", "write_request_units")
        items.append(line_item("retrieval", "response-cache lookups (DynamoDB reads)",
                               reqs * rru / PER_1M, "1M read request units", p_read.usd,
                               p_read.source))
        items.append(line_item("retrieval", "response-cache fills on misses (DynamoDB writes)",
                               reqs * (1 - hit) * wru / PER_1M, "1M write request units",
                               p_write.usd, p_write.source))
    if opt.classifier is not None:
        p = ctx.price("bedrock", opt.classifier.model, "input")
        items.append(line_item("inference", f"router classifier {opt.classifier.model}",
                               num(million_tokens(reqs, opt.classifier.tokens_per_request)),
                               "1M tokens", p.usd, p.source))
    routes = {}
    for route in opt.routes:
        share = (1.0 - hit) * route.share
        if np.all(np.asarray(share) <= 0):
            continue
        outcome = ctx.evaluate(route.to, share)
        routes[route.to] = {"share_of_requests": share, "monthly_usd": outcome.monthly_usd}
        for li in outcome.line_items:  # the route's figures, its floor part included
            items.append(dataclasses.replace(li, item=f"{route.to}: {li.item}"))
    items.extend(operations_items(opt.operations))
    details = {"cache_hit_fraction": hit, "routes": routes}
    return OptionOutcome(items, details)


__all__ = ["ResponseCache", "Route", "Classifier", "RouterOption", "price_router"]
