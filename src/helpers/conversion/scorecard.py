"""Channel scorecard (渠道对比表): one row per channel, six figures, each with its interval.

Figures (every one from the public helper that owns its definition):

- ``members``: members who joined by the end of observation;
- **D30 retention** (``cohorts.n_day_retention``, classic: active on day 30 after joining;
  members who joined at least 30 days before the end);
- **90-day RMST** (``survival.churn_table`` + ``survival.rmst_table``: days a member stays in
  their first 90 days, on average);
- **30-day purchase conversion** (:func:`funnel`, step ``purchased``: eligible members only);
- **repurchase rate** (:func:`funnel` with a 90-day window: of the members who bought in their
  first 90 days, the share who bought again on a later day in that window);
- **90-day value per member**: average amount spent in the first 90 days after joining, over
  members who joined at least 90 days before the end (non-buyers count as 0), normal interval.

Best and worst are named only where intervals do not overlap (:func:`scorecard_leaders`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import check_alpha, column_param
from .._format import overlap
from .._time import DAY_NS, as_ns, resolve_end, tz_of
from ..engine.api import is_lazy
from ..engine.purchases import purchase_summary
from ..errors import AnalysisWarning
from ._members import event_positions, wilson
from .funnel import funnel
#: windows (days) of the scorecard's funnels: the purchase conversion and the repurchase rate
FUNNEL_WINDOWS: tuple[int, int] = (30, 90)

#: metric -> (estimate column, interval low, interval high); higher is better for each
METRICS: dict[str, tuple[str, str, str]] = {
    "d30_retention": ("d30_retention", "d30_ci_low", "d30_ci_high"),
    "rmst_90d": ("rmst_90d", "rmst_ci_low", "rmst_ci_high"),
    "conversion_30d": ("conversion_30d", "conversion_ci_low", "conversion_ci_high"),
    "repurchase_rate": ("repurchase_rate", "repurchase_ci_low", "repurchase_ci_high"),
    "value_90d": ("value_90d", "value_ci_low", "value_ci_high"),
}


def value_per_member(members, events, *, horizon_days: float = 90, by="channel",
                     observed_until=None, alpha: float = config.ALPHA) -> pd.DataFrame:
    """Mean spend in the first ``horizon_days`` after joining per segment: ``by, eligible,
    value, ci_low, ci_high`` (members who joined at least ``horizon_days`` before the end).

    ``events`` may be a lazy table (``engine="duckdb"``/``"spark"``): the spend per member
    comes from the engine (:func:`helpers.engine.api.purchase_summary`)."""
    tz = tz_of(events["ts"]) if not is_lazy(events) else tz_of(members["joined_at"])
    end = resolve_end(observed_until, events, tz)
    m = members.loc[members["joined_at"] + pd.Timedelta(days=horizon_days) <= end,
                    ["member_id", "joined_at", by]].reset_index(drop=True)
    spend = np.zeros(len(m))
    if "amount" in events.columns and len(m) and is_lazy(events):
        got = purchase_summary(events, m, horizon_days=horizon_days, until=end, tz=tz)
        spend = got.set_index("member_id")["window_spend"].reindex(
            m["member_id"].to_numpy()).to_numpy(float)
    elif "amount" in events.columns and len(m):
        pos, keep = event_positions(m, events, end)
        keep &= (events["event_type"] == "purchase").to_numpy()
        ts = as_ns(events["ts"])
        keep[keep] &= ts[keep] < as_ns(m["joined_at"])[pos[keep]] + int(horizon_days * DAY_NS)
        amt = events["amount"].to_numpy(float)
        keep &= np.isfinite(amt)
        spend = np.bincount(pos[keep], weights=amt[keep], minlength=len(m))
    z = stats.norm.ppf(1 - alpha / 2)
    g = pd.DataFrame({by: m[by].to_numpy(), "s": spend}).groupby(by, sort=True, observed=True)["s"]
    out = g.agg(eligible="size", value="mean", sd="std").reset_index()
    se = out["sd"] / np.sqrt(out["eligible"])
    out["ci_low"] = (out["value"] - z * se).clip(lower=0)
    out["ci_high"] = out["value"] + z * se
    if "amount" not in events.columns:
        out[["value", "ci_low", "ci_high"]] = np.nan
    return out.drop(columns="sd")


def channel_scorecard(members: pd.DataFrame, events: pd.DataFrame, *, by: str = "channel",
                      observed_until=None, active_types=None,
                      inactivity_days: float = config.INACTIVITY_DAYS,
                      alpha: float = config.ALPHA, churn: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """The channel scorecard: a row per channel (or ``by`` level) with intervals.

    ``churn``: the churn table of these arguments (``survival.churn_table(members, events,
    inactivity_days=..., observed_until=..., active_types=...)``) when already computed — report
    04 shares one with the first-purchase section.

    Returns
    -------
    DataFrame
        ``<by>, members, d30_retention, d30_ci_low, d30_ci_high, d30_eligible, rmst_90d,
        rmst_ci_low, rmst_ci_high, rmst_members, conversion_30d, conversion_ci_low,
        conversion_ci_high, conversion_eligible, repurchase_rate, repurchase_ci_low,
        repurchase_ci_high, repurchase_buyers, value_90d, value_ci_low, value_ci_high,
        value_eligible``. A figure that cannot be computed (too short a history, no
        ``amount``) is NaN with its count 0; ``attrs["notes"]`` says why.

    Examples
    --------
    >>> card = channel_scorecard(ds.members, ds.events)            # doctest: +SKIP
    >>> scorecard_leaders(card)                                     # doctest: +SKIP
    """
    from .. import cohorts, survival  # public APIs

    check_alpha(alpha)
    column_param("by", by, members)
    tz = tz_of(events["ts"]) if not is_lazy(events) else tz_of(members["joined_at"])
    end = resolve_end(observed_until, events, tz)
    opts = dict(observed_until=end, active_types=active_types)
    notes: list[str] = []
    m = members[members["joined_at"] <= end]
    card = m.groupby(by, sort=True, observed=True).size().rename("members").reset_index()
    card[by] = card[by].astype(object)
    d30 = cohorts.n_day_retention(members, events, days=[30], by=by, alpha=alpha, **opts)
    d30 = d30[d30["eligible"] > 0].rename(columns={"rate": "d30_retention", "ci_low": "d30_ci_low",
                                                   "ci_high": "d30_ci_high",
                                                   "eligible": "d30_eligible"})
    card = card.merge(d30[[by, "d30_retention", "d30_ci_low", "d30_ci_high", "d30_eligible"]],
                      on=by, how="left")
    if churn is None:
        churn = survival.churn_table(members, events, inactivity_days=inactivity_days, **opts)
    rm = pd.DataFrame(columns=[by, "rmst_90d", "rmst_ci_low", "rmst_ci_high", "rmst_members"])
    if len(churn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AnalysisWarning)
            r = survival.rmst_table(churn, group_col=by, horizon_days=config.HORIZON_DAYS,
                                    alpha=alpha)
        if any(issubclass(w.category, AnalysisWarning) for w in caught):
            notes.append("rmst_short_followup")
        rm = r.rename(columns={"group": by, "rmst": "rmst_90d", "ci_low": "rmst_ci_low",
                               "ci_high": "rmst_ci_high", "n": "rmst_members"})
        rm = rm[[by, "rmst_90d", "rmst_ci_low", "rmst_ci_high", "rmst_members"]]
    else:
        notes.append("rmst_no_followup")
    card = card.merge(rm, on=by, how="left")
    f30 = funnel(members, events, window_days=FUNNEL_WINDOWS[0], by=by, alpha=alpha, **opts)
    f30 = f30[(f30["step"] == "purchased") & (f30["eligible"] > 0)].rename(columns={
        "rate": "conversion_30d", "ci_low": "conversion_ci_low", "ci_high": "conversion_ci_high",
        "eligible": "conversion_eligible"})
    card = card.merge(f30[[by, "conversion_30d", "conversion_ci_low", "conversion_ci_high",
                           "conversion_eligible"]], on=by, how="left")
    f90 = funnel(members, events, window_days=FUNNEL_WINDOWS[1], by=by, alpha=alpha, **opts)
    buy = f90[f90["step"] == "purchased"].set_index(by)["converted"]
    rep = f90[f90["step"] == "repurchased"].set_index(by)["converted"]
    rp = pd.DataFrame({by: buy.index.astype(object), "repurchase_buyers": buy.to_numpy(),
                       "_k": rep.reindex(buy.index).to_numpy()})
    rp = rp[rp["repurchase_buyers"] > 0]
    rp["repurchase_rate"] = rp["_k"] / rp["repurchase_buyers"]
    rp["repurchase_ci_low"], rp["repurchase_ci_high"] = wilson(rp["_k"], rp["repurchase_buyers"],
                                                               alpha)
    card = card.merge(rp.drop(columns="_k"), on=by, how="left")
    val = value_per_member(members, events, horizon_days=config.HORIZON_DAYS, by=by,
                           observed_until=end, alpha=alpha)
    if "amount" not in events.columns:
        notes.append("no_amounts")
    val = val.rename(columns={"value": "value_90d", "ci_low": "value_ci_low",
                              "ci_high": "value_ci_high", "eligible": "value_eligible"})
    val[by] = val[by].astype(object)
    card = card.merge(val, on=by, how="left")
    for c in ("d30_eligible", "rmst_members", "conversion_eligible", "repurchase_buyers",
              "value_eligible"):
        card[c] = card[c].fillna(0).astype("int64")
    cols = [by, "members", "d30_retention", "d30_ci_low", "d30_ci_high", "d30_eligible",
            "rmst_90d", "rmst_ci_low", "rmst_ci_high", "rmst_members", "conversion_30d",
            "conversion_ci_low", "conversion_ci_high", "conversion_eligible", "repurchase_rate",
            "repurchase_ci_low", "repurchase_ci_high", "repurchase_buyers", "value_90d",
            "value_ci_low", "value_ci_high", "value_eligible"]
    card = card[cols]
    card.attrs["notes"] = tuple(notes)
    card.attrs["by"] = by
    return card


def scorecard_leaders(card: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Best and worst level per metric, named only where its interval overlaps no other's.

    Returns
    -------
    DataFrame
        ``metric, best, worst, levels`` (None where intervals overlap, or with fewer than two
        levels measured).

    Examples
    --------
    >>> card = pd.DataFrame({"channel": ["a", "b", "c"], "d30_retention": [.5, .3, .32],
    ...     "d30_ci_low": [.45, .25, .28], "d30_ci_high": [.55, .35, .36]})
    >>> scorecard_leaders(card).iloc[0][["best", "worst"]].tolist()   # c overlaps b
    ['a', None]
    """
    by = by or card.attrs.get("by", "channel")
    rows = []
    for metric, (est, lo, hi) in METRICS.items():
        if est not in card.columns:
            continue
        c = card[[by, est, lo, hi]].dropna()
        best = worst = None
        if len(c) >= 2:
            top, bottom = c.loc[c[est].idxmax()], c.loc[c[est].idxmin()]
            others = c.drop(index=top.name)
            if not any(overlap(top[lo], top[hi], r[lo], r[hi]) for _, r in others.iterrows()):
                best = top[by]
            others = c.drop(index=bottom.name)
            if not any(overlap(bottom[lo], bottom[hi], r[lo], r[hi]) for _, r in others.iterrows()):
                worst = bottom[by]
        rows.append(dict(metric=metric, best=best, worst=worst, levels=len(c)))
    return pd.DataFrame(rows, columns=["metric", "best", "worst", "levels"])
