"""Every path the project uses, in one place; notebooks and scripts never hard-code paths."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PACKAGE_DIR / "data"
"""The dated data files shipped with the package (described in ``costlib/data/README.md``)."""
PRICES_DIR = DATA_DIR / "prices"
PRICES_META_DIR = PRICES_DIR / "meta"
PRICES_IMPORTED_DIR = PRICES_DIR / "imported"
"""Price tables made by a refresh step from a pinned package (not edited by hand)."""
GPUS_CSV = DATA_DIR / "gpus.csv"
MODELS_CSV = DATA_DIR / "models.csv"
INSTANCES_CSV = DATA_DIR / "instances.csv"
ENGINES_YAML = DATA_DIR / "engines.yaml"
BENCHMARKS_CSV = DATA_DIR / "benchmarks.csv"
BENCHMARKS_LOAD_CSV = DATA_DIR / "benchmarks_load.csv"
SPOT_ADVISOR_CSV = DATA_DIR / "spot_advisor.csv"
"""AWS Spot Instance Advisor readings: savings vs On-Demand and interruption band per instance."""
SCENARIOS_YAML = DATA_DIR / "scenarios.yaml"
"""The article's claim for each of its worked scenarios, keyed by params file stem (lesson 09)."""
SENSITIVITY_RANGES_YAML = DATA_DIR / "sensitivity_ranges.yaml"
"""Default low and high values of the sensitivity (tornado) inputs, each with its reason."""
GENAI_ASOF_CSV = PRICES_META_DIR / "genai_prices_asof.csv"
BEDROCK_CONTEXT_CSV = PRICES_META_DIR / "bedrock_context_windows.csv"
"""The context windows of Bedrock models genai-prices records [tokens]."""
EMBEDDINGS_CSV = PRICES_META_DIR / "embedding_models.csv"
GENAI_BEDROCK_CSV = PRICES_IMPORTED_DIR / "bedrock_genai_prices.csv"
"""The Bedrock per-token rows of the pinned genai-prices package, written by
``costlib prices refresh --bedrock`` (:func:`costlib.tables.genai.write_bedrock_table`)."""


def _find_project_root() -> Path:
    """The checkout's root: ``COSTLIB_ROOT`` if set, else the folder above the package."""
    env = os.environ.get("COSTLIB_ROOT")
    if env:
        return Path(env).resolve()
    return PACKAGE_DIR.parent


PROJ_ROOT = _find_project_root()
PARAMS_DIR = PROJ_ROOT / "params"
OUTPUTS_DIR = PROJ_ROOT / "outputs"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
TESTS_DIR = PROJ_ROOT / "tests"
DEFAULT_PARAMS = PARAMS_DIR / "default.yaml"


def resolve_params_path(params_path: str | os.PathLike) -> Path:
    """A params path as given to a notebook: relative paths are relative to the project root."""
    path = Path(params_path)
    return path if path.is_absolute() else PROJ_ROOT / path
