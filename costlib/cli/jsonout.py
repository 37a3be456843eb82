"""``--json`` output that is always JSON: a non-finite number is refused, never written."""

from __future__ import annotations

import json

from costlib.core.errors import CostlibError


def dumps(obj, **kwargs) -> str:
    """``json.dumps(obj, allow_nan=False, **kwargs)``; NaN or Infinity is one error line.

    JSON has no NaN or Infinity; Python's default writes them anyway, which no other JSON
    reader accepts. Inputs are checked finite on load, so a non-finite result means an input
    combination the model cannot price.
    """
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        raise CostlibError("--json: the result holds a non-finite number (NaN or infinity), "
                           "which JSON cannot carry; check the inputs for extreme values") from None
