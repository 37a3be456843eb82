"""A request's path as hops: the record both the network and the retrieval pricers build.

:mod:`costlib.bill.plumbing.network` prices hops; :mod:`costlib.bill.plumbing.retrieval` adds the
embedding and vector-store hops of a RAG request. Both import :class:`Hop` from here, so neither
imports the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass

PATHS = ("vpc", "nat", "privatelink", "gateway", "internet")
"""How a hop's bytes travel: same VPC (a share crossing AZs), NAT gateway, interface endpoint,
S3/DynamoDB gateway endpoint (free), internet."""


@dataclass(frozen=True)
class Hop:
    """One leg of a request's path and back.

    Attributes
    ----------
    name : str
        ``"app -> Bedrock runtime"`` and the like.
    bytes_out, bytes_back : float
        Bytes sent and received per request that takes this hop [bytes].
    share : float
        Share of the option's requests that take the hop [0-1].
    path : str
        One of :data:`PATHS`.
    service : str
        AWS service endpoint name for ``privatelink`` hops (one interface endpoint each).
    cross_az_fraction : float
        For ``vpc`` hops: share of the bytes crossing an AZ [0-1].
    """

    name: str
    bytes_out: float
    bytes_back: float
    share: float
    path: str
    service: str = ""
    cross_az_fraction: float = 0.0


__all__ = ["PATHS", "Hop"]
