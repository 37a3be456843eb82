"""Every dated data file of the workbook, behind one loader.

Each table is a tidy CSV (or, for engine profiles, YAML) under ``costlib/data/``, every row with
its source URL and as-of date; ``costlib/data/README.md`` describes each table's columns, units
and sources. The modules here read and check them:

- :mod:`costlib.tables.prices`: the price book (tables, overrides, discounts, look-ups);
- :mod:`costlib.tables.genai`: Bedrock per-token prices from the pinned genai-prices package,
  written at refresh time to the imported table ``prices/imported/bedrock_genai_prices.csv``;
- :mod:`costlib.tables.price_schema`: the format of a price row;
- :mod:`costlib.tables.pricelist`: the AWS Price List reader and refresh;
- :mod:`costlib.tables.hardware`: GPUs, models, instances, engine profiles, benchmarks;
- :mod:`costlib.tables.measured`: measured serving curves (vLLM / GenAI-Perf exports);
- :mod:`costlib.tables.spot`: Spot Instance Advisor readings (savings, interruption band).

:func:`read_table` opens any table by name, as it is in the file, for a reader who wants to look.

>>> sorted(TABLES)[:3]
['bedrock_context_windows', 'benchmarks', 'benchmarks_load']
"""

from __future__ import annotations

from pathlib import Path

from costlib.core import paths
from costlib.core.errors import CostlibError
from costlib.core.names import unknown_name_message

TABLES: dict[str, Path] = {
    "gpus": paths.GPUS_CSV,
    "models": paths.MODELS_CSV,
    "instances": paths.INSTANCES_CSV,
    "engines": paths.ENGINES_YAML,
    "benchmarks": paths.BENCHMARKS_CSV,
    "benchmarks_load": paths.BENCHMARKS_LOAD_CSV,
    "scenarios": paths.SCENARIOS_YAML,
    "spot_advisor": paths.SPOT_ADVISOR_CSV,
    "sensitivity_ranges": paths.SENSITIVITY_RANGES_YAML,
    "embedding_models": paths.EMBEDDINGS_CSV,
    "genai_prices_asof": paths.GENAI_ASOF_CSV,
    "bedrock_context_windows": paths.BEDROCK_CONTEXT_CSV,
    "prices/imported/bedrock_genai_prices": paths.GENAI_BEDROCK_CSV,
    **{f"prices/{p.stem}": p for p in sorted(paths.PRICES_DIR.glob("*.csv"))},
}
"""Table name -> file. Price tables are named ``prices/<file stem>`` (``prices/ec2``); the table
imported from genai-prices is ``prices/imported/bedrock_genai_prices``."""


def table_path(name: str) -> Path:
    """The file of table ``name``; an unknown name is a one-line error listing the valid ones.

    >>> table_path("gpus").name
    'gpus.csv'
    >>> table_path("gpu")
    Traceback (most recent call last):
    ...
    costlib.core.errors.CostlibError: unknown table 'gpu'; closest valid: gpus
    """
    try:
        return TABLES[name]
    except KeyError:
        raise CostlibError(unknown_name_message("table", name, TABLES)) from None


def read_table(name: str):
    """Table ``name`` as it is in its file: a pandas DataFrame of strings (CSV) or a dict (YAML).

    The checked, typed forms are what the workbook prices with (:func:`costlib.tables.prices.
    load_price_book`, :func:`costlib.tables.hardware.get_gpu` ...); this is for looking.
    """
    path = table_path(name)
    if path.suffix == ".yaml":
        import yaml

        return yaml.safe_load(path.read_text(encoding="utf-8"))
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)
