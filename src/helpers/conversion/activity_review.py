"""Activity review (活动复盘): who was eligible, who took part, and what followed — descriptively.

Per activity of the activities table:

- **eligible**: members present at its start — joined before ``starts_at``, not left
  (``left_at``) by then, and in its group when the activity has a ``group_id`` (community-wide
  otherwise);
- **participants**: eligible members with an event of the activity (``activity_id``) in
  ``[starts_at, ends_at)``; without an ``activity_id`` column, an ``activity_join`` event in the
  window (for a group activity, by a member of the group);
- **participation rate** = participants / eligible, Wilson interval; **first-time share**:
  participants who had never taken part in any activity before;
- by **member layer** at the start (核心/活跃/潜在/沉睡, ``cohorts.member_layers``);
- **before / after**: active days and purchases of participants and of non-participants in the
  ``window_days`` before the start and after the end. This comparison is **descriptive**:
  members choose to take part, so a difference is *associated with* taking part and says
  nothing about what the activity caused. An A/B test (notebook 03) answers that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from .._checks import active_mask, check_alpha
from .._time import DAY_NS, as_ns, period_codes, resolve_end, tz_of
from ._members import wilson

ACTIVITY_COLUMNS = ["activity_id", "name", "activity_type", "group_id", "starts_at", "ends_at",
                    "eligible", "participants", "rate", "ci_low", "ci_high", "first_time",
                    "first_time_share"]
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ActivityReview:
    """Result of :func:`activity_review`.

    Attributes
    ----------
    activities : DataFrame
        One row per activity: ``activity_id, name, activity_type, group_id`` (None =
        community-wide), ``starts_at, ends_at, eligible, participants, rate, ci_low, ci_high,
        first_time`` (participants taking part for the first time), ``first_time_share``.
    by_layer : DataFrame
        ``activity_id, layer, eligible, participants, rate, ci_low, ci_high`` for the reviewed
        activities (``detail``).
    before_after : DataFrame
        ``activity_id, metric`` (active_days | purchases), ``group`` (participants |
        non_participants), ``members, before, after, change`` (means per member), and per
        activity and metric one row ``group = "difference"`` whose ``change`` is the difference
        in change (participants − non-participants) with ``ci_low, ci_high`` (Welch).
        Descriptive only (see module docstring).
    by_type : DataFrame
        ``activity_type, activities, eligible, participants, rate, ci_low, ci_high`` pooled.
    detail_ids : tuple of str
        Activities reviewed in detail.
    window_days : float
    notes : tuple of str
        ``"no_activities"``, ``"after_incomplete:<activity_id>"``.
    """

    activities: pd.DataFrame
    by_layer: pd.DataFrame
    before_after: pd.DataFrame
    by_type: pd.DataFrame
    detail_ids: tuple[str, ...]
    window_days: float
    descriptive: bool = True
    notes: tuple[str, ...] = field(default=())


def _participation_events(events: pd.DataFrame) -> pd.DataFrame:
    """``member_id, ts_ns, activity_id`` (None when unknown) of participation events."""
    et = events["event_type"]
    if "activity_id" in events.columns:
        aid = events["activity_id"]
        has = aid.notna().to_numpy()
        join = (et == "activity_join").to_numpy()
        sel = has | join
        ids = aid[sel].astype(object).where(aid[sel].notna(), None)
    else:
        sel = (et == "activity_join").to_numpy()
        ids = pd.Series([None] * int(sel.sum()), dtype=object)
    return pd.DataFrame({"member_id": events["member_id"].to_numpy()[sel],
                         "ts": as_ns(events["ts"])[sel],
                         "activity_id": np.asarray(ids, dtype=object)})


def _present(members: pd.DataFrame, start_ns: int, group) -> np.ndarray:
    join = as_ns(members["joined_at"])
    ok = join < start_ns
    if "left_at" in members.columns:
        left = as_ns(members["left_at"])
        ok &= ~((left != np.iinfo(np.int64).min) & (left <= start_ns))
    if group is not None:
        ok &= (members["group_id"].astype(str) == str(group)).to_numpy()
    return ok


def activity_review(members: pd.DataFrame, events: pd.DataFrame, activities: pd.DataFrame, *,
                    detail=10, window_days: float = 14, observed_until=None, active_types=None,
                    alpha: float = config.ALPHA, layer_rules=None) -> ActivityReview:
    """Review every activity: eligible, participants, rate, first-timers; detail for some.

    Parameters
    ----------
    members, events, activities : DataFrame
        The dataset's tables (``activities`` may be empty: the result says so in ``notes``).
    detail : int or list of str
        Activities reviewed by layer and before/after: the ``detail`` most recent community-wide
        ones (any, when there are none) whose after-window is complete (default 10), or a list
        of activity ids.
    window_days : float
        Length of the before and after windows.
    observed_until : str, Timestamp or None
        End of observation (the last event when None); activities starting after it are left out.
    active_types : as everywhere (None = every event type).
    alpha : float
        1 − confidence level.
    layer_rules : cohorts.LayerRules, optional
        Thresholds of the member layers.

    Returns
    -------
    ActivityReview
    """
    from .. import cohorts  # public API

    check_alpha(alpha)
    tz = tz_of(events["ts"])
    end = resolve_end(observed_until, events, tz)
    empty = ActivityReview(pd.DataFrame(columns=ACTIVITY_COLUMNS), pd.DataFrame(),
                           pd.DataFrame(), pd.DataFrame(), (), float(window_days),
                           notes=("no_activities",))
    if activities is None or activities.empty:
        return empty
    acts = activities[activities["starts_at"] <= end].copy()
    if acts.empty:
        return empty
    for c in ("name", "group_id"):
        if c not in acts.columns:
            acts[c] = None
    acts["group_id"] = acts["group_id"].astype(object).where(
        acts["group_id"].notna() & (acts["group_id"].astype(str).str.strip() != ""), None)
    acts["name"] = acts["name"].astype(object).where(acts["name"].notna(), acts["activity_id"])
    acts = acts.sort_values(["starts_at", "activity_id"], kind="stable").reset_index(drop=True)
    part = _participation_events(events[events["ts"] <= end])
    first_part = part.groupby("member_id")["ts"].min()
    by_id = {k: g for k, g in part.dropna(subset=["activity_id"]).groupby("activity_id")}
    unlabelled = part[part["activity_id"].isna()]
    rows, eligible_sets, part_sets = [], {}, {}
    member_ids = members["member_id"].to_numpy()
    for a in acts.itertuples(index=False):
        s, e = pd.Timestamp(a.starts_at).value, pd.Timestamp(a.ends_at).value
        ok = _present(members, s, a.group_id)
        elig = member_ids[ok]
        ev = by_id.get(str(a.activity_id))
        if ev is None and not unlabelled.empty:
            ev = unlabelled
        who = ev.loc[(ev["ts"] >= s) & (ev["ts"] < e), "member_id"].unique() if ev is not None \
            else np.array([])
        who = np.intersect1d(who, elig)
        prior = first_part.reindex(who).to_numpy()
        first = int((prior >= s).sum()) if len(who) else 0
        eligible_sets[a.activity_id], part_sets[a.activity_id] = elig, who
        rows.append(dict(activity_id=a.activity_id, name=a.name, activity_type=a.activity_type,
                         group_id=a.group_id, starts_at=a.starts_at, ends_at=a.ends_at,
                         eligible=len(elig), participants=len(who), first_time=first))
    table = pd.DataFrame(rows)
    table["rate"] = table["participants"] / table["eligible"].where(table["eligible"] > 0)
    table["ci_low"], table["ci_high"] = wilson(table["participants"], table["eligible"], alpha)
    table["first_time_share"] = table["first_time"] / table["participants"].where(
        table["participants"] > 0)
    by_type = table.groupby("activity_type", sort=True).agg(
        activities=("activity_id", "size"), eligible=("eligible", "sum"),
        participants=("participants", "sum")).reset_index()
    by_type["rate"] = by_type["participants"] / by_type["eligible"].where(by_type["eligible"] > 0)
    by_type["ci_low"], by_type["ci_high"] = wilson(by_type["participants"], by_type["eligible"],
                                                   alpha)
    win = pd.Timedelta(days=window_days)
    if isinstance(detail, (int, np.integer)):
        done = table[(table["ends_at"] + win <= end) & (table["eligible"] > 0)]
        wide = done[done["group_id"].isna()]  # community-wide activities first: most members
        pick = wide if len(wide) else done
        ids = pick.sort_values("starts_at", kind="stable")["activity_id"].tail(int(detail)).tolist()
    else:
        ids = [str(i) for i in detail]
    notes: list[str] = []
    layer_rows, ba_rows = [], []
    act_mask = active_mask(events, active_types)
    ev_all = events if act_mask is None else events[act_mask]
    for aid in ids:
        a = table.set_index("activity_id").loc[aid]
        elig, who = eligible_sets[aid], part_sets[aid]
        layers = cohorts.member_layers(members, events, as_of=a["starts_at"],
                                       rules=layer_rules, active_types=active_types)
        lay = layers[layers["member_id"].isin(elig)]
        took = lay["member_id"].isin(who)
        g = lay.assign(took=took).groupby("layer", observed=False).agg(
            eligible=("member_id", "size"), participants=("took", "sum")).reset_index()
        g.insert(0, "activity_id", aid)
        layer_rows.append(g)
        if a["ends_at"] + win > end:
            notes.append(f"after_incomplete:{aid}")
        ba_rows.extend(_before_after(aid, ev_all, events, elig, who, a["starts_at"], a["ends_at"],
                                     win, end, tz, alpha))
    by_layer = pd.concat(layer_rows, ignore_index=True) if layer_rows else pd.DataFrame(
        columns=["activity_id", "layer", "eligible", "participants"])
    by_layer["participants"] = by_layer["participants"].astype(int)
    by_layer["rate"] = by_layer["participants"] / by_layer["eligible"].where(by_layer["eligible"] > 0)
    by_layer["ci_low"], by_layer["ci_high"] = wilson(by_layer["participants"],
                                                     by_layer["eligible"], alpha)
    return ActivityReview(activities=table[ACTIVITY_COLUMNS], by_layer=by_layer,
                          before_after=pd.DataFrame(ba_rows), by_type=by_type,
                          detail_ids=tuple(ids), window_days=float(window_days), notes=tuple(notes))


def _per_member(ev: pd.DataFrame, ids: np.ndarray, lo, hi, tz, kind: str) -> np.ndarray:
    sub = ev[(ev["ts"] >= lo) & (ev["ts"] < hi)]
    if kind == "purchases":
        sub = sub[(sub["event_type"] == "purchase").to_numpy()]
        counts = sub.groupby("member_id").size()
    else:
        day = period_codes(sub["ts"], "D", tz=tz)
        counts = pd.DataFrame({"m": sub["member_id"].to_numpy(), "d": day}).drop_duplicates() \
            .groupby("m").size()
    return counts.reindex(ids, fill_value=0).to_numpy(float)


def _before_after(aid, active_events, events, elig, who, start, stop, win, end, tz, alpha):
    """Descriptive before/after means of participants and non-participants."""
    took = np.isin(elig, who)
    rows = []
    complete = stop + win <= end
    z = stats.norm.ppf(1 - alpha / 2)
    for metric, ev in (("active_days", active_events), ("purchases", events)):
        before = _per_member(ev, elig, start - win, start, tz, metric)
        after = _per_member(ev, elig, stop, stop + win, tz, metric) if complete else \
            np.full(len(elig), np.nan)
        change = after - before
        for name, sel in (("participants", took), ("non_participants", ~took)):
            rows.append(dict(activity_id=aid, metric=metric, group=name, members=int(sel.sum()),
                             before=float(before[sel].mean()) if sel.any() else np.nan,
                             after=float(after[sel].mean()) if sel.any() else np.nan,
                             change=float(change[sel].mean()) if sel.any() else np.nan,
                             ci_low=np.nan, ci_high=np.nan))
        a, b = change[took], change[~took]
        diff = lo = hi = np.nan
        if complete and len(a) > 1 and len(b) > 1:
            diff = float(a.mean() - b.mean())
            se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
            lo, hi = diff - z * se, diff + z * se
        rows.append(dict(activity_id=aid, metric=metric, group="difference", members=len(elig),
                         before=np.nan, after=np.nan, change=diff, ci_low=lo, ci_high=hi))
    return rows
