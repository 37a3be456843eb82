"""What-if questions asked of an estimate, all built on one primitive, :func:`compare`."""

from costlib.whatif.compare import Comparison, compare
from costlib.whatif.sweeps import sweep

__all__ = ["Comparison", "compare", "sweep"]
