"""The one base of every params block: unknown keys are errors, values are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every block of a params file.

    ``extra="forbid"`` makes a misspelt key an error that names it; ``frozen=True`` makes a
    validated block immutable, so a what-if builds a new one (``model_copy``) and never edits the
    one a report was priced from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def field_bounds(info) -> dict:
    """The numeric bounds a pydantic field declares, ``{"ge"|"gt"|"le"|"lt": value}``.

    ``info`` is a ``FieldInfo`` (``Model.model_fields[name]``); a field without bounds gives ``{}``.
    The one reading of the schema's bounds for the vectorised bill's checks and the
    distributions' support checks.
    """
    out: dict = {}
    for m in getattr(info, "metadata", []):
        for name in ("ge", "gt", "le", "lt"):
            v = getattr(m, name, None)
            if v is not None:
                out[name] = float(v)
    return out
