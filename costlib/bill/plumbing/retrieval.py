"""Retrieval and context: embeddings, the vector store, retrieved context, glue compute.

Baseline architecture (the defaults, used only with ``enabled: true``): each request embeds
the user's question with Amazon Titan Text Embeddings V2 on Bedrock (1,024 dimensions), asks an
OpenSearch Serverless vector collection for the top 5 chunks of 400 tokens, and adds them to the
prompt (the article's "2k tokens of context"). A corpus of 100,000 chunks is stored, and a tenth
of it is re-embedded each month. Every number in that sentence except the model's dimensions is
an assumption to replace with your own.

What is priced here: query and ingestion embeddings (per token on Bedrock, or instance-hours of
a self-hosted embedding server), the vector store (storage per vector, capacity that holds the
index in memory, reads per request, writes on ingestion) and pre/post-processing compute
(Lambda or Fargate, priced whether or not retrieval is enabled). The retrieved context's input
tokens are priced by the inference line items: :func:`extra_input_tokens` is what the lead adds
to ``workload.in_tokens``; the retrieval category only shows their count.

References
----------
OpenSearch k-NN HNSW memory estimate, ``1.1 * (4 * d + 8 * M)`` bytes per vector: OpenSearch
documentation, "k-NN index / memory estimation" (docs.opensearch.org). OpenSearch Serverless
minimum capacity and 6 GiB per OCU: AWS docs, "Managing capacity limits for Amazon OpenSearch
Serverless" (serverless-scaling.html). Aurora Serverless v2: 1 ACU is about 2 GiB of memory,
0.5-ACU steps (AWS Aurora user guide). Titan V2 dimensions: ``costlib/data/prices/meta``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from costlib.core.errors import CostlibError
from costlib.bill.lineitems import LineItem, OptionOutcome, line_item
from costlib.core.schema import Strict
from costlib.bill.context import Context
from costlib.bill.plumbing.network import BYTES_PER_TOKEN_TEXT, FLOAT32_BYTES, Hop
from costlib.bill.context import price_book, price_or_error, tiered_price
from costlib.core.units import BYTES_PER_GB, HOURS_PER_MONTH, TOKENS_PER_1M

HNSW_OVERHEAD = 1.1
"""Multiplier of the OpenSearch HNSW memory estimate (OpenSearch k-NN documentation)."""
AOSS_GIB_PER_OCU = 6.0
"""Memory of one OpenSearch Serverless OCU [GiB] (AWS docs, serverless-scaling)."""
AURORA_GIB_PER_ACU = 2.0
"""Memory of one Aurora Serverless v2 ACU [GiB], approximately (AWS Aurora user guide)."""
AURORA_IO_BYTES = 4096.0
"""Aurora counts write I/Os in units of up to 4 KB (AWS Aurora pricing FAQ)."""
DYNAMODB_READ_UNIT_BYTES = 4096.0
"""One DynamoDB read request unit covers an item up to 4 KB (DynamoDB developer guide)."""
DYNAMODB_WRITE_UNIT_BYTES = 1024.0
"""One DynamoDB write request unit covers an item up to 1 KB (DynamoDB developer guide)."""


class EmbeddingSettings(Strict):
    """How queries and chunks are embedded.

    Attributes
    ----------
    hosting : {"managed", "self_hosted"}
        Bedrock per token, or your own server billed per instance-hour.
    model : str
        Bedrock embedding model id (managed), e.g. ``amazon.titan-embed-text-v2:0``.
    dims : int, optional
        Output dimensions; default the model's default (managed). Must be one the model
        supports. Required when self-hosted (e.g. 384 for a MiniLM/bge-small class model).
        The lever: fewer dimensions shrink storage, memory and bytes moved.
    usd_per_1m_tokens : float, optional
        Your own price [USD/1M tokens]; default the price table.
    instance : str, optional
        Self-hosted: EC2 instance type of the embedding server.
    instances : int
        Self-hosted: servers running all month [-].
    instance_hour_usd : float, optional
        Self-hosted: your own instance-hour price [USD/h]; default the EC2 table.
    """

    hosting: Literal["managed", "self_hosted"] = "managed"
    model: str = "amazon.titan-embed-text-v2:0"
    dims: int | None = Field(None, ge=1)
    usd_per_1m_tokens: float | None = Field(None, ge=0)
    instance: str | None = None
    instances: int = Field(1, ge=0)
    instance_hour_usd: float | None = Field(None, ge=0)


class VectorStoreSettings(Strict):
    """Where the vectors live.

    Attributes
    ----------
    kind : {"opensearch_serverless", "aurora_pgvector", "dynamodb_inprocess", "ec2_self_managed"}
        OpenSearch Serverless vector collection (Classic); Aurora PostgreSQL Serverless v2 with
        pgvector; chunks in DynamoDB with the index held in each application task's memory;
        a self-managed store on EC2.
    hnsw_m : int
        HNSW graph links per node [-]; 16 is the OpenSearch default.
    index_memory_fraction : float
        Share of a node's memory the vector index may use [0-1]; default 0.5, an assumption
        mirroring the OpenSearch k-NN circuit breaker default (50 %).
    return_vectors : bool
        Whether search hits return their vectors too (OpenSearch returns ``_source`` with the
        embedding unless excluded): more bytes per request.
    metadata_bytes_per_chunk : float
        Ids, titles, source links stored with each chunk [bytes]; assumption.
    aoss_redundancy : bool
        OpenSearch Serverless standby replicas (default on): minimum 1 indexing + 1 search OCU
        (2 x 0.5 each) with redundancy, 0.5 + 0.5 without.
    aoss_min_ocus : float, optional
        Override the OCU floor (e.g. 4 for a collection without half-OCU support).
    aurora_min_acu : float
        Aurora Serverless v2 minimum capacity [ACU]; 0.5 is the smallest non-zero setting.
    aurora_read_ios_per_query : float
        Storage read I/Os per query [I/O]; 0 assumes the index stays in the buffer cache.
    app_tasks : int
        ``dynamodb_inprocess``: application tasks each holding a copy of the index [-].
    instance : str, optional
        ``ec2_self_managed``: EC2 instance type.
    instances : int
        ``ec2_self_managed``: instances running all month [-].
    instance_hour_usd : float, optional
        ``ec2_self_managed``: your instance-hour price [USD/h] (the EC2 table holds GPUs only).
    ebs_gb_per_instance : float
        ``ec2_self_managed``: gp3 volume per instance [GB].
    dynamodb_storage_usd_per_gb_month : float, optional
        DynamoDB storage price when the tables lack it for the region [USD/GB-month].
    """

    kind: Literal["opensearch_serverless", "aurora_pgvector", "dynamodb_inprocess",
                  "ec2_self_managed"] = "opensearch_serverless"
    hnsw_m: int = Field(16, ge=2)
    index_memory_fraction: float = Field(0.5, gt=0, le=1)
    return_vectors: bool = False
    metadata_bytes_per_chunk: float = Field(200.0, ge=0)
    aoss_redundancy: bool = True
    aoss_min_ocus: float | None = Field(None, ge=0)
    aurora_min_acu: float = Field(0.5, ge=0)
    aurora_read_ios_per_query: float = Field(0.0, ge=0)
    app_tasks: int = Field(2, ge=1)
    instance: str | None = None
    instances: int = Field(1, ge=1)
    instance_hour_usd: float | None = Field(None, ge=0)
    ebs_gb_per_instance: float = Field(0.0, ge=0)
    dynamodb_storage_usd_per_gb_month: float | None = Field(None, ge=0)


class ProcessingSettings(Strict):
    """Pre- and post-processing compute around the model call (priced even without RAG).

    Attributes
    ----------
    kind : {"none", "lambda", "fargate"}
        Not priced; a Lambda invocation per request; or Fargate tasks running all month.
    lambda_memory_gb : float
        Lambda memory [GB]; assumption.
    lambda_ms_per_request : float
        Lambda billed duration per request [ms]; assumption.
    lambda_arch : {"x86", "arm64"}
    fargate_tasks : int
        Tasks running all month [-]; assumption.
    fargate_vcpu, fargate_gb : float
        Size of one task [vCPU], [GB].
    """

    kind: Literal["none", "lambda", "fargate"] = "none"
    lambda_memory_gb: float = Field(1.0, gt=0)
    lambda_ms_per_request: float = Field(200.0, ge=0)
    lambda_arch: Literal["x86", "arm64"] = "x86"
    fargate_tasks: int = Field(2, ge=0)
    fargate_vcpu: float = Field(1.0, gt=0)
    fargate_gb: float = Field(2.0, gt=0)


class RetrievalSettings(Strict):
    """The ``retrieval:`` block of a params file.

    Attributes
    ----------
    enabled : bool
        RAG on or off (default off: the workload's ``in_tokens`` are the whole prompt).
    chunks_per_request : int
        Chunks retrieved per request (top-k) [-]; assumption.
    tokens_per_chunk : float
        Tokens per chunk [tokens]; assumption.
    context_kept_fraction : float
        Share of the retrieved tokens kept after deduplication / summarisation [0-1]; the
        lever that shrinks context (1 = raw chunks).
    query_tokens : float
        Tokens embedded per request (the user's question) [tokens]; assumption.
    corpus_chunks : float
        Chunks in the index [-]; assumption.
    reingest_fraction_per_month : float
        Share of the corpus re-embedded and re-written each month [-]; assumption.
    embedding : EmbeddingSettings
    vector_store : VectorStoreSettings
    processing : ProcessingSettings
    """

    enabled: bool = False
    chunks_per_request: int = Field(5, ge=0)
    tokens_per_chunk: float = Field(400.0, ge=0)
    context_kept_fraction: float = Field(1.0, ge=0, le=1)
    query_tokens: float = Field(50.0, ge=0)
    corpus_chunks: float = Field(100_000.0, ge=0)
    reingest_fraction_per_month: float = Field(0.1, ge=0)
    embedding: EmbeddingSettings = EmbeddingSettings()
    vector_store: VectorStoreSettings = VectorStoreSettings()
    processing: ProcessingSettings = ProcessingSettings()


# --------------------------------------------------------------------------------------------
# formulas


def context_tokens_per_request(chunks_per_request, tokens_per_chunk, context_kept_fraction=1.0):
    """Input tokens retrieved context adds to each prompt [tokens].

    Notes
    -----
    ``chunks * tokens_per_chunk * kept_fraction``

    References
    ----------
    Reference article: "Context bloat from RAG that adds 2k tokens of low-signal stuff";
    "Deduplicate and summarize snippets before stuffing the context."

    Examples
    --------
    5 chunks of 400 tokens, half kept after deduplication: 5 * 400 * 0.5 = 1000

    >>> float(context_tokens_per_request(5, 400, 0.5))
    1000.0
    """
    return np.multiply(np.multiply(chunks_per_request, tokens_per_chunk), context_kept_fraction)


def vector_bytes(dims, bytes_per_dim=FLOAT32_BYTES):
    """Bytes of one stored vector [bytes]: ``dims * bytes_per_dim`` (float32: 4).

    Examples
    --------
    >>> float(vector_bytes(1024)), float(vector_bytes(384))
    (4096.0, 1536.0)
    """
    return np.multiply(dims, bytes_per_dim)


def chunk_record_bytes(dims, tokens_per_chunk, metadata_bytes=0.0,
                       bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of one stored chunk: its vector, its text and metadata [bytes].

    Notes
    -----
    ``4 * dims + tokens_per_chunk * bytes_per_token + metadata_bytes``

    Examples
    --------
    1,024 dims, 400 tokens, 200 bytes metadata: 4096 + 1600 + 200 = 5896

    >>> float(chunk_record_bytes(1024, 400, 200))
    5896.0
    """
    return (vector_bytes(dims) + np.multiply(tokens_per_chunk, bytes_per_token)
            + np.asarray(metadata_bytes, dtype=float))


def hnsw_index_gib(n_vectors, dims, m=16):
    """Memory an HNSW index of float32 vectors needs [GiB].

    Parameters
    ----------
    n_vectors : float or array_like
        Vectors indexed [-].
    dims : float or array_like
        Dimensions per vector [-].
    m : int
        HNSW links per node [-].

    Returns
    -------
    float or numpy.ndarray
        [GiB].

    Notes
    -----
    ``1.1 * (4 * dims + 8 * m) * n_vectors / 2**30``

    References
    ----------
    OpenSearch documentation, k-NN index, "Memory estimation" for HNSW.

    Examples
    --------
    1 M vectors of 1,024 dims, m = 16: 1.1 * (4096 + 128) * 1e6 / 2**30 = 4.327 GiB

    >>> round(float(hnsw_index_gib(1_000_000, 1024, 16)), 3)
    4.327
    """
    per_vector = HNSW_OVERHEAD * (FLOAT32_BYTES * np.asarray(dims, dtype=float) + 8.0 * m)
    return per_vector * np.asarray(n_vectors, dtype=float) / BYTES_PER_GB


def opensearch_serverless_ocus(index_gib, redundancy=True, index_memory_fraction=0.5,
                               min_ocus=None):
    """OCUs an OpenSearch Serverless vector collection bills [OCU].

    Parameters
    ----------
    index_gib : float or array_like
        Vector index memory [GiB] (:func:`hnsw_index_gib`).
    redundancy : bool
        Standby replicas on (each search replica holds the index).
    index_memory_fraction : float
        Share of an OCU's 6 GiB the index may use [0-1].
    min_ocus : float, optional
        The floor; default 2 with redundancy (1 indexing + 1 search, in 0.5-OCU pairs), 1
        without.

    Returns
    -------
    float or numpy.ndarray
        Indexing plus search OCUs [OCU], in steps of 0.5.

    Notes
    -----
    ``indexing = 1 (0.5 without redundancy)``;
    ``search = max(indexing, ceil2(replicas * index_gib / (6 * fraction)))`` where ``ceil2``
    rounds up to 0.5 and ``replicas`` is 2 with redundancy;
    ``ocus = max(floor, indexing + search)``. Query-rate scaling is not modelled.

    References
    ----------
    AWS docs, "Managing capacity limits for Amazon OpenSearch Serverless": 6 GiB per OCU,
    minimum 2 OCUs with redundancy (1 + 1, half-OCUs), 1 without; vector collections need
    their own OCUs and hold the index in memory.

    Examples
    --------
    A small index stays at the floor; 4.327 GiB x 2 replicas / 3 GiB = 2.88 -> 3 search OCUs:

    >>> float(opensearch_serverless_ocus(0.1)), float(opensearch_serverless_ocus(4.327))
    (2.0, 4.0)
    """
    idx = 1.0 if redundancy else 0.5
    replicas = 2.0 if redundancy else 1.0
    usable_gib = AOSS_GIB_PER_OCU * index_memory_fraction
    need = replicas * np.asarray(index_gib, dtype=float) / usable_gib
    search = np.maximum(idx, np.ceil(need * 2.0 - 1e-9) / 2.0)
    floor = (2.0 if redundancy else 1.0) if min_ocus is None else float(min_ocus)
    out = np.maximum(floor, idx + search)
    return float(out) if out.ndim == 0 else out


def aurora_acus(index_gib, min_acu=0.5, index_memory_fraction=0.5):
    """Aurora Serverless v2 capacity that keeps a pgvector index in memory [ACU].

    Notes
    -----
    ``max(min_acu, ceil2(index_gib / (2 * fraction)))``, ``ceil2`` rounding up to 0.5 ACU.

    References
    ----------
    AWS Aurora user guide: 1 ACU is about 2 GiB of memory; capacity moves in 0.5-ACU steps.

    Examples
    --------
    4.327 GiB / (2 * 0.5) = 4.327 -> 4.5 ACU

    >>> float(aurora_acus(4.327)), float(aurora_acus(0.01))
    (4.5, 0.5)
    """
    need = np.asarray(index_gib, dtype=float) / (AURORA_GIB_PER_ACU * index_memory_fraction)
    out = np.maximum(min_acu, np.ceil(need * 2.0 - 1e-9) / 2.0)
    return float(out) if out.ndim == 0 else out


def request_units(item_bytes, unit_bytes, eventually_consistent=False):
    """DynamoDB request units for one item read or written [RU].

    Notes
    -----
    ``ceil(item_bytes / unit_bytes)``, halved for eventually consistent reads.

    References
    ----------
    DynamoDB developer guide: a read unit covers 4 KB, a write unit 1 KB.

    Examples
    --------
    A 5,896-byte chunk: 2 strongly consistent read units, 1 eventually consistent, 6 writes.

    >>> float(request_units(5896, 4096)), float(request_units(5896, 4096, True))
    (2.0, 1.0)
    >>> float(request_units(5896, 1024))
    6.0
    """
    units = np.ceil(np.asarray(item_bytes, dtype=float) / unit_bytes - 1e-12)
    return units / 2.0 if eventually_consistent else units


# --------------------------------------------------------------------------------------------
# settings -> numbers


def extra_input_tokens(settings: RetrievalSettings) -> float:
    """Retrieved-context tokens added to every prompt [tokens]; 0 when retrieval is off."""
    if not settings.enabled:
        return 0.0
    return float(context_tokens_per_request(settings.chunks_per_request,
                                            settings.tokens_per_chunk,
                                            settings.context_kept_fraction))


def embedding_dims(settings: RetrievalSettings) -> int:
    """Dimensions of the embeddings, checked against the managed model's supported ones."""
    e = settings.embedding
    if e.hosting == "self_hosted":
        if e.dims is None:
            raise CostlibError("retrieval.embedding.dims: give the dimensions of your "
                               "self-hosted embedding model (e.g. 384 or 1024)")
        return int(e.dims)
    from costlib.tables.prices import embedding_dims as model_dims

    try:
        info = model_dims(e.model)
    except CostlibError as exc:
        if e.dims is None:
            raise CostlibError(f"retrieval.embedding.model: {exc.message}; or give "
                               "retrieval.embedding.dims") from None
        return int(e.dims)
    if e.dims is None:
        return info["default_dims"]
    if e.dims not in info["supported_dims"]:
        valid = ", ".join(str(d) for d in info["supported_dims"])
        raise CostlibError(f"retrieval.embedding.dims: {e.model} does not output {e.dims} "
                           f"dimensions; valid: {valid} (or self-host a model that does)")
    return int(e.dims)


def retrieval_hops(settings: RetrievalSettings, net, ctx: Context) -> list[Hop]:
    """The embedding and vector-store hops of one request (used by the network)."""
    dims = embedding_dims(settings)
    ovh = net.request_overhead_bytes
    vec_json = dims * net.json_bytes_per_vector_dim
    hops = []
    q_bytes = settings.query_tokens * BYTES_PER_TOKEN_TEXT + ovh
    if settings.embedding.hosting == "managed":
        hops.append(Hop("app -> Bedrock runtime (embeddings)", q_bytes, vec_json + ovh, 1.0,
                        net.aws_path, "bedrock-runtime"))
    else:
        hops.append(Hop("app -> self-hosted embedding server", q_bytes, vec_json + ovh, 1.0,
                        "vpc", cross_az_fraction=net.model_cross_az_fraction))
    vs = settings.vector_store
    text = settings.tokens_per_chunk * BYTES_PER_TOKEN_TEXT + vs.metadata_bytes_per_chunk
    per_hit = text + (vec_json if vs.return_vectors else 0.0)
    back = settings.chunks_per_request * per_hit + ovh
    if vs.kind == "opensearch_serverless":
        hops.append(Hop("app -> OpenSearch Serverless (k-NN query)", vec_json + ovh, back, 1.0,
                        net.aws_path, "aoss"))
    elif vs.kind in ("aurora_pgvector", "ec2_self_managed"):
        hops.append(Hop(f"app -> {vs.kind} (k-NN query)", vec_json + ovh, back, 1.0, "vpc",
                        cross_az_fraction=net.vector_store_cross_az_fraction))
    else:  # in-process index, chunk text fetched from DynamoDB
        hops.append(Hop("app -> DynamoDB (chunk fetch)", ovh, settings.chunks_per_request * text
                        + ovh, 1.0, net.dynamodb_path, "dynamodb"))
    return hops


# --------------------------------------------------------------------------------------------
# pricing


def _processing_items(p: ProcessingSettings, ctx: Context) -> list[LineItem]:
    reqs = ctx.requests_per_month
    if p.kind == "lambda":
        fn = "function_x86" if p.lambda_arch == "x86" else "function_arm64"
        pr = ctx.price("lambda", fn, "requests")
        gb_s = reqs * p.lambda_memory_gb * p.lambda_ms_per_request / 1000.0
        pd_ = tiered_price(ctx, "lambda", fn, "duration", gb_s)
        return [line_item("retrieval", "pre/post-processing Lambda requests", reqs / 1e6,
                          "1M requests", pr.usd, pr.source),
                line_item("retrieval", "pre/post-processing Lambda duration", gb_s, "GB-second",
                          pd_.usd, pd_.source)]
    if p.kind == "fargate":
        hours = p.fargate_tasks * HOURS_PER_MONTH
        pc = ctx.price("fargate", "linux_x86", "vcpu_hour")
        pm = ctx.price("fargate", "linux_x86", "gb_hour")
        return [line_item("retrieval",
                          f"pre/post-processing Fargate vCPU ({p.fargate_tasks} tasks)",
                          hours * p.fargate_vcpu, "vCPU-hour", pc.usd, pc.source),
                line_item("retrieval", "pre/post-processing Fargate memory",
                          hours * p.fargate_gb, "GB-hour", pm.usd, pm.source)]
    return []


def _embedding_items(s: RetrievalSettings, ctx: Context) -> list[LineItem]:
    e = s.embedding
    reqs = ctx.requests_per_month
    if e.hosting == "managed":
        p = price_or_error(ctx, "bedrock", e.model, "input", e.usd_per_1m_tokens,
                           "retrieval.embedding.usd_per_1m_tokens")
        query_m = reqs * s.query_tokens / TOKENS_PER_1M
        ingest_m = (s.corpus_chunks * s.reingest_fraction_per_month * s.tokens_per_chunk
                    / TOKENS_PER_1M)
        return [line_item("retrieval", f"query embeddings ({e.model})", query_m, "1M tokens",
                          p.usd, p.source),
                line_item("retrieval", f"corpus (re)ingestion embeddings ({e.model})", ingest_m,
                          "1M tokens", p.usd, p.source)]
    if e.instance is None and e.instance_hour_usd is None:
        raise CostlibError("retrieval.embedding: self_hosted needs instance (an EC2 type) or "
                           "instance_hour_usd")
    p = price_or_error(ctx, "ec2", e.instance or "", "on_demand", e.instance_hour_usd,
                       "retrieval.embedding.instance_hour_usd")
    return [line_item("retrieval", f"self-hosted embedding servers ({e.instance or 'custom'} "
                      f"x {e.instances})", e.instances * HOURS_PER_MONTH, "instance-hour",
                      p.usd, p.source)]


def _store_items(s: RetrievalSettings, ctx: Context, dims: int) -> list[LineItem]:
    vs = s.vector_store
    reqs = ctx.requests_per_month
    n = s.corpus_chunks
    record = float(chunk_record_bytes(dims, s.tokens_per_chunk, vs.metadata_bytes_per_chunk))
    stored_gb = n * record / BYTES_PER_GB
    index_gib = float(hnsw_index_gib(n, dims, vs.hnsw_m))
    writes = n * s.reingest_fraction_per_month
    items = []
    if vs.kind == "opensearch_serverless":
        ocus = opensearch_serverless_ocus(index_gib, vs.aoss_redundancy, vs.index_memory_fraction,
                                          vs.aoss_min_ocus)
        p = ctx.price("opensearch_serverless", "classic", "ocu_hour")
        items.append(line_item("retrieval", f"OpenSearch Serverless OCUs ({ocus:g}, floor "
                               f"{'2' if vs.aoss_redundancy else '1'} OCU)",
                               ocus * HOURS_PER_MONTH, "OCU-hour", p.usd, p.source))
        p = ctx.price("opensearch_serverless", "classic", "storage")
        items.append(line_item("retrieval", "OpenSearch Serverless storage (vectors + chunks)",
                               stored_gb, "GB-month", p.usd, p.source))
    elif vs.kind == "aurora_pgvector":
        acu = aurora_acus(index_gib, vs.aurora_min_acu, vs.index_memory_fraction)
        p = ctx.price("aurora_postgresql", "serverless_v2", "acu_hour")
        items.append(line_item("retrieval", f"Aurora Serverless v2 ({acu:g} ACU, pgvector)",
                               acu * HOURS_PER_MONTH, "ACU-hour", p.usd, p.source))
        p = ctx.price("aurora_postgresql", "standard", "storage")
        items.append(line_item("retrieval", "Aurora storage (vectors + chunks)", stored_gb,
                               "GB-month", p.usd, p.source))
        ios = (reqs * vs.aurora_read_ios_per_query
               + writes * math.ceil(record / AURORA_IO_BYTES))
        p = ctx.price("aurora_postgresql", "standard", "io_requests")
        items.append(line_item("retrieval", "Aurora I/O (query reads, ingestion writes)",
                               ios / 1e6, "1M I/O requests", p.usd, p.source))
    elif vs.kind == "dynamodb_inprocess":
        text = s.tokens_per_chunk * BYTES_PER_TOKEN_TEXT + vs.metadata_bytes_per_chunk
        rru = float(request_units(text, DYNAMODB_READ_UNIT_BYTES, eventually_consistent=True))
        wru = float(request_units(record, DYNAMODB_WRITE_UNIT_BYTES))
        p = ctx.price("dynamodb", "on_demand", "read_request_units")
        items.append(line_item("retrieval", "DynamoDB chunk reads (top-k per request)",
                               reqs * s.chunks_per_request * rru / 1e6, "1M read request units",
                               p.usd, p.source))
        p = ctx.price("dynamodb", "on_demand", "write_request_units")
        items.append(line_item("retrieval", "DynamoDB chunk writes (ingestion)", writes * wru / 1e6,
                               "1M write request units", p.usd, p.source))
        p = price_or_error(ctx, "dynamodb", "on_demand", "storage",
                           vs.dynamodb_storage_usd_per_gb_month,
                           "retrieval.vector_store.dynamodb_storage_usd_per_gb_month")
        items.append(line_item("retrieval", "DynamoDB storage (vectors + chunks)", stored_gb,
                               "GB-month", p.usd, p.source))
        gb_task = index_gib / vs.index_memory_fraction
        p = ctx.price("fargate", "linux_x86", "gb_hour")
        items.append(line_item("retrieval",
                               f"in-process index memory ({vs.app_tasks} Fargate tasks "
                               f"x {gb_task:.2f} GB)", gb_task * vs.app_tasks * HOURS_PER_MONTH,
                               "GB-hour", p.usd, p.source))
    else:
        if vs.instance is None and vs.instance_hour_usd is None:
            raise CostlibError("retrieval.vector_store: ec2_self_managed needs instance_hour_usd "
                               "(or an instance priced in the EC2 table)")
        p = price_or_error(ctx, "ec2", vs.instance or "", "on_demand", vs.instance_hour_usd,
                           "retrieval.vector_store.instance_hour_usd")
        items.append(line_item("retrieval", f"self-managed vector store ({vs.instance or 'custom'} "
                               f"x {vs.instances})", vs.instances * HOURS_PER_MONTH,
                               "instance-hour", p.usd, p.source))
        if vs.ebs_gb_per_instance:
            p = ctx.price("ebs", "gp3", "storage")
            items.append(line_item("retrieval", "vector store EBS gp3",
                                   vs.ebs_gb_per_instance * vs.instances, "GB-month", p.usd,
                                   p.source))
    return items


def price_retrieval(settings: RetrievalSettings, ctx: Context, option,
                    outcome: OptionOutcome) -> list[LineItem]:
    """Retrieval line items of one option for a month (at least one, maybe of quantity 0).

    The embedding and vector-store charges are the same for every option: retrieval runs
    before the model and before a router's response cache (the cache key includes the
    context). ``ctx.requests_per_month`` is the option's traffic.
    """
    items: list[LineItem] = []
    s = settings
    if s.enabled:
        dims = embedding_dims(s)
        items.extend(_embedding_items(s, ctx))
        items.extend(_store_items(s, ctx, dims))
        ctx_m = ctx.requests_per_month * extra_input_tokens(s) / TOKENS_PER_1M
        items.append(line_item("retrieval", "retrieved context tokens (priced in inference, "
                               "included in workload.in_tokens)", ctx_m, "1M tokens", 0.0,
                               "priced under inference"))
    items.extend(_processing_items(s.processing, ctx))
    if not items:
        items.append(line_item("retrieval", "retrieval disabled (retrieval.enabled: false)", 0.0,
                               "request", 0.0, "params file"))
    return items


__all__ = ["RetrievalSettings", "EmbeddingSettings", "VectorStoreSettings", "ProcessingSettings",
           "price_retrieval", "extra_input_tokens", "context_tokens_per_request", "vector_bytes",
           "chunk_record_bytes", "hnsw_index_gib", "opensearch_serverless_ocus", "aurora_acus",
           "request_units", "embedding_dims", "retrieval_hops", "price_book"]
