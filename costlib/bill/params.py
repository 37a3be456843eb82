"""Params files: the YAML a report is built from, validated on load.

A params file describes one workload and any number of ways to serve it::

    title: Scenario B, steady traffic
    region: us-east-1
    workload:               # the article's worksheet inputs, under the article's names
      in_tokens: 2000
      out_tokens: 500
      avg_rps: 40
      p95_rps: 40
      latency: {ttft_p95_ms: 1000, tpot_p95_ms: 50}
    options:                # name -> settings, each with a `kind`
      bedrock_llama70b: {kind: managed_api, model: meta.llama3-1-70b-instruct-v1:0}
      p4d_vllm: {kind: self_hosted, instance: p4d.24xlarge, batch_size: 4, ...}

Every block forbids unknown keys, so a misspelt key is an error that names the file, the key and
the closest valid names. :func:`load_params` also applies ``--set dotted.key=value`` overrides
(the command line's answer to papermill's ``-p``) before validating.

Any numeric key may be a distribution (``avg_rps: {dist: triangular, low: 30, mode: 40, high:
60}``, see :mod:`costlib.bill.distributions`): loading replaces it by its point value and keeps
the distribution, by dotted key, in :func:`uncertain_inputs` for the Monte Carlo.
"""

from __future__ import annotations

import copy
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Union

import numpy as np
import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, model_validator

from costlib.core.names import closest_names
from costlib.bill.distributions import Distribution, check_support, extract_distributions
from costlib.core.errors import CostlibError
from costlib.core.inputs import PARAMS_MAX_BYTES, read_user_text
from costlib.core.schema import Strict, field_bounds
from costlib.bill.options import KINDS, Option
from costlib.bill.options import ManagedApiOption, ProvisionedOption, RouterOption, SelfHostedOption
from costlib.bill.plumbing import (
    FailureSettings,
    NetworkSettings,
    ObservabilitySettings,
    Plumbing,
    RetrievalSettings,
    SecuritySettings,
)
from costlib.tables.prices import PriceSettings
from costlib.bill.traffic import TrafficSettings
from costlib.bill.work_unit import WorkUnit, retrievals_mismatch, tokens_mismatch
from costlib.core.units import DEFAULT_REGION

__all__ = ["Params", "Workload", "ManagedApiOption", "ProvisionedOption", "RouterOption",
           "SelfHostedOption", "UncertaintySettings", "load_params", "parse_set_overrides",
           "apply_overrides", "uncertain_inputs", "at_points"]


class LatencyTargets(Strict):
    """The ``workload.latency:`` block: p95 bounds a self-hosted fleet must meet.

    Attributes
    ----------
    ttft_p95_ms : float, optional
        Time to first token at p95 [ms]: how long a user waits before text starts streaming.
    tpot_p95_ms : float, optional
        Time per output token at p95 [ms]: the streaming pace. Reading speed is about 4-5 words
        a second, some 6-7 tokens/s, so 150 ms per token is the slowest a chat can stream;
        interactive chat products stream far faster (20-50 ms per token).
    e2e_p95_ms : float, optional
        The whole answer at p95 [ms] (for non-streamed calls: an agent step, an API).

    At least one is needed. The throughput model picks the highest load meeting every one
    and says which binds.
    """

    ttft_p95_ms: float | None = Field(None, gt=0)
    tpot_p95_ms: float | None = Field(None, gt=0)
    e2e_p95_ms: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _at_least_one(self):
        if not self.bounds():
            raise ValueError("state at least one of ttft_p95_ms, tpot_p95_ms, e2e_p95_ms")
        return self

    def bounds(self) -> dict:
        return {k: (float(v) if isinstance(v, (int, float)) else v)
                for k, v in (("ttft_p95_ms", self.ttft_p95_ms), ("tpot_p95_ms", self.tpot_p95_ms),
                             ("e2e_p95_ms", self.e2e_p95_ms)) if v is not None}


class Workload(Strict):
    """The article's worksheet inputs for one workload, and its traffic profile.

    Attributes
    ----------
    in_tokens : float
        Input (prompt) tokens per request [tokens].
    out_tokens : float
        Output tokens per request [tokens].
    avg_rps : float
        Average requests per second over the month [requests/s].
    p95_rps : float, optional
        95th percentile over time of the per-minute request rate [requests/s]; computed from
        the traffic profile when not given.
    latency : LatencyTargets
        The p95 latency targets the workload states (time to first token, time per output
        token, end-to-end time; any or all). The older form ``p95_latency_ms`` with
        ``latency_target: ttft|e2e`` still loads, as ``latency: {ttft_p95_ms: ..}`` or
        ``{e2e_p95_ms: ..}``.
    prompt_cv : float
        Coefficient of variation of the prompt length [-]: 0 for fixed-size prompts; real
        chat and RAG traffic is well above 0, and the p95 prompt is what breaks the latency
        target. Used by the throughput model.
    max_output_tokens : float, optional
        The output cap requests carry (their ``max_tokens``) [tokens], at least ``out_tokens``.
        A serving engine that reserves KV memory at admission (TensorRT-LLM's default
        scheduler, ``kv_admission: reserve`` in engines.yaml) holds the prompt plus this cap per
        sequence whatever the answer's length, so a cap left at the context window (an 8k or a
        32k window) sets how many sequences fit. Default: ``out_tokens`` (requests capped at
        what they use). Engines that allocate as tokens are made (vLLM) are not affected.
    traffic : TrafficSettings, optional
        The shape of the traffic over a week (see :mod:`costlib.bill.traffic`). Without it the
        profile is ``steady`` when ``p95_rps`` equals ``avg_rps`` (or is not given), and
        ``diurnal`` (a business-hours plateau) matched to both rates otherwise.
    """

    in_tokens: float = Field(gt=0)
    out_tokens: float = Field(gt=0)
    avg_rps: float = Field(gt=0)
    p95_rps: float | None = Field(None, gt=0)
    latency: LatencyTargets
    prompt_cv: float = Field(0.0, ge=0)
    max_output_tokens: float | None = Field(None, gt=0)
    traffic: TrafficSettings | None = None

    @model_validator(mode="after")
    def _cap_covers_the_output(self):
        cap = self.max_output_tokens
        if cap is not None and np.any(np.asarray(cap) < np.asarray(self.out_tokens)):
            raise ValueError(f"max_output_tokens {cap} is below out_tokens {self.out_tokens}: the "
                             "cap a request carries must cover the tokens it generates")
        return self

    @model_validator(mode="before")
    @classmethod
    def _older_latency_form(cls, data):
        """``p95_latency_ms`` (+ ``latency_target``) is the one-bound form of ``latency``."""
        if not isinstance(data, dict) or ("p95_latency_ms" not in data and "latency_target" not in data):
            return data
        data = dict(data)
        if "latency" in data:
            raise ValueError("give the latency targets once: latency: {ttft_p95_ms: .., tpot_p95_ms: .., "
                             "e2e_p95_ms: ..} replaces p95_latency_ms and latency_target")
        if "p95_latency_ms" not in data:
            raise ValueError("latency_target needs p95_latency_ms; better, write latency: {ttft_p95_ms: ..}")
        target = data.pop("latency_target", "ttft")
        if target not in ("ttft", "e2e"):
            raise ValueError(f"latency_target {target!r} is not valid; use ttft or e2e (or write latency: "
                             f"{{ttft_p95_ms: .., tpot_p95_ms: .., e2e_p95_ms: ..}})")
        data["latency"] = {f"{target}_p95_ms": data.pop("p95_latency_ms")}
        return data

    @property
    def latency_bounds(self) -> dict:
        """The stated bounds as ``{"ttft_p95_ms": ms, ...}`` (only those given)."""
        return self.latency.bounds()


class UncertaintySettings(Strict):
    """The ``uncertainty:`` block: how :func:`costlib.whatif.uncertainty.monte_carlo` draws.

    Attributes
    ----------
    draws : int, optional
        Monte Carlo draws (default 10,000) [-].
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (default
        :data:`costlib.whatif.uncertainty.DEFAULT_SEED`) [-].
    """

    draws: int | None = Field(None, ge=1, le=10_000_000)
    seed: int | None = Field(None, ge=0)


class Params(Strict):
    """A whole params file.

    Attributes
    ----------
    title, description : str
        Shown at the top of the report.
    region : str
        AWS region of every price (default us-east-1).
    workload : Workload
        The worksheet inputs and the traffic profile.
    prices : PriceSettings
        Price overrides, discounts, the age that triggers a warning (see :mod:`costlib.tables.prices`).
    retrieval, network, observability, security, failures
        The plumbing around the model, priced for every option (see :mod:`costlib.bill.plumbing`;
        each block's defaults describe the baseline architecture stated there).
    options : dict
        Name -> option settings, each with a ``kind``.
    uncertainty : UncertaintySettings
        Draws and seed of the Monte Carlo over the file's distributions (``costlib uncertainty``).
    work_unit : WorkUnit, optional
        One conversation, ticket or agent task as model calls (see
        :mod:`costlib.bill.work_unit`); the estimate then reports the cost per unit.
    """

    title: str = "Untitled workload"
    description: str = ""
    region: str = DEFAULT_REGION
    workload: Workload
    prices: PriceSettings = PriceSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    network: NetworkSettings = NetworkSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    security: SecuritySettings = SecuritySettings()
    failures: FailureSettings = FailureSettings()
    options: dict[str, Option] = Field(min_length=1)
    uncertainty: UncertaintySettings = UncertaintySettings()
    work_unit: WorkUnit | None = None

    _source_path: Path | None = PrivateAttr(default=None)
    _uncertain: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _one_region(self):
        if "region" in self.prices.model_fields_set and self.prices.region != self.region:
            raise ValueError(f"prices.region ({self.prices.region}) differs from region "
                             f"({self.region}); set the region once, at the top level")
        return self

    @model_validator(mode="after")
    def _work_unit_fits_the_workload(self):
        if self.work_unit is not None:
            why = (tokens_mismatch(self.work_unit, self.workload.in_tokens,
                                   self.workload.out_tokens)
                   or retrievals_mismatch(self.work_unit, self.retrieval.enabled))
            if why:
                raise ValueError(why)
        return self

    @property
    def plumbing(self) -> Plumbing:
        """The plumbing blocks together, as :mod:`costlib.bill.plumbing` takes them."""
        return Plumbing(retrieval=self.retrieval, network=self.network,
                        observability=self.observability, security=self.security,
                        failures=self.failures)

    @property
    def source_path(self) -> Path | None:
        """The params file this was loaded from (relative paths inside it start there)."""
        return self._source_path

    @property
    def uncertain(self) -> dict[str, Distribution]:
        """``{"dotted.key": Distribution}`` of the keys given as distributions (a copy)."""
        return dict(self._uncertain)


def uncertain_inputs(params: Params) -> dict[str, Distribution]:
    """The inputs a params file gives as distributions, by dotted key.

    Each value is a :class:`costlib.bill.distributions.Distribution`: ``.point`` is the value
    every plain estimate uses (already in ``params``), ``.ppf(0.1)`` and ``.ppf(0.9)`` its P10
    and P90, ``.sample(rng, n)`` seeded draws. Empty for a file of plain numbers.
    """
    return params.uncertain


def at_points(params: Params) -> Params:
    """``params`` with every distribution dropped: each input fixed at its point value.

    The estimate is the same (it always uses the points); what changes is that nothing is
    uncertain any more, so :func:`costlib.whatif.sensitivity.tornado` moves every input by its
    default range and :func:`costlib.whatif.uncertainty.monte_carlo` has nothing to draw.
    """
    points = {key: dist.point for key, dist in params.uncertain.items()}
    return with_overrides(params, points) if points else params


# --------------------------------------------------------------------------------------------
# overrides


def parse_set_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """Turn ``["workload.avg_rps=10", ...]`` into ``{"workload.avg_rps": 10, ...}``.

    Values are read as YAML scalars, so ``10`` is a number, ``true`` a boolean and ``p5.48xlarge``
    a string.
    """
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise CostlibError(
                f"--set {pair!r}: expected dotted.key=value, e.g. --set workload.avg_rps=10"
            )
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key] = raw
    return out


def apply_overrides(data: dict, overrides: dict[str, Any], source: str = "--set") -> dict:
    """Return a copy of ``data`` with each ``dotted.key`` set to its value.

    Intermediate mappings are created when missing; setting a key inside a value that is not a
    mapping is an error.
    """
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise CostlibError(
                    f"{source} {dotted}: {where} is a value ({child!r}), not a section with keys"
                )
            node = child
        node[parts[-1]] = value
    return data


# --------------------------------------------------------------------------------------------
# loading and one-line errors


def _unwrap(tp):
    """Strip Optional/Annotated layers from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tp
        else:
            return tp


def _model_at(root: type[BaseModel], loc: tuple, data: Any) -> type[BaseModel] | None:
    """The pydantic model class that holds the last element of ``loc``.

    Walks the annotations along ``loc``, following ``dict[str, X]`` values and choosing the
    member of a discriminated union by the ``kind`` found in ``data`` at that place.
    """
    tp: Any = root
    node: Any = data
    for part in loc[:-1]:
        tp = _resolve_union(_unwrap(tp), node)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part)
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        node = node.get(part) if isinstance(node, dict) else None
    tp = _resolve_union(_unwrap(tp), node)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _resolve_union(tp: Any, node: Any) -> Any:
    """The member of a ``kind``-discriminated union that matches ``node['kind']``."""
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return tp
    kind = node.get("kind") if isinstance(node, dict) else None
    for member in typing.get_args(tp):
        member = _unwrap(member)
        field = getattr(member, "model_fields", {}).get("kind")
        if field is not None and kind in typing.get_args(field.annotation):
            return member
    return tp


def _clean_loc(loc: tuple, data: dict) -> tuple:
    """Remove discriminator tags pydantic inserts into locations of union members."""
    out: list = []
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part not in node and isinstance(part, str):
            kind = node.get("kind")
            if part == kind:
                continue  # the tag of a discriminated union
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def _one_line(err: dict, data: dict, where: str) -> str:
    loc = _clean_loc(tuple(err.get("loc", ())), data)
    key = ".".join(str(p) for p in loc) or "(top level)"
    etype = err.get("type", "")
    if etype == "extra_forbidden":
        model = _model_at(Params, loc, data)
        valid = sorted(model.model_fields) if model else []
        near = closest_names(str(loc[-1]), valid) if valid else []
        hint = f"did you mean {', '.join(near)}? " if near else ""
        return f"{where}: unknown key {key!r}; {hint}valid keys here: {', '.join(valid)}"
    if etype == "missing":
        return f"{where}: missing required key {key!r}"
    if etype == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (
            f"{where}: {key}: unknown kind {ctx.get('tag')!r}; "
            f"valid kinds: {ctx.get('expected_tags')}"
        )
    if etype == "union_tag_not_found":
        return f"{where}: {key}: missing 'kind'; valid kinds: {', '.join(KINDS)}"
    msg = err.get("msg", "invalid value")
    value = err.get("input")
    if etype == "finite_number":
        return f"{where}: {key}: must be a finite number (got {value!r})"
    if etype == "value_error":  # a cross-field check of ours: its message says it all
        return f"{where}: {key}: {msg.removeprefix('Value error, ')}"
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return f"{where}: {key}: {msg}{shown}"


def _ordered(errors: list[dict]) -> list[dict]:
    """Unknown keys first: a misspelt key also shows up as the right key 'missing'."""
    return sorted(errors, key=lambda e: e.get("type") != "extra_forbidden")


MAX_DEPTH = 40
"""Deepest nesting a params file may have (the schema needs about 6)."""


def _depth(data: Any, level: int = 0) -> int:
    """How deeply ``data`` nests mappings and lists (stops counting past :data:`MAX_DEPTH`)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(data, dict):
        return max((_depth(v, level + 1) for v in data.values()), default=level + 1)
    if isinstance(data, list):
        return max((_depth(v, level + 1) for v in data), default=level + 1)
    return level


def load_params(path: str | Path, overrides: dict[str, Any] | None = None) -> Params:
    """Read, override and validate a params file.

    Parameters
    ----------
    path : str or Path
        A YAML params file.
    overrides : dict, optional
        ``{"dotted.key": value}`` applied before validation (see :func:`parse_set_overrides`).

    Returns
    -------
    Params

    Raises
    ------
    CostlibError
        One line naming the file, the key, what is wrong and what would be valid.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise CostlibError(f"load_params: path must be a str or pathlib.Path of a params file, "
                           f"got {type(path).__name__}")
    if overrides is not None and not isinstance(overrides, dict):
        raise CostlibError(f"load_params: overrides must be a dict of {{'dotted.key': value}}, "
                           f"got {type(overrides).__name__}")
    path = Path(path)
    where = str(path)
    if not path.exists() and not path.is_symlink():
        try:
            near = closest_names(path.name, [p.name for p in path.parent.glob("*.yaml")])
        except OSError:
            near = []
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise CostlibError(f"{where}: no such params file{hint}")
    text = read_user_text(path, "params file", PARAMS_MAX_BYTES)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise CostlibError(f"{where}: not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise CostlibError(f"{where}: nested too deeply to read; a params file is a few levels "
                           f"of mappings") from None
    if _depth(data) > MAX_DEPTH:
        raise CostlibError(f"{where}: nested more than {MAX_DEPTH} levels deep; a params file is "
                           f"a few levels of mappings")
    if not isinstance(data, dict):
        raise CostlibError(f"{where}: expected a mapping of keys (workload:, options:, ...)")
    if overrides:
        for key in overrides:
            if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
                raise CostlibError(f"{where}: override key {key!r}: expected a dotted key such "
                                   f"as 'workload.avg_rps'")
        data = apply_overrides(data, overrides, source=f"{where}: --set")
    data, dists = extract_distributions(data, where)
    params = _validate(data, where, dists)
    params._source_path = path
    _check_whole(params, where, params_base_dir(path))
    return params


def _validate(data: dict, where: str, dists: dict[str, Distribution]) -> Params:
    """Validate raw data whose distributions are replaced by their points; keep the
    distributions (checked against the keys' bounds) on the result."""
    for _ in range(2):
        try:
            params = Params.model_validate(data)
            break
        except ValidationError as exc:
            errors = _ordered(exc.errors(include_url=False))
            at_dist = [e for e in errors if _dist_key(e, data, dists)]
            # an integer key whose point is not whole: the point is rounded (as draws are)
            whole = [e for e in at_dist if e.get("type") == "int_from_float"]
            if whole and len(whole) == len(at_dist):
                keys = [_dist_key(e, data, dists) for e in whole]
                data = apply_overrides(data, {k: round(dists[k].point) for k in keys})
                continue
            if at_dist:
                _not_numeric(_dist_key(at_dist[0], data, dists), data, where, dists)
            first = _one_line(errors[0], data, where)
            more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
            raise CostlibError(first + more) from None
    for key, dist in dists.items():
        spec = _key_spec(params, key)
        if spec is None or key.startswith("uncertainty."):
            _not_numeric(key, data, where, dists)
        check_support(dist, spec, where, key)
    params._uncertain = dict(dists)
    return params


def _key_spec(params: Params, key: str) -> dict | None:
    """The bounds (``ge``/``gt``/``le``/``lt``) of a numeric key, or None if it is not one.

    The same reading of the schema as :func:`costlib.bill.vector.numeric_keys`, for one key.
    """
    node: Any = params
    parts = key.split(".")
    for part in parts[:-1]:
        if isinstance(node, BaseModel):
            node = getattr(node, part, None)
        elif isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if not isinstance(node, BaseModel) or parts[-1] not in type(node).model_fields:
        return None
    info = type(node).model_fields[parts[-1]]
    value = getattr(node, parts[-1])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return field_bounds(info)


def _dist_key(err: dict, data: dict, dists: dict) -> str | None:
    """The distribution key an error is at (or inside), if any."""
    key = ".".join(str(p) for p in _clean_loc(tuple(err.get("loc", ())), data))
    return next((k for k in dists if key == k or key.startswith(k + ".")), None)


def _not_numeric(key: str, data: dict, where: str, dists: dict):
    """Raise: a distribution at a key that does not take a number (naming the numeric keys of
    the same section, closest first)."""
    parts = tuple(key.split("."))
    parent = ".".join(parts[:-1])
    model = _model_at(Params, parts, data)
    names: list[str] = []
    if model is not None:
        for name, info in model.model_fields.items():
            text = str(_unwrap(info.annotation))
            if text in ("<class 'float'>", "<class 'int'>") or text in ("float", "int"):
                names.append(f"{parent}.{name}" if parent else name)
    near = closest_names(key, names) if names else []
    near = near or sorted(names)[:6]
    hint = f"; numeric keys here: {', '.join(near)}" if near else ""
    raise CostlibError(f"{where}: {key}: a distribution ({dists[key].kind}) is given for a key "
                       f"that is not a number; only numeric keys take distributions{hint}")


def _check_whole(params: Params, where: str, base_dir: Path | None) -> None:
    """The checks that need more than one block: the traffic profile must be buildable.

    Run when a file is loaded (and after overrides), so a params file either loads valid or is
    rejected before anything runs; ``costlib report`` never starts notebooks on a file that the
    traffic model cannot shape.
    """
    from costlib.bill.traffic import workload_profile

    try:
        workload_profile(params.workload, base_dir)
    except CostlibError as exc:
        raise CostlibError(f"{where}: {exc.message}") from None


def params_base_dir(path: str | Path) -> Path:
    """The folder relative paths inside a params file are resolved against."""
    return Path(path).resolve().parent


def with_overrides(params: Params, overrides: dict[str, Any]) -> Params:
    """A copy of validated ``params`` with ``{"dotted.key": value}`` applied and re-validated.

    The distributions of keys not overridden are kept (:func:`uncertain_inputs`); a key set to a
    plain value (or inside a section that is replaced) loses its distribution; a value may be a
    ``{dist: ..}`` mapping.
    """
    data = apply_overrides(params.model_dump(mode="python", exclude_unset=True), overrides)
    data, dists = extract_distributions(data, "override")
    kept = {k: d for k, d in params.uncertain.items()
            if not any(k == o or k.startswith(o + ".") for o in overrides)}
    new = _validate(data, "override", {**kept, **dists})
    new._source_path = params.source_path
    base_dir = params_base_dir(params.source_path) if params.source_path is not None else None
    _check_whole(new, "override", base_dir)
    return new
