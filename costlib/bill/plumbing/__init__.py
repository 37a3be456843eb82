"""The rest of the bill: retrieval, network, observability, security and failure modes.

The article's point is that the plumbing around the model can cost as much as the model. Each
module prices one category from its own params block, for any option kind, and always returns
at least one line item of its category so every category shows for every option:

============== ============================================== ===============================
params block   module                                         category
============== ============================================== ===============================
retrieval      :mod:`costlib.bill.plumbing.retrieval`              retrieval
network        :mod:`costlib.bill.plumbing.network`                network
observability  :mod:`costlib.bill.plumbing.observability`          observability
security       :mod:`costlib.bill.plumbing.security`               security
failures       :mod:`costlib.bill.plumbing.failures`               failures
============== ============================================== ===============================

Integration (the estimate): add :func:`extra_input_tokens` to ``workload.in_tokens`` before
pricing inference (so retrieved context reaches the model bill and the throughput model),
then append :func:`price_plumbing` to each top-level option's line items. The plumbing
modules read ``ctx.workload.in_tokens`` as the whole prompt, context included.

Each item says how much of it is paid in a month without requests (``floor_usd``, see
:class:`~costlib.bill.lineitems.LineItem`): NAT gateway, load balancer, interface endpoint and
public IPv4 hours, KMS keys and secrets, custom metrics, alarms and dashboards, the vector
store's capacity and the storage and re-ingestion of its corpus, self-hosted embedding servers
and Fargate tasks are floor; bytes, requests, tokens, LCUs, logs (their storage is the steady
state of what traffic ingests) and failure modes scale with use.

The formulas they use are in :mod:`costlib.formulas` (``network``, ``vectorstores``, ``logs``,
``kms``, ``retries``, ``tokens``, ``serverless``); :class:`~costlib.bill.plumbing.hops.Hop`, the
record of one leg of a request's path, is shared by the network and retrieval modules.
"""

from __future__ import annotations

from costlib.bill.lineitems import LineItem, OptionOutcome, any_nonzero
from costlib.core.schema import Strict
from costlib.bill.plumbing.failures import FailureSettings, price_failures
from costlib.bill.plumbing.network import NetworkSettings, price_network
from costlib.bill.plumbing.observability import (
    ObservabilitySettings,
    price_observability,
    request_log_bytes,
    uses_xray,
)
from costlib.bill.plumbing.retrieval import RetrievalSettings, price_retrieval
from costlib.bill.plumbing.retrieval import extra_input_tokens as _retrieval_extra_tokens
from costlib.bill.plumbing.security import SecuritySettings, price_security, uses_kms_api


class Plumbing(Strict):
    """The plumbing blocks of a params file, each optional with the defaults of its module.

    Attributes
    ----------
    retrieval : RetrievalSettings
        Embeddings, vector store, retrieved context, pre/post-processing (off by default).
    network : NetworkSettings
        Request hops, NAT / PrivateLink / cross-AZ / internet, the entry point.
    observability : ObservabilitySettings
        CloudWatch Logs, metrics, alarms, X-Ray.
    security : SecuritySettings
        KMS keys and requests, Secrets Manager.
    failures : FailureSettings
        Retries, discarded work, Spot and OOM recomputation, cache stampedes.
    """

    retrieval: RetrievalSettings = RetrievalSettings()
    network: NetworkSettings = NetworkSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    security: SecuritySettings = SecuritySettings()
    failures: FailureSettings = FailureSettings()


def extra_input_tokens(plumbing: Plumbing) -> float:
    """Retrieved-context tokens added to every prompt [tokens]; 0 with retrieval off."""
    return _retrieval_extra_tokens(plumbing.retrieval)


def price_plumbing(plumbing: Plumbing, ctx, option, outcome: OptionOutcome) -> list[LineItem]:
    """Every plumbing line item of one option for a month, category by category.

    Parameters
    ----------
    plumbing : Plumbing
    ctx : costlib.bill.context.Context
        The option's context; ``ctx.workload.in_tokens`` already includes
        :func:`extra_input_tokens`. (Not imported here: ``bill.context`` refers to
        ``bill.params``, which imports this package.)
    option : option params model
        ``option.kind`` in ``managed_api``, ``provisioned``, ``self_hosted``, ``router``.
    outcome : OptionOutcome
        What pricing the option produced (its ``details`` feed the failure modes).

    Returns
    -------
    list of LineItem
        At least one item in each of retrieval, network, observability, security, failures.
    """
    endpoints = []
    if uses_kms_api(plumbing.security):
        endpoints.append("kms")
    if uses_xray(plumbing.observability):
        endpoints.append("xray")
    if any_nonzero(plumbing.security.secret_calls_per_request):
        endpoints.append("secretsmanager")
    items: list[LineItem] = []
    items += price_retrieval(plumbing.retrieval, ctx, option, outcome)
    items += price_network(plumbing.network, ctx, option, outcome,
                           retrieval=plumbing.retrieval,
                           log_bytes_per_request=request_log_bytes(plumbing.observability, ctx),
                           extra_endpoint_services=tuple(endpoints))
    items += price_observability(plumbing.observability, ctx, option, outcome)
    items += price_security(plumbing.security, ctx, option, outcome)
    items += price_failures(plumbing.failures, ctx, option, outcome)
    return items


__all__ = ["Plumbing", "RetrievalSettings", "NetworkSettings", "ObservabilitySettings",
           "SecuritySettings", "FailureSettings", "extra_input_tokens", "price_plumbing",
           "price_retrieval", "price_network", "price_observability", "price_security",
           "price_failures"]
