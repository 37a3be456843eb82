"""Params keys that were renamed, and the one-line error an old key gives.

Prices a user supplies are named ``usd_per_<unit>`` (``usd_per_instance_hour``,
``usd_per_1m_xray_traces``). A block lists its renamed keys and checks them before validation::

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        return reject_renamed(data, {"old_key": "new_key"})

The params loader turns the ``ValueError`` into ``FILE: BLOCK: old_key was renamed: use
new_key``.
"""

from __future__ import annotations


def reject_renamed(data, renames: dict[str, str]):
    """``data`` unchanged, or a ``ValueError`` naming the first old key in it and its new name.

    Parameters
    ----------
    data : object
        What a ``mode="before"`` model validator receives (a dict from a params file, or
        anything else, passed through).
    renames : dict of str to str
        Old key -> new key.

    Examples
    --------
    >>> reject_renamed({"usd_per_instance_hour": 1.0}, {"instance_hour_usd": "usd_per_instance_hour"})
    {'usd_per_instance_hour': 1.0}
    >>> reject_renamed({"instance_hour_usd": 1.0}, {"instance_hour_usd": "usd_per_instance_hour"})
    Traceback (most recent call last):
    ...
    ValueError: instance_hour_usd was renamed: use usd_per_instance_hour
    """
    if isinstance(data, dict):
        for old, new in renames.items():
            if old in data:
                raise ValueError(f"{old} was renamed: use {new}")
    return data


__all__ = ["reject_renamed"]
