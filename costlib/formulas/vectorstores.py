"""Vector-store formulas: record and index sizes, OpenSearch Serverless OCUs, Aurora ACUs,
DynamoDB request units.

Pure functions of numbers (scalars or arrays); :mod:`costlib.bill.plumbing.retrieval` prices
their results. Sizes: a KB is 1,024 bytes and a GiB 2**30 bytes (:mod:`costlib.core.units`).

References
----------
OpenSearch k-NN HNSW memory estimate, ``1.1 * (4 * d + 8 * M)`` bytes per vector: OpenSearch
documentation, "k-NN index / memory estimation" (docs.opensearch.org). OpenSearch Serverless
minimum capacity and 6 GiB per OCU: AWS docs, "Managing capacity limits for Amazon OpenSearch
Serverless" (serverless-scaling.html). Aurora Serverless v2: 1 ACU is about 2 GiB of memory,
0.5-ACU steps (AWS Aurora user guide); write I/Os counted in units of up to 4 KB (Aurora
pricing FAQ). DynamoDB: "A strongly consistent read request of an item up to 4 KB requires one
read unit. An eventually consistent read request of an item up to 4 KB requires one-half read
unit"; "Item sizes for reads are rounded up to the next 4 KB multiple"; a standard write
request unit writes an item up to 1 KB (DynamoDB developer guide, "DynamoDB read and write
operations"; DynamoDB on-demand pricing page).
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import BYTES_PER_GB, BYTES_PER_KB, BYTES_PER_TOKEN_TEXT

FLOAT32_BYTES = 4.0
"""Bytes of one float32 vector component (a fact of the format)."""
HNSW_OVERHEAD = 1.1
"""Multiplier of the OpenSearch HNSW memory estimate (OpenSearch k-NN documentation)."""
HNSW_BYTES_PER_LINK = 8.0
"""Bytes per HNSW graph link in the OpenSearch memory estimate (``8 * M`` per vector)."""
AOSS_GIB_PER_OCU = 6.0
"""Memory of one OpenSearch Serverless OCU [GiB] (AWS docs, serverless-scaling)."""
AURORA_GIB_PER_ACU = 2.0
"""Memory of one Aurora Serverless v2 ACU [GiB], approximately (AWS Aurora user guide)."""
AURORA_IO_BYTES = 4 * BYTES_PER_KB
"""Aurora counts write I/Os in units of up to 4 KB (AWS Aurora pricing FAQ) [bytes]."""
DYNAMODB_READ_UNIT_BYTES = 4 * BYTES_PER_KB
"""One DynamoDB read request unit covers an item up to 4 KB (DynamoDB developer guide)."""
DYNAMODB_WRITE_UNIT_BYTES = 1 * BYTES_PER_KB
"""One DynamoDB write request unit covers an item up to 1 KB (DynamoDB developer guide)."""


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _units(item_bytes, unit_bytes):
    # ceil, with a tolerance so that an item of exactly n units (after float arithmetic) is n
    return np.ceil(np.asarray(item_bytes, dtype=float) / unit_bytes - 1e-12)


def vector_bytes(dims, bytes_per_dim=FLOAT32_BYTES):
    """Bytes of one stored vector [bytes].

    Parameters
    ----------
    dims : float or array_like
        Vector dimensions [-].
    bytes_per_dim : float
        Bytes per component [bytes]; 4 for float32.

    Returns
    -------
    float or numpy.ndarray
        ``dims * bytes_per_dim`` [bytes].

    Examples
    --------
    1,024 float32 components: 4,096 bytes; 384: 1,536.

    >>> float(vector_bytes(1024)), float(vector_bytes(384))
    (4096.0, 1536.0)
    """
    return np.multiply(dims, bytes_per_dim)


def chunk_text_bytes(tokens_per_chunk, metadata_bytes=0.0, bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of a chunk's text and metadata, without its vector [bytes].

    Parameters
    ----------
    tokens_per_chunk : float or array_like
        [tokens].
    metadata_bytes : float or array_like
        Ids, titles, links stored with the chunk [bytes].
    bytes_per_token : float
        [bytes/token].

    Returns
    -------
    float or numpy.ndarray
        ``tokens_per_chunk * bytes_per_token + metadata_bytes`` [bytes].

    Examples
    --------
    400 tokens and 200 bytes of metadata: 1600 + 200 = 1800

    >>> float(chunk_text_bytes(400, 200))
    1800.0
    """
    return np.multiply(tokens_per_chunk, bytes_per_token) + np.asarray(metadata_bytes, dtype=float)


def chunk_record_bytes(dims, tokens_per_chunk, metadata_bytes=0.0,
                       bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of one stored chunk: its float32 vector, its text and metadata [bytes].

    Parameters
    ----------
    dims : float or array_like
        Vector dimensions [-].
    tokens_per_chunk : float or array_like
        [tokens].
    metadata_bytes : float or array_like
        [bytes].
    bytes_per_token : float
        [bytes/token].

    Returns
    -------
    float or numpy.ndarray
        ``4 * dims + tokens_per_chunk * bytes_per_token + metadata_bytes`` [bytes].

    Examples
    --------
    1,024 dims, 400 tokens, 200 bytes metadata: 4096 + 1600 + 200 = 5896

    >>> float(chunk_record_bytes(1024, 400, 200))
    5896.0
    """
    return (vector_bytes(dims) + np.multiply(tokens_per_chunk, bytes_per_token)
            + np.asarray(metadata_bytes, dtype=float))


def stored_gb(records, bytes_per_record):
    """Storage of ``records`` records of a size [GB], 1 GB = 2**30 bytes.

    Parameters
    ----------
    records : float or array_like
        [-].
    bytes_per_record : float or array_like
        [bytes].

    Returns
    -------
    float or numpy.ndarray
        ``records * bytes_per_record / 2**30`` [GB].

    Examples
    --------
    2**20 records of 1,024 bytes: 1 GB.

    >>> float(stored_gb(2**20, 1024))
    1.0
    """
    return np.multiply(records, bytes_per_record) / BYTES_PER_GB


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
    per_vector = HNSW_OVERHEAD * (FLOAT32_BYTES * np.asarray(dims, dtype=float)
                                  + HNSW_BYTES_PER_LINK * m)
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
    A small index stays at the floor; 4.327 GiB x 2 replicas / 3 GiB = 2.88 -> 3 search OCUs,
    plus 1 indexing OCU = 4:

    >>> float(opensearch_serverless_ocus(0.1)), float(opensearch_serverless_ocus(4.327))
    (2.0, 4.0)
    """
    idx = 1.0 if redundancy else 0.5
    replicas = 2.0 if redundancy else 1.0
    usable_gib = AOSS_GIB_PER_OCU * index_memory_fraction
    need = replicas * np.asarray(index_gib, dtype=float) / usable_gib
    search = np.maximum(idx, np.ceil(need * 2.0 - 1e-9) / 2.0)
    floor = (2.0 if redundancy else 1.0) if min_ocus is None else float(min_ocus)
    return _out(np.maximum(floor, idx + search))


def aurora_acus(index_gib, min_acu=0.5, index_memory_fraction=0.5):
    """Aurora Serverless v2 capacity that keeps a pgvector index in memory [ACU].

    Parameters
    ----------
    index_gib : float or array_like
        Vector index memory [GiB].
    min_acu : float
        Minimum capacity setting [ACU].
    index_memory_fraction : float
        Share of the memory the index may use [0-1].

    Returns
    -------
    float or numpy.ndarray
        ``max(min_acu, ceil2(index_gib / (2 * fraction)))`` [ACU], ``ceil2`` rounding up to
        0.5 ACU.

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
    return _out(np.maximum(min_acu, np.ceil(need * 2.0 - 1e-9) / 2.0))


def aurora_write_ios(record_bytes):
    """Aurora storage write I/Os to write one record [I/O].

    Parameters
    ----------
    record_bytes : float or array_like
        [bytes].

    Returns
    -------
    float or numpy.ndarray
        ``ceil(record_bytes / 4096)`` [I/O].

    References
    ----------
    Amazon Aurora pricing FAQ: write I/Os are counted in units of up to 4 KB.

    Examples
    --------
    A 5,896-byte chunk: 5896 / 4096 = 1.44 -> 2 I/Os.

    >>> aurora_write_ios(5896)
    2.0
    """
    return _out(_units(record_bytes, AURORA_IO_BYTES))


def dynamodb_read_units(item_bytes, strongly_consistent=False):
    """DynamoDB read request units for one ``GetItem`` of an item [RRU].

    Parameters
    ----------
    item_bytes : float or array_like
        Item size [bytes].
    strongly_consistent : bool
        Strongly consistent reads cost a full unit per 4 KB, eventually consistent ones
        (the ``GetItem`` default) half.

    Returns
    -------
    float or numpy.ndarray
        ``ceil(item_bytes / 4096)``, halved for eventually consistent reads [RRU].

    References
    ----------
    DynamoDB developer guide, "DynamoDB read and write operations": "A strongly consistent
    read request of an item up to 4 KB requires one read unit. An eventually consistent read
    request of an item up to 4 KB requires one-half read unit"; "reading a 3,500-byte item
    consumes the same throughput as reading a 4 KB item"; 8 KB: 2 units strongly consistent,
    1 eventually consistent (DynamoDB on-demand pricing page).

    Examples
    --------
    3,500 bytes: 0.5 unit (eventual), 1 (strong); 8 KB: 1 and 2; 5,896 bytes: 1 and 2.

    >>> dynamodb_read_units(3500), dynamodb_read_units(3500, strongly_consistent=True)
    (0.5, 1.0)
    >>> dynamodb_read_units(8192), dynamodb_read_units(5896, strongly_consistent=True)
    (1.0, 2.0)
    """
    units = _units(item_bytes, DYNAMODB_READ_UNIT_BYTES)
    return _out(units if strongly_consistent else units / 2.0)


def dynamodb_write_units(item_bytes):
    """DynamoDB write request units for one ``PutItem`` of an item [WRU].

    Parameters
    ----------
    item_bytes : float or array_like
        Item size [bytes].

    Returns
    -------
    float or numpy.ndarray
        ``ceil(item_bytes / 1024)`` [WRU].

    References
    ----------
    DynamoDB on-demand pricing page: "A standard write request unit can write an item up to
    1 KB"; DynamoDB developer guide, "DynamoDB read and write operations".

    Examples
    --------
    1,200 bytes: 1200 / 1024 = 1.17 -> 2; exactly 1,024 bytes: 1; 5,896 bytes: 5.76 -> 6.

    >>> dynamodb_write_units(1200), dynamodb_write_units(1024), dynamodb_write_units(5896)
    (2.0, 1.0, 6.0)
    """
    return _out(_units(item_bytes, DYNAMODB_WRITE_UNIT_BYTES))


def inprocess_index_gb_per_task(index_gib, index_memory_fraction=0.5):
    """Memory each application task needs to hold an in-process vector index [GB].

    Parameters
    ----------
    index_gib : float or array_like
        Index memory [GiB].
    index_memory_fraction : float
        Share of the task's memory the index may use [0-1].

    Returns
    -------
    float or numpy.ndarray
        ``index_gib / index_memory_fraction`` [GB].

    Examples
    --------
    A 1.5 GiB index using half of a task's memory: 3 GB per task.

    >>> float(inprocess_index_gb_per_task(1.5, 0.5))
    3.0
    """
    return np.divide(index_gib, index_memory_fraction)


__all__ = ["FLOAT32_BYTES", "HNSW_OVERHEAD", "HNSW_BYTES_PER_LINK", "AOSS_GIB_PER_OCU",
           "AURORA_GIB_PER_ACU", "AURORA_IO_BYTES", "DYNAMODB_READ_UNIT_BYTES",
           "DYNAMODB_WRITE_UNIT_BYTES", "vector_bytes", "chunk_text_bytes", "chunk_record_bytes",
           "stored_gb", "hnsw_index_gib", "opensearch_serverless_ocus", "aurora_acus",
           "aurora_write_ios", "dynamodb_read_units", "dynamodb_write_units",
           "inprocess_index_gb_per_task"]
