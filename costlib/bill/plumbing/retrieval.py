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

from typing import Literal

from pydantic import Field, model_validator

from costlib.bill.context import Context, price_book, price_or_error, tiered_price
from costlib.bill.lineitems import LineItem, OptionOutcome, line_item, num
from costlib.bill.plumbing.hops import Hop
from costlib.bill.plumbing.renamed import reject_renamed
from costlib.core.errors import CostlibError
from costlib.core.schema import Strict
from costlib.core.units import HOURS_PER_MONTH, PER_1M
from costlib.formulas.network import prompt_bytes, vector_json_bytes
from costlib.formulas.serverless import lambda_gb_seconds
from costlib.formulas.tokens import context_tokens_per_request, million_tokens
from costlib.formulas.vectorstores import (
    aurora_acus,
    aurora_write_ios,
    chunk_record_bytes,
    chunk_text_bytes,
    dynamodb_read_units,
    dynamodb_write_units,
    hnsw_index_gib,
    inprocess_index_gb_per_task,
    opensearch_serverless_ocus,
    stored_gb,
)


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
    usd_per_instance_hour : float, optional
        Self-hosted: your own instance-hour price [USD/h]; default the EC2 table. (Was
        ``instance_hour_usd``.)
    """

    hosting: Literal["managed", "self_hosted"] = "managed"
    model: str = "amazon.titan-embed-text-v2:0"
    dims: int | None = Field(None, ge=1)
    usd_per_1m_tokens: float | None = Field(None, ge=0)
    instance: str | None = None
    instances: int = Field(1, ge=0)
    usd_per_instance_hour: float | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        return reject_renamed(data, {"instance_hour_usd": "usd_per_instance_hour"})


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
    usd_per_instance_hour : float, optional
        ``ec2_self_managed``: your instance-hour price [USD/h] (the EC2 table holds GPUs only).
        (Was ``instance_hour_usd``.)
    ebs_gb_per_instance : float
        ``ec2_self_managed``: gp3 volume per instance [GB].
    usd_per_dynamodb_gb_month : float, optional
        DynamoDB storage price when the tables lack it for the region [USD/GB-month]. (Was
        ``dynamodb_storage_usd_per_gb_month``.)
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
    usd_per_instance_hour: float | None = Field(None, ge=0)
    ebs_gb_per_instance: float = Field(0.0, ge=0)
    usd_per_dynamodb_gb_month: float | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        return reject_renamed(data, {"instance_hour_usd": "usd_per_instance_hour",
                                     "dynamodb_storage_usd_per_gb_month": "usd_per_dynamodb_gb_month"})


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
# settings -> numbers


def extra_input_tokens(settings: RetrievalSettings) -> float:
    """Retrieved-context tokens added to every prompt [tokens]; 0 when retrieval is off."""
    if not settings.enabled:
        return 0.0
    return num(context_tokens_per_request(settings.chunks_per_request,
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
    vec_json = num(vector_json_bytes(dims, net.json_bytes_per_vector_dim))
    hops = []
    q_bytes = num(prompt_bytes(settings.query_tokens, ovh))
    if settings.embedding.hosting == "managed":
        hops.append(Hop("app -> Bedrock runtime (embeddings)", q_bytes, vec_json + ovh, 1.0,
                        net.aws_path, "bedrock-runtime"))
    else:
        hops.append(Hop("app -> self-hosted embedding server", q_bytes, vec_json + ovh, 1.0,
                        "vpc", cross_az_fraction=net.model_cross_az_fraction))
    vs = settings.vector_store
    text = num(chunk_text_bytes(settings.tokens_per_chunk, vs.metadata_bytes_per_chunk))
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
        gb_s = num(lambda_gb_seconds(reqs, p.lambda_memory_gb, p.lambda_ms_per_request))
        pd_ = tiered_price(ctx, "lambda", fn, "duration", gb_s)
        return [line_item("retrieval", "pre/post-processing Lambda requests", reqs / PER_1M,
                          "1M requests", pr.usd, pr.source),
                line_item("retrieval", "pre/post-processing Lambda duration", gb_s, "GB-second",
                          pd_.usd, pd_.source)]
    if p.kind == "fargate":
        hours = p.fargate_tasks * HOURS_PER_MONTH
        pc = ctx.price("fargate", "linux_x86", "vcpu_hour")
        pm = ctx.price("fargate", "linux_x86", "gb_hour")
        return [line_item("retrieval",
                          f"pre/post-processing Fargate vCPU ({p.fargate_tasks} tasks)",
                          hours * p.fargate_vcpu, "vCPU-hour", pc.usd, pc.source, fixed=True),
                line_item("retrieval", "pre/post-processing Fargate memory",
                          hours * p.fargate_gb, "GB-hour", pm.usd, pm.source, fixed=True)]
    return []


def _embedding_items(s: RetrievalSettings, ctx: Context) -> list[LineItem]:
    e = s.embedding
    reqs = ctx.requests_per_month
    if e.hosting == "managed":
        p = price_or_error(ctx, "bedrock", e.model, "input", e.usd_per_1m_tokens,
                           "retrieval.embedding.usd_per_1m_tokens")
        query_m = num(million_tokens(reqs, s.query_tokens))
        ingest_m = num(million_tokens(s.corpus_chunks * s.reingest_fraction_per_month,
                                        s.tokens_per_chunk))
        return [line_item("retrieval", f"query embeddings ({e.model})", query_m, "1M tokens",
                          p.usd, p.source),
                line_item("retrieval", f"corpus (re)ingestion embeddings ({e.model})", ingest_m,
                          "1M tokens", p.usd, p.source, fixed=True)]  # the corpus, not traffic
    if e.instance is None and e.usd_per_instance_hour is None:
        raise CostlibError("retrieval.embedding: self_hosted needs instance (an EC2 type) or "
                           "usd_per_instance_hour")
    p = price_or_error(ctx, "ec2", e.instance or "", "on_demand", e.usd_per_instance_hour,
                       "retrieval.embedding.usd_per_instance_hour")
    return [line_item("retrieval", f"self-hosted embedding servers ({e.instance or 'custom'} "
                      f"x {e.instances})", e.instances * HOURS_PER_MONTH, "instance-hour",
                      p.usd, p.source, fixed=True)]


def _store_items(s: RetrievalSettings, ctx: Context, dims: int) -> list[LineItem]:
    vs = s.vector_store
    reqs = ctx.requests_per_month
    n = s.corpus_chunks
    record = num(chunk_record_bytes(dims, s.tokens_per_chunk, vs.metadata_bytes_per_chunk))
    store_gb = num(stored_gb(n, record))
    index_gib = num(hnsw_index_gib(n, dims, vs.hnsw_m))
    writes = n * s.reingest_fraction_per_month
    items = []
    if vs.kind == "opensearch_serverless":
        ocus = opensearch_serverless_ocus(index_gib, vs.aoss_redundancy, vs.index_memory_fraction,
                                          vs.aoss_min_ocus)
        p = ctx.price("opensearch_serverless", "classic", "ocu_hour")
        items.append(line_item("retrieval", f"OpenSearch Serverless OCUs ({ocus:g}, floor "
                               f"{'2' if vs.aoss_redundancy else '1'} OCU)",
                               ocus * HOURS_PER_MONTH, "OCU-hour", p.usd, p.source, fixed=True))
        p = ctx.price("opensearch_serverless", "classic", "storage")
        items.append(line_item("retrieval", "OpenSearch Serverless storage (vectors + chunks)",
                               store_gb, "GB-month", p.usd, p.source, fixed=True))
    elif vs.kind == "aurora_pgvector":
        acu = aurora_acus(index_gib, vs.aurora_min_acu, vs.index_memory_fraction)
        p = ctx.price("aurora_postgresql", "serverless_v2", "acu_hour")
        items.append(line_item("retrieval", f"Aurora Serverless v2 ({acu:g} ACU, pgvector)",
                               acu * HOURS_PER_MONTH, "ACU-hour", p.usd, p.source, fixed=True))
        p = ctx.price("aurora_postgresql", "standard", "storage")
        items.append(line_item("retrieval", "Aurora storage (vectors + chunks)", store_gb,
                               "GB-month", p.usd, p.source, fixed=True))
        ingest_ios = writes * aurora_write_ios(record)
        ios = reqs * vs.aurora_read_ios_per_query + ingest_ios
        p = ctx.price("aurora_postgresql", "standard", "io_requests")
        items.append(line_item("retrieval", "Aurora I/O (query reads, ingestion writes)",
                               ios / PER_1M, "1M I/O requests", p.usd, p.source,
                               floor_quantity=ingest_ios / PER_1M))  # ingestion: no traffic
    elif vs.kind == "dynamodb_inprocess":
        text = num(chunk_text_bytes(s.tokens_per_chunk, vs.metadata_bytes_per_chunk))
        rru = dynamodb_read_units(text)  # GetItem default: eventually consistent
        wru = dynamodb_write_units(record)
        p = ctx.price("dynamodb", "on_demand", "read_request_units")
        items.append(line_item("retrieval", "DynamoDB chunk reads (top-k per request)",
                               reqs * s.chunks_per_request * rru / PER_1M, "1M read request units",
                               p.usd, p.source))
        p = ctx.price("dynamodb", "on_demand", "write_request_units")
        items.append(line_item("retrieval", "DynamoDB chunk writes (ingestion)", writes * wru / PER_1M,
                               "1M write request units", p.usd, p.source, fixed=True))
        p = price_or_error(ctx, "dynamodb", "on_demand", "storage",
                           vs.usd_per_dynamodb_gb_month,
                           "retrieval.vector_store.usd_per_dynamodb_gb_month")
        items.append(line_item("retrieval", "DynamoDB storage (vectors + chunks)", store_gb,
                               "GB-month", p.usd, p.source, fixed=True))
        gb_task = num(inprocess_index_gb_per_task(index_gib, vs.index_memory_fraction))
        p = ctx.price("fargate", "linux_x86", "gb_hour")
        items.append(line_item("retrieval",
                               f"in-process index memory ({vs.app_tasks} Fargate tasks "
                               f"x {gb_task:.2f} GB)", gb_task * vs.app_tasks * HOURS_PER_MONTH,
                               "GB-hour", p.usd, p.source, fixed=True))
    else:
        if vs.instance is None and vs.usd_per_instance_hour is None:
            raise CostlibError("retrieval.vector_store: ec2_self_managed needs usd_per_instance_hour "
                               "(or an instance priced in the EC2 table)")
        p = price_or_error(ctx, "ec2", vs.instance or "", "on_demand", vs.usd_per_instance_hour,
                           "retrieval.vector_store.usd_per_instance_hour")
        items.append(line_item("retrieval", f"self-managed vector store ({vs.instance or 'custom'} "
                               f"x {vs.instances})", vs.instances * HOURS_PER_MONTH,
                               "instance-hour", p.usd, p.source, fixed=True))
        if vs.ebs_gb_per_instance:
            p = ctx.price("ebs", "gp3", "storage")
            items.append(line_item("retrieval", "vector store EBS gp3",
                                   vs.ebs_gb_per_instance * vs.instances, "GB-month", p.usd,
                                   p.source, fixed=True))
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
        ctx_m = num(million_tokens(ctx.requests_per_month, extra_input_tokens(s)))
        items.append(line_item("retrieval", "retrieved context tokens (priced in inference, "
                               "included in workload.in_tokens)", ctx_m, "1M tokens", 0.0,
                               "priced under inference"))
    items.extend(_processing_items(s.processing, ctx))
    if not items:
        items.append(line_item("retrieval", "retrieval disabled (retrieval.enabled: false)", 0.0,
                               "request", 0.0, "params file"))
    return items


__all__ = ["RetrievalSettings", "EmbeddingSettings", "VectorStoreSettings", "ProcessingSettings",
           "price_retrieval", "extra_input_tokens", "embedding_dims", "retrieval_hops",
           "price_book"]
