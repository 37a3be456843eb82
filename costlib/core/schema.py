"""The one base of every params block: unknown keys are errors, values are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every block of a params file.

    ``extra="forbid"`` makes a misspelt key an error that names it; ``frozen=True`` makes a
    validated block immutable, so a what-if builds a new one (``model_copy``) and never edits the
    one a report was priced from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
