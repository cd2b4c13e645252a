"""Validation of the experiment tables (``experiments``, ``assignments``) for the loader.

The data contract's rules for A/B tests (DESIGN.md §3): one row per experiment with a 'member'
or 'group' unit and a window, assignments to known experiments, each unit in one arm, member
units that are members. Text columns are validated per distinct value (fast on a million
assignments). :func:`helpers.data.load_community` calls these; ``parse_split`` is re-exported
there.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from ._tables import require_non_null, require_unique
from .errors import DataError, warn_at_caller

__all__ = ["parse_split", "validate_experiments", "validate_assignments"]


def parse_split(text: str | None) -> dict[str, float] | None:
    """Parse ``"control:0.5,treatment:0.5"`` into ``{"control": 0.5, "treatment": 0.5}``.

    Weights are normalised to sum to 1. Returns None for a blank value.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return None
    out: dict[str, float] = {}
    for part in str(text).split(","):
        arm, _, w = part.partition(":")
        out[arm.strip()] = float(w)
    total = sum(out.values())
    if total <= 0 or any(v < 0 for v in out.values()):
        raise ValueError(f"weights must be positive: {text!r}")
    return {k: v / total for k, v in out.items()}


def validate_experiments(df: pd.DataFrame, file) -> pd.DataFrame:
    if file is None or df.empty:
        return df
    df["experiment_id"] = df["experiment_id"].astype(str)
    require_unique(df, "experiment_id", file, fix="keep one row per experiment")
    df["unit"] = df["unit"].astype(str).str.strip().str.lower()
    bad = ~df["unit"].isin(["member", "group"])
    if bad.any():
        raise DataError.for_rows("unit must be 'member' or 'group'", file=file, column="unit",
                                 frame=df, mask=bad, show=["experiment_id"],
                                 fix="set unit to the level at which arms were assigned")
    bad = df["ends_at"] <= df["starts_at"]
    if bad.any():
        raise DataError.for_rows("ends_at not after starts_at", file=file, column="ends_at",
                                 frame=df, mask=bad, show=["experiment_id", "starts_at"],
                                 fix="correct the experiment window")
    if "control_arm" not in df.columns:
        df["control_arm"] = "control"
    df["control_arm"] = df["control_arm"].fillna("control").astype(str)
    if "planned_split" in df.columns:
        for i, text in enumerate(df["planned_split"]):
            try:
                parse_split(text)
            except ValueError as exc:
                raise DataError.for_rows(f"planned_split is not 'arm:weight,…' ({exc})",
                                         file=file, column="planned_split", frame=df,
                                         mask=np.arange(len(df)) == i, show=["experiment_id"],
                                         fix="write e.g. control:0.5,treatment:0.5") from None
    return df


def _stripped_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels) of a text column: ``labels`` the distinct stripped texts, ``codes`` each
    row's position in them. Works per distinct value, in Arrow (fast on millions of rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    codes, uniques = pd.factorize(values, sort=False)
    arr = pa.array(np.asarray(uniques, dtype=object).astype(str), type=pa.string())
    stripped = pc.utf8_trim_whitespace(arr)
    if not pc.all(pc.equal(arr, stripped)).as_py():  # " a" and "a": one label
        enc = pc.dictionary_encode(stripped).combine_chunks() \
            if isinstance(stripped, pa.ChunkedArray) else pc.dictionary_encode(stripped)
        codes = enc.indices.to_numpy().astype(np.int64)[codes]
        stripped = enc.dictionary
    return codes.astype(np.int64), np.asarray(stripped.to_pylist(), dtype=object)


def _text_isin(labels: np.ndarray, values) -> np.ndarray:
    """Which ``labels`` (text) occur among ``values`` read as text (Arrow's hash lookup)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    vals = pa.array(np.asarray(values)) if not isinstance(values, pa.Array) else values
    vals = vals.cast(pa.string()) if not pa.types.is_string(vals.type) else vals
    return pc.is_in(pa.array(labels, type=pa.string()), value_set=vals).to_numpy(
        zero_copy_only=False)


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair of non-negative codes."""
    return a * (int(b.max(initial=0)) + 1) + b


def validate_assignments(df: pd.DataFrame, experiments: pd.DataFrame, members: pd.DataFrame,
                          file, experiments_file, notes: list[str]) -> pd.DataFrame:
    if file is None:
        return df
    if experiments_file is None:
        raise DataError("assignments given but no experiments table", file=file,
                        fix="add experiments.csv describing each experiment_id")
    codes, labels = {}, {}
    for col in ("experiment_id", "unit_id", "arm"):
        require_non_null(df, col, file, "every assignment needs an experiment, a unit and an arm")
        codes[col], labels[col] = _stripped_text(df[col])
        df[col] = labels[col][codes[col]]  # plain text, stripped (a take, not a per-row parse)
    known_exp = _text_isin(labels["experiment_id"], experiments["experiment_id"].astype(str))
    unknown = ~known_exp[codes["experiment_id"]]
    if unknown.any():
        raise DataError.for_rows("assignment to an unknown experiment", file=file,
                                 column="experiment_id", frame=df, mask=unknown,
                                 show=["unit_id", "arm"],
                                 fix=f"use an experiment_id from {experiments_file.name} "
                                     f"({', '.join(experiments['experiment_id'][:5])}…) or add it")
    unit_key = _pair_key(codes["experiment_id"], codes["unit_id"])
    first = ~pd.Series(_pair_key(unit_key, codes["arm"])).duplicated().to_numpy()
    if not first.all():
        df = df.loc[first].reset_index(drop=True)
        unit_key = unit_key[first]
        codes = {k: v[first] for k, v in codes.items()}
    two_arms = pd.Series(unit_key).duplicated(keep=False).to_numpy()
    if two_arms.any():
        raise DataError.for_rows("unit assigned to two arms of one experiment", file=file,
                                 column="unit_id", frame=df, mask=two_arms,
                                 show=["experiment_id", "arm"],
                                 fix="a unit must stay in one arm: drop the later assignment "
                                     "(and analyse by first assignment)")
    unit_of = experiments.set_index("experiment_id")["unit"]
    is_member_exp = pd.Index(labels["experiment_id"]).map(unit_of).to_numpy() == "member"
    is_member_unit = is_member_exp[codes["experiment_id"]]
    ids = members["member_id"]
    known = _text_isin(labels["unit_id"], ids.astype(str) if ids.dtype == object else
                       ids.to_numpy())
    unknown_member = is_member_unit & ~known[codes["unit_id"]]
    if unknown_member.any():
        raise DataError.for_rows("unit_id is not a known member (the experiment's unit is "
                                 "'member')", file=file, column="unit_id", frame=df,
                                 mask=unknown_member, show=["experiment_id"],
                                 fix="check the experiment's unit and the member ids exported")
    # groups have no table of their own: a group without members in this export is possible
    has_members = _text_isin(labels["unit_id"], pd.unique(members["group_id"]).astype(str))
    empty_group = ~is_member_unit & ~has_members[codes["unit_id"]]
    if empty_group.any():
        names = sorted(df.loc[empty_group, "unit_id"].unique())[:5]
        notes.append(f"assignments: {int(empty_group.sum())} assigned group(s) have no members "
                     f"in members ({', '.join(names)}); they contribute no data")
        warn_at_caller(notes[-1])
    if "assigned_at" in df.columns and not isinstance(df["assigned_at"].dtype, pd.DatetimeTZDtype):
        df["assigned_at"] = pd.to_datetime(df["assigned_at"])
    return df
