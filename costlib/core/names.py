"""Suggest the closest valid names for an unknown one, for one-line error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest_names(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` valid names closest to ``name`` (case-insensitive), best first.

    Falls back to names that share a prefix with ``name`` when nothing is similar enough.
    """
    valid = sorted(set(map(str, valid)))
    lower = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(str(name).lower(), list(lower), n=n, cutoff=0.5)
    if not hits:
        prefix = str(name).lower().split(".")[0][:3]
        hits = [k for k in lower if k.startswith(prefix)][:n]
    return list(dict.fromkeys(lower[h] for h in hits))


def unknown_name_message(what: str, name: str, valid: Iterable[str], where: str = "") -> str:
    """``"unknown instance 'p4.24xl' in params/x.yaml; closest: p4d.24xlarge, ..."``."""
    valid = sorted(set(map(str, valid)))
    near = closest_names(name, valid)
    loc = f" in {where}" if where else ""
    if near:
        hint = "closest valid: " + ", ".join(near)
    else:
        hint = f"valid: {', '.join(valid[:8])}{' ...' if len(valid) > 8 else ''}"
    return f"unknown {what} {name!r}{loc}; {hint}"
