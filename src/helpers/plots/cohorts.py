"""Plots for the cohorts analyses (see the module of the same name in helpers)."""

from ._base import get_ax  # noqa: F401

__all__: list[str] = []
