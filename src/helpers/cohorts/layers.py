"""Member layers 核心 / 活跃 / 潜在 / 沉睡 (core / active / potential / dormant) and their transitions."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .._checks import active_mask, check_choice, require_columns
from .._time import DAY_NS, resolve_end, to_timestamp, tz_of, wall_ns
from ..errors import ParameterError

__all__ = ["member_layers", "layer_transitions", "LAYERS", "LAYER_ALIASES"]

#: member layers, best first, with their English aliases
LAYERS: tuple[str, ...] = ("核心", "活跃", "潜在", "沉睡")
LAYER_ALIASES: dict[str, str] = {"核心": "core", "活跃": "active", "潜在": "potential",
                                 "沉睡": "dormant"}


def member_layers(members: pd.DataFrame, events: pd.DataFrame, *, as_of=None,
                  window_days: int = 30, recent_days: int = 7, core_frequency: int = 12,
                  active_frequency: int = 4, core_monetary: float | None = 300.0,
                  active_types=None, labels: Literal["zh", "en"] = "zh") -> pd.DataFrame:
    """Member layers 核心 / 活跃 / 潜在 / 沉睡 (core / active / potential / dormant) from RFM.

    Measured at ``as_of`` over the window of the last ``window_days`` calendar days (the day of
    ``as_of`` included), for members who joined by ``as_of``:

    - **recency_days**: days from the last active event to ``as_of`` (NaN if never active);
    - **frequency**: active days in the window;
    - **monetary**: sum of ``amount`` of events in the window (0 without an ``amount`` column).

    Layers, first rule that applies:

    - **核心 core**: active within ``recent_days`` and (frequency ≥ ``core_frequency`` or
      monetary ≥ ``core_monetary``);
    - **活跃 active**: active within ``recent_days`` and frequency ≥ ``active_frequency``;
    - **潜在 potential**: active in the window but not recently or not often;
    - **沉睡 dormant**: no active event in the window (or never active).

    Defaults suit a daily-chat community (about 12 active days a month for an engaged member);
    tune them per community. Explicit exits (``left_at``) are not treated specially: a member
    who left stops acting and slides to 沉睡.

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables (``events.amount`` optional).
    as_of : Timestamp or str, optional
        When to measure (default: the last event).
    window_days, recent_days, core_frequency, active_frequency : int
        Thresholds described above (``recent_days`` ≤ ``window_days``).
    core_monetary : float or None
        Spend in the window that makes a recent member core (None: spend is ignored).
    active_types : list of str, optional
        Event types that count as active (default: all).
    labels : {"zh", "en"}
        Chinese labels (default; 核心, 活跃, 潜在, 沉睡) or the English aliases (core, active,
        potential, dormant) in the ``layer`` column.

    Returns
    -------
    DataFrame
        One row per member: ``member_id``, ``layer`` (ordered categorical, best first),
        ``recency_days`` (float), ``frequency`` (int), ``monetary`` (float).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> member_layers(members, events)["layer"].tolist()
    ['潜在', '潜在', '沉睡', '潜在', '潜在']
    """
    check_choice("labels", labels, ("zh", "en"))
    for name, v in [("window_days", window_days), ("recent_days", recent_days)]:
        if int(v) < 1:
            raise ParameterError(f"{name}={v!r} must be a positive number of days")
    if recent_days > window_days:
        raise ParameterError(f"recent_days={recent_days} must not exceed window_days={window_days}")
    require_columns(members, ["member_id", "joined_at"], "members")
    require_columns(events, ["member_id", "ts", "event_type"], "events")
    tz = tz_of(members["joined_at"])
    until = resolve_end(as_of, events, tz)
    m = members.loc[(members["joined_at"] <= until).to_numpy(), ["member_id"]]
    ids = pd.Index(m["member_id"])
    n = len(m)
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
    if "amount" in events.columns:
        amt_sel = ev_ok & events["amount"].notna().to_numpy()
        apos = ids.get_indexer(events["member_id"].to_numpy()[amt_sel])
        aday = wall_ns(events["ts"][amt_sel], tz) // DAY_NS
        keep = (apos >= 0) & (aday > until_day - window_days)
        monetary = np.bincount(apos[keep], weights=events["amount"].to_numpy()[amt_sel][keep],
                               minlength=n)
    recent = recency <= recent_days  # NaN compares False
    in_window = frequency > 0
    spend_core = (monetary >= core_monetary) if core_monetary is not None else np.zeros(n, bool)
    layer_idx = np.select([recent & ((frequency >= core_frequency) | spend_core),
                           recent & (frequency >= active_frequency),
                           in_window], [0, 1, 2], default=3)
    names = list(LAYERS) if labels == "zh" else [LAYER_ALIASES[x] for x in LAYERS]
    return pd.DataFrame({
        "member_id": m["member_id"].to_numpy(),
        "layer": pd.Categorical.from_codes(layer_idx, categories=names, ordered=True),
        "recency_days": recency,
        "frequency": frequency.astype(np.int64),
        "monetary": monetary,
    })


def layer_transitions(members: pd.DataFrame, events: pd.DataFrame, *, start=None, end=None,
                      **layer_options) -> pd.DataFrame:
    """Transition matrix of member layers between two dates (who moved up, who slipped).

    Members who had joined by ``start`` are counted (later joiners have no ``from`` layer).

    Parameters
    ----------
    members, events : DataFrame
        Data-contract tables.
    start, end : Timestamp or str, optional
        The two measurement times (``start`` < ``end``). ``end`` defaults to the last event,
        ``start`` to ``end`` minus the layers' window (``window_days``, 30 by default), so the
        default compares two consecutive, non-overlapping windows.
    **layer_options
        Passed to :func:`member_layers` (thresholds, ``active_types``, ``labels``).

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
    t0 = (t1 - pd.Timedelta(days=int(layer_options.get("window_days", 30))) if start is None
          else to_timestamp(start, tz, "start"))
    if not t0 < t1:
        raise ParameterError(f"start={start!r} must be before end={end!r}")
    a = member_layers(members, events, as_of=t0, **layer_options)
    b = member_layers(members, events, as_of=t1, **layer_options)
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
