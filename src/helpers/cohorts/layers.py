"""Member layers 核心 / 活跃 / 潜在 / 沉睡 (core / active / potential / dormant), their mix among
current members, and their transitions.

**Current members** at a time t: joined by t and not explicitly left (``left_at``) by t — the
same count as ``growth().members_end`` at the end of observation. Layers describe current
members; members who left are counted apart (:func:`layer_mix`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import active_mask, check_choice, require_columns
from .._time import DAY_NS, resolve_end, to_timestamp, tz_of, wall_ns
from ..engine import is_lazy
from ..errors import ParameterError
from ._common import fill_doc

__all__ = ["LayerRules", "LayerMix", "member_layers", "member_layers_at", "layer_mix", "layer_transitions",
           "current_members", "left_between", "transition_window", "LAYERS", "LAYER_ALIASES"]

#: member layers, best first, with their English aliases
LAYERS: tuple[str, ...] = ("核心", "活跃", "潜在", "沉睡")
LAYER_ALIASES: dict[str, str] = {"核心": "core", "活跃": "active", "潜在": "potential",
                                 "沉睡": "dormant"}
Labels = Literal["zh", "en"]


@dataclass(frozen=True)
class LayerRules:
    """Thresholds of the member layers (validated on creation).

    Attributes
    ----------
    window_days : int, default 30
        Length of the measurement window in calendar days (the day of ``as_of`` included).
    recent_days : int, default 7
        A member is *recent* when their last active event is at most this many days old
        (``recent_days`` ≤ ``window_days``).
    core_frequency : int, default 12
        Active days in the window that make a recent member core.
    active_frequency : int, default 4
        Active days in the window that make a recent member active.
    core_monetary : float or None, default 300.0
        Spend in the window that makes a recent member core (None: spend is ignored).

    Examples
    --------
    >>> LayerRules(window_days=14, recent_days=3).core_frequency
    12
    >>> LayerRules(recent_days=40)
    Traceback (most recent call last):
    ...
    helpers.errors.ParameterError: recent_days=40 must not exceed window_days=30
    """

    window_days: int = 30
    recent_days: int = 7
    core_frequency: int = 12
    active_frequency: int = 4
    core_monetary: float | None = 300.0

    def __post_init__(self):
        for name in ("window_days", "recent_days", "core_frequency", "active_frequency"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"{name}={v!r} must be a positive whole number of days")
        if self.recent_days > self.window_days:
            raise ParameterError(f"recent_days={self.recent_days} must not exceed "
                                 f"window_days={self.window_days}")
        if self.core_monetary is not None and not (
                isinstance(self.core_monetary, (int, float, np.number))
                and np.isfinite(self.core_monetary) and self.core_monetary >= 0):
            raise ParameterError(f"core_monetary={self.core_monetary!r} must be a non-negative "
                                 "amount, or None to ignore spend")

    @classmethod
    def of(cls, rules: LayerRules | None = None, **thresholds) -> LayerRules:
        """``rules`` (default thresholds when None) with some thresholds replaced."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(thresholds) - names)
        if unknown:
            raise ParameterError(f"unknown layer threshold(s) {', '.join(unknown)}; use "
                                 f"{', '.join(sorted(names))}")
        base = rules or cls()
        return cls(**{n: thresholds.get(n, getattr(base, n)) for n in names})


def current_members(members: pd.DataFrame, at) -> np.ndarray:
    """Boolean mask of the current members at ``at``: joined by then and not left by then."""
    keep = (members["joined_at"] <= at).to_numpy()
    if "left_at" in members.columns:
        left = members["left_at"]
        keep &= ~(left.notna() & (left <= at)).to_numpy()
    return keep


@fill_doc
def member_layers(members: pd.DataFrame, events: pd.DataFrame, *, as_of=None,
                  rules: LayerRules | None = None, active_types=None, labels: Labels = "zh",
                  **thresholds) -> pd.DataFrame:
    """Member layers 核心 / 活跃 / 潜在 / 沉睡 (core / active / potential / dormant) from RFM.

    Measured at ``as_of`` over the window of the last ``window_days`` calendar days (the day of
    ``as_of`` included), for every member who joined by ``as_of``:

    - **recency_days**: days from the last active event to ``as_of`` (NaN if never active);
    - **frequency**: active days in the window;
    - **monetary**: sum of ``amount`` of the purchases in the window (0 without an ``amount``
      column).

    Layers, first rule that applies (thresholds in :class:`LayerRules`):

    - **核心 core**: active within ``recent_days`` and (frequency ≥ ``core_frequency`` or
      monetary ≥ ``core_monetary``);
    - **活跃 active**: active within ``recent_days`` and frequency ≥ ``active_frequency``;
    - **潜在 potential**: active in the window but not recently or not often;
    - **沉睡 dormant**: no active event in the window (or never active).

    Defaults suit a daily-chat community (about 12 active days a month for an engaged member);
    tune them per community. Members who left (``left_at`` ≤ ``as_of``) get a row too (they
    slide to 沉睡); the mix of current members and the leavers apart is :func:`layer_mix`.

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables (``events.amount`` optional); ``events`` may be a lazy table
        (``engine="duckdb"``), with the same result.
    as_of : Timestamp or str, optional
        When to measure (default: the end of observation, the last event).
    rules : LayerRules, optional
        Thresholds (default ``LayerRules()``).
    %(active_types)s
    labels : {"zh", "en"}
        Chinese labels (default; 核心, 活跃, 潜在, 沉睡) or the English aliases (core, active,
        potential, dormant) in the ``layer`` column.
    **thresholds
        Fields of :class:`LayerRules` to replace (``recent_days=3`` …).

    Returns
    -------
    DataFrame
        One row per member who joined by ``as_of``: ``member_id``, ``layer`` (ordered
        categorical, best first), ``recency_days`` (float), ``frequency`` (int), ``monetary``
        (float).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> member_layers(members, events)["layer"].tolist()
    ['潜在', '潜在', '沉睡', '潜在', '潜在']
    >>> member_layers(members, events, rules=LayerRules(active_frequency=1))["layer"].tolist()
    ['活跃', '潜在', '沉睡', '潜在', '活跃']
    """
    return member_layers_at(members, events, [as_of], rules=rules, active_types=active_types,
                            labels=labels, **thresholds)[0]


def member_layers_at(members: pd.DataFrame, events: pd.DataFrame, at, *,
                     rules: LayerRules | None = None, active_types=None, labels: Labels = "zh",
                     **thresholds) -> list[pd.DataFrame]:
    """:func:`member_layers` at several times, in one pass over the event log.

    ``[member_layers(members, events, as_of=t, ...) for t in at]`` with the same frames; a
    lazy ``events`` table answers all times with one query (a filtered aggregate per time)
    instead of three queries per time — the activity review measures the layers at the start
    of each of its activities.

    Parameters
    ----------
    members, events : DataFrame
        As for :func:`member_layers` (``events`` may be a lazy table).
    at : sequence of Timestamp, str or None
        The measurement times (None: the end of observation).
    rules, active_types, labels, **thresholds
        As for :func:`member_layers`.

    Returns
    -------
    list of DataFrame
        One :func:`member_layers` frame per time of ``at``, in order: ``member_id``, ``layer``,
        ``recency_days``, ``frequency``, ``monetary``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> a, b = member_layers_at(members, events, ["2026-03-10", None])
    >>> len(a), b["layer"].tolist() == member_layers(members, events)["layer"].tolist()
    (3, True)
    """
    check_choice("labels", labels, ("zh", "en"))
    rules = LayerRules.of(rules, **thresholds)
    require_columns(members, ["member_id", "joined_at"], "members")
    require_columns(events, ["member_id", "ts", "event_type"], "events")
    tz = tz_of(members["joined_at"])
    ends = [resolve_end(t, events, tz) for t in at]  # naive times are read in the members' zone
    if not ends:
        return []
    joined = members["joined_at"]
    if is_lazy(events):
        figures = _rfm_lazy_at(events, ends, tz=tz, window_days=rules.window_days,
                               active_types=active_types)
    out = []
    for i, until in enumerate(ends):
        m = members.loc[(joined <= until).to_numpy(), ["member_id"]]
        ids = pd.Index(m["member_id"])
        if is_lazy(events):
            recency, frequency, monetary = _pick(figures, i, ids, until, tz)
        else:
            recency, frequency, monetary = _rfm(events, ids, until=until, tz=tz,
                                                window_days=rules.window_days,
                                                active_types=active_types)
        out.append(_classify(m["member_id"].to_numpy(), recency, frequency, monetary, rules,
                             labels))
    return out


def _classify(member_ids: np.ndarray, recency: np.ndarray, frequency: np.ndarray,
              monetary: np.ndarray, rules: LayerRules, labels: Labels) -> pd.DataFrame:
    """The layers frame of :func:`member_layers` from the RFM figures (first rule that applies)."""
    n = len(member_ids)
    recent = recency <= rules.recent_days  # NaN compares False
    in_window = frequency > 0
    spend_core = (monetary >= rules.core_monetary) if rules.core_monetary is not None else np.zeros(n, bool)
    layer_idx = np.select([recent & ((frequency >= rules.core_frequency) | spend_core),
                           recent & (frequency >= rules.active_frequency),
                           in_window], [0, 1, 2], default=3)
    names = list(LAYERS) if labels == "zh" else [LAYER_ALIASES[x] for x in LAYERS]
    return pd.DataFrame({
        "member_id": member_ids,
        "layer": pd.Categorical.from_codes(layer_idx, categories=names, ordered=True),
        "recency_days": recency,
        "frequency": frequency.astype(np.int64),
        "monetary": monetary.astype(float),  # float also when no purchase is in any window
    })


def _rfm(events: pd.DataFrame, ids: pd.Index, *, until, tz, window_days: int, active_types
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recency_days, frequency, monetary) per member of ``ids`` from an in-memory event log."""
    n = len(ids)
    mask = active_mask(events, active_types)
    ev_ok = (events["ts"] <= until).to_numpy()
    sel = ev_ok if mask is None else ev_ok & mask
    pos = ids.get_indexer(events["member_id"].to_numpy()[sel])
    ts_ns = wall_ns(events["ts"][sel], tz)
    hit = pos >= 0
    pos, ts_ns = pos[hit], ts_ns[hit]
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, pos, ts_ns)
    until_ns = int(wall_ns(until, tz)[0])
    recency = np.where(last > np.iinfo(np.int64).min, (until_ns - last) / DAY_NS, np.nan)
    # frequency: distinct active days in the window
    until_day = until_ns // DAY_NS
    day = ts_ns // DAY_NS
    inwin = day > until_day - window_days
    pairs = pd.unique(pos[inwin].astype(np.int64) * (window_days + 1) + (until_day - day[inwin]))
    frequency = np.bincount(pairs // (window_days + 1), minlength=n)
    monetary = np.zeros(n)
    if "amount" in events.columns:  # the contract's amounts: those of purchases
        amt_sel = (ev_ok & events["amount"].notna().to_numpy()
                   & (events["event_type"].astype(str) == "purchase").to_numpy())
        apos = ids.get_indexer(events["member_id"].to_numpy()[amt_sel])
        aday = wall_ns(events["ts"][amt_sel], tz) // DAY_NS
        keep = (apos >= 0) & (aday > until_day - window_days)
        monetary = np.bincount(apos[keep], weights=events["amount"].to_numpy()[amt_sel][keep],
                               minlength=n)
    return recency, frequency, monetary


def _rfm_lazy_at(events, ends: list, *, tz, window_days: int, active_types) -> pd.DataFrame:
    """The RFM figures at every time of ``ends`` from a lazy event log, one query
    (:func:`helpers.engine.layer_figures`: per member ``last_i``, ``days_i``, ``spend_i``)."""
    from ..engine.api import layer_figures

    return layer_figures(events, ends, window_days=window_days, active_types=active_types,
                         tz=tz)


def _pick(figures: pd.DataFrame, i: int, ids: pd.Index, until, tz
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recency_days, frequency, monetary) per member of ``ids`` at time ``i`` of
    :func:`_rfm_lazy_at`'s figures (NaN recency and zeros for members without a row)."""
    n = len(ids)
    pos = ids.get_indexer(figures["member_id"].to_numpy())
    hit = pos >= 0
    last = pd.DatetimeIndex(figures[f"last_{i}"])
    ok = hit & last.notna()
    recency = np.full(n, np.nan)
    recency[pos[ok]] = (int(wall_ns(until, tz)[0]) - wall_ns(last[ok], tz)) / DAY_NS
    frequency = np.zeros(n, dtype=np.int64)
    frequency[pos[hit]] = figures[f"days_{i}"].to_numpy()[hit]
    monetary = np.zeros(n)
    monetary[pos[hit]] = figures[f"spend_{i}"].to_numpy()[hit]
    return recency, frequency, monetary


def layer_transitions(members: pd.DataFrame, events: pd.DataFrame, *, start=None, end=None,
                      current_only: bool = False, **layer_options) -> pd.DataFrame:
    """Transition matrix of member layers between two dates (who moved up, who slipped).

    Members who had joined by ``start`` are counted (later joiners have no ``from`` layer).
    With ``current_only`` only the members current at both dates are (layers are of current
    members; :func:`left_between` counts those who left in between, to show apart).

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables.
    start, end : Timestamp or str, optional
        The two measurement times (``start`` < ``end``). ``end`` defaults to the last event,
        ``start`` to ``end`` minus the layers' window (``window_days``, 30 by default), so the
        default compares two consecutive, non-overlapping windows.
    current_only : bool, default False
        Leave out members who had left by ``start`` or left between ``start`` and ``end``
        (without it they slide to 沉睡 dormant).
    **layer_options
        Passed to :func:`member_layers` (``rules``, thresholds, ``active_types``, ``labels``).

    Returns
    -------
    DataFrame
        All layer pairs (zeros included): ``layer_from``, ``layer_to`` (ordered categoricals),
        ``members``, ``share`` (of the ``layer_from`` row), ``direction`` (``"up"``,
        ``"same"``, ``"down"``; up = towards 核心).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> tr = layer_transitions(members, events, start="2026-03-10")
    >>> tr.loc[tr["members"] > 0, ["layer_from", "layer_to", "members"]].values.tolist()
    [['潜在', '潜在', 2], ['沉睡', '沉睡', 1]]
    """
    tz = tz_of(members["joined_at"])
    t1 = resolve_end(end, events, tz)
    window = LayerRules.of(layer_options.get("rules"), **{
        k: v for k, v in layer_options.items() if k in {f.name for f in fields(LayerRules)}
    }).window_days
    t0 = (t1 - pd.Timedelta(days=window) if start is None
          else to_timestamp(start, tz, "start"))
    if not t0 < t1:
        raise ParameterError(f"start={start!r} must be before end={end!r}")
    a, b = member_layers_at(members, events, [t0, t1], **layer_options)
    if current_only:
        keep = members.loc[current_members(members, t0) & current_members(members, t1),
                           "member_id"]
        a = a.loc[a["member_id"].isin(keep).to_numpy()]
    cats = a["layer"].cat.categories
    to = b.set_index("member_id")["layer"].reindex(a["member_id"].to_numpy())
    k = len(cats)
    counts = np.bincount(a["layer"].cat.codes.to_numpy() * k + to.cat.codes.to_numpy(),
                         minlength=k * k).reshape(k, k)
    i, j = np.divmod(np.arange(k * k), k)
    out = pd.DataFrame({"layer_from": pd.Categorical.from_codes(i, cats, ordered=True),
                        "layer_to": pd.Categorical.from_codes(j, cats, ordered=True),
                        "members": counts.ravel()})
    row = counts.sum(axis=1)[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(row > 0, out["members"] / row, np.nan)
    out["direction"] = np.select([j < i, j == i], ["up", "same"], default="down")
    return out


def transition_window(events: pd.DataFrame, members: pd.DataFrame, *, start=None, end=None,
                      rules: LayerRules | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The (start, end) :func:`layer_transitions` uses with these arguments."""
    tz = tz_of(members["joined_at"])
    t1 = resolve_end(end, events, tz)
    t0 = (t1 - pd.Timedelta(days=(rules or LayerRules()).window_days) if start is None
          else to_timestamp(start, tz, "start"))
    return t0, t1


def left_between(members: pd.DataFrame, start, end) -> int:
    """Members current at ``start`` who had left the group by ``end``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, _ = tiny()  # c joined 03-09 and left 03-12
    >>> left_between(members, pd.Timestamp("2026-03-10", tz="Asia/Shanghai"),
    ...              pd.Timestamp("2026-03-20", tz="Asia/Shanghai"))
    1
    """
    return int((current_members(members, start) & ~current_members(members, end)
                & (members["joined_at"] <= end).to_numpy()).sum())


@dataclass(frozen=True)
class LayerMix:
    """The layer mix of current members, with the members who left counted apart.

    Attributes
    ----------
    table : DataFrame
        One row per layer, best first (all four, zeros included): ``layer``, ``members``,
        ``share`` (of current members), ``median_recency_days``, ``mean_active_days``,
        ``mean_spend``.
    current : int
        Current members at ``as_of`` (joined, not left) — the layers' total.
    left : int
        Members who had joined and left by ``as_of`` (not in any layer).
    as_of : Timestamp
        When the layers were measured.
    """

    table: pd.DataFrame
    current: int
    left: int
    as_of: pd.Timestamp


def layer_mix(layers: pd.DataFrame, members: pd.DataFrame, *, as_of) -> LayerMix:
    """Mix of member layers among current members; members who left are counted apart.

    Parameters
    ----------
    layers : DataFrame
        Output of :func:`member_layers` measured at ``as_of``.
    members : DataFrame
        ``member_id, joined_at`` [, ``left_at``].
    as_of : Timestamp or str
        The time the layers were measured at.

    Returns
    -------
    LayerMix

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # c left on 03-12
    >>> mix = layer_mix(member_layers(members, events), members, as_of=events["ts"].max())
    >>> mix.current, mix.left, mix.table["members"].tolist()
    (4, 1, [0, 0, 4, 0])
    """
    as_of = to_timestamp(as_of, tz_of(members["joined_at"]), "as_of")
    joined = (members["joined_at"] <= as_of).to_numpy()
    current_ids = members.loc[current_members(members, as_of), "member_id"]
    cur = layers.loc[layers["member_id"].isin(current_ids).to_numpy()]
    table = (cur.groupby("layer", observed=False, sort=True)
             .agg(members=("member_id", "size"), median_recency_days=("recency_days", "median"),
                  mean_active_days=("frequency", "mean"), mean_spend=("monetary", "mean"))
             .reset_index())  # every layer, best first (categorical, observed=False)
    table["members"] = table["members"].fillna(0).astype(np.int64)
    total = int(table["members"].sum())
    table["share"] = table["members"] / total if total else np.nan
    table = table[["layer", "members", "share", "median_recency_days", "mean_active_days",
                   "mean_spend"]]
    return LayerMix(table=table, current=total, left=int(joined.sum()) - int(current_members(
        members, as_of).sum()), as_of=as_of)
