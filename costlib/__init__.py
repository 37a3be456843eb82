"""costlib: what an LLM application on AWS really costs (formulas, price tables, reports)."""

__version__ = "0.1.0"
"""The package version (the same as ``pyproject.toml``'s; a test keeps them equal)."""
