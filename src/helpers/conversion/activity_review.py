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
from ..engine.api import is_lazy, member_spans, window_totals
from ..engine.purchases import activity_takers
from ._members import wilson

ACTIVITY_COLUMNS = ["activity_id", "name", "activity_type", "group_id", "starts_at", "ends_at",
                    "eligible", "participants", "rate", "ci_low", "ci_high", "first_time",
                    "first_time_share", "experiment_id"]
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ActivityReview:
    """Result of :func:`activity_review`.

    Attributes
    ----------
    activities : DataFrame
        One row per activity: ``activity_id, name, activity_type, group_id`` (None =
        community-wide), ``starts_at, ends_at, eligible, participants, rate, ci_low, ci_high,
        first_time`` (participants taking part for the first time), ``first_time_share``,
        ``experiment_id`` (the A/B test the activity belongs to, else None: then only members
        of its treatment arm(s) count as present; the control arm could not take part).
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


class _Participation:
    """Who took part in which activity, and each member's first participation (as ns).

    An in-memory log is indexed here; a lazy table (``engine="duckdb"``/``"spark"``) answers
    with per-(member, activity) and per-member tables (:func:`helpers.engine.api.
    activity_takers`, :func:`helpers.engine.api.member_spans`)."""

    def __init__(self, members: pd.DataFrame, events, acts: pd.DataFrame, end, tz):
        self.n = len(members)
        ids = pd.Index(members["member_id"])
        if is_lazy(events):
            spans = member_spans(events, observed_until=end, tz=tz)
            first = np.full(self.n, _NEVER, dtype=np.int64)
            at = spans["first_participation_at"]
            pos = ids.get_indexer(spans["member_id"].to_numpy())
            ok = (pos >= 0) & at.notna().to_numpy()
            first[pos[ok]] = as_ns(at[ok])
            self.first = first
            pairs = activity_takers(events, acts, until=end, tz=tz)
            pos = ids.get_indexer(pairs["member_id"].to_numpy())
            frame = pd.DataFrame({"pos": pos, "aid": pairs["activity_id"].to_numpy()})
            self.pairs = {str(k): g.to_numpy() for k, g in
                          frame[frame["pos"] >= 0].groupby("aid")["pos"]}
            self.lazy = True
            return
        self.lazy = False
        part = _participation_events(events[events["ts"] <= end])
        mpos = ids.get_indexer(part["member_id"])
        part = part[mpos >= 0].assign(pos=mpos[mpos >= 0])
        first = np.full(self.n, _NEVER, dtype=np.int64)
        np.minimum.at(first, part["pos"].to_numpy(), part["ts"].to_numpy())
        self.first = first
        labelled = part[part["activity_id"].notna()]
        codes, ids_seen = pd.factorize(labelled["activity_id"].astype(str))
        order = np.argsort(codes, kind="stable")
        self.l_code, self.l_ts, self.l_pos = codes[order], labelled["ts"].to_numpy()[order], \
            labelled["pos"].to_numpy()[order]
        self.code_of = {k: i for i, k in enumerate(ids_seen)}
        un = part[part["activity_id"].isna()]
        self.u_ts, self.u_pos = un["ts"].to_numpy(), un["pos"].to_numpy()

    def took(self, activity_id, start_ns: int, end_ns: int) -> np.ndarray:
        """Boolean per member: took part in ``activity_id`` in ``[start, end)``."""
        took = np.zeros(self.n, bool)
        if self.lazy:
            took[self.pairs.get(str(activity_id), np.zeros(0, np.int64))] = True
            return took
        c = self.code_of.get(str(activity_id))
        if c is not None:
            lo, hi = np.searchsorted(self.l_code, c), np.searchsorted(self.l_code, c, side="right")
            ts, pos = self.l_ts[lo:hi], self.l_pos[lo:hi]
        else:  # events without an activity_id: activity_join events in the window
            ts, pos = self.u_ts, self.u_pos
        took[pos[(ts >= start_ns) & (ts < end_ns)]] = True
        return took


class _Presence:
    """Who is present at a time: joined before it, not left by it, in a group (vectorised)."""

    def __init__(self, members: pd.DataFrame):
        self.join = as_ns(members["joined_at"])
        left = as_ns(members["left_at"]) if "left_at" in members.columns else \
            np.full(len(members), np.iinfo(np.int64).min)
        self.left = np.where(left == np.iinfo(np.int64).min, np.iinfo(np.int64).max, left)
        codes, self.groups = pd.factorize(members["group_id"].astype(str))
        self.codes = codes
        self.index = {g: i for i, g in enumerate(self.groups)}

    def at(self, start_ns: int, group) -> np.ndarray:
        ok = (self.join < start_ns) & (self.left > start_ns)
        if group is not None:
            ok &= self.codes == self.index.get(str(group), -2)
        return ok


def activity_review(members: pd.DataFrame, events: pd.DataFrame, activities: pd.DataFrame, *,
                    detail=10, window_days: float = 14, observed_until=None, active_types=None,
                    alpha: float = config.ALPHA, layer_rules=None, experiments=None,
                    assignments=None) -> ActivityReview:
    """Review every activity: eligible, participants, rate, first-timers; detail for some.

    Parameters
    ----------
    members, events, activities : DataFrame
        The dataset's tables (``activities`` may be empty: the result says so in ``notes``).
        ``events`` may be a lazy table (``engine="duckdb"``/``"spark"``): who took part, first
        participations and the before/after counts come from the engine as per-member tables.
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
    experiments, assignments : DataFrame, optional
        The dataset's A/B tests: an activity linked to an experiment (``activity_id``) counts
        only members assigned to a treatment arm (not ``control_arm``) as present; with
        ``unit="group"`` through the member's ``group_id``.

    Returns
    -------
    ActivityReview
    """
    from ..cohorts.layers import member_layers_at  # sibling package, public function

    check_alpha(alpha)
    tz = tz_of(members["joined_at"]) if is_lazy(events) else tz_of(events["ts"])
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
    n = len(members)
    taking = _Participation(members, events, acts, end, tz)
    first_part = taking.first
    rows, eligible_sets, part_sets = [], {}, {}
    presence = _Presence(members)
    arms = treatment_members(members, experiments, assignments)
    for a in acts.itertuples(index=False):
        s, e = pd.Timestamp(a.starts_at).value, pd.Timestamp(a.ends_at).value
        ok = presence.at(s, a.group_id)
        exp_id, treated = arms.get(str(a.activity_id), (None, None))
        if treated is not None:
            ok = ok & treated
        took = taking.took(a.activity_id, s, e) & ok
        first = int((took & (first_part >= s)).sum())
        eligible_sets[a.activity_id], part_sets[a.activity_id] = ok, took
        rows.append(dict(activity_id=a.activity_id, name=a.name, activity_type=a.activity_type,
                         group_id=a.group_id, starts_at=a.starts_at, ends_at=a.ends_at,
                         eligible=int(ok.sum()), participants=int(took.sum()), first_time=first,
                         experiment_id=exp_id))
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
    info = table.set_index("activity_id")
    if is_lazy(events):  # the before and after windows of every reviewed activity, one query
        bounds = [(info.loc[aid, "starts_at"] - win, info.loc[aid, "starts_at"]) for aid in ids]
        bounds += [(info.loc[aid, "ends_at"], info.loc[aid, "ends_at"] + win) for aid in ids
                   if info.loc[aid, "ends_at"] + win <= end]
        windows = _LazyWindows(members, events, active_types, tz, bounds)
    else:
        windows = _Windows(members, events, active_types, tz)
    member_ids = members["member_id"].to_numpy()
    # the layers at every reviewed start at once (a lazy table: one query for all of them)
    layers_at = member_layers_at(members, events, [info.loc[aid, "starts_at"] for aid in ids],
                                 rules=layer_rules, active_types=active_types)
    for aid, layers in zip(ids, layers_at):
        a = info.loc[aid]
        ok, took = eligible_sets[aid], part_sets[aid]
        lay = layers[layers["member_id"].isin(member_ids[ok])]
        g = lay.assign(took=lay["member_id"].isin(member_ids[took])).groupby(
            "layer", observed=False).agg(eligible=("member_id", "size"),
                                         participants=("took", "sum")).reset_index()
        g.insert(0, "activity_id", aid)
        layer_rows.append(g)
        if a["ends_at"] + win > end:
            notes.append(f"after_incomplete:{aid}")
        ba_rows.extend(_before_after(aid, windows, ok, took, a["starts_at"], a["ends_at"], win,
                                     end, alpha))
    by_layer = pd.concat(layer_rows, ignore_index=True) if layer_rows else pd.DataFrame(
        columns=["activity_id", "layer", "eligible", "participants"])
    by_layer["participants"] = by_layer["participants"].astype(int)
    by_layer["rate"] = by_layer["participants"] / by_layer["eligible"].where(by_layer["eligible"] > 0)
    by_layer["ci_low"], by_layer["ci_high"] = wilson(by_layer["participants"],
                                                     by_layer["eligible"], alpha)
    return ActivityReview(activities=table[ACTIVITY_COLUMNS], by_layer=by_layer,
                          before_after=pd.DataFrame(ba_rows), by_type=by_type,
                          detail_ids=tuple(ids), window_days=float(window_days), notes=tuple(notes))


def treatment_members(members: pd.DataFrame, experiments, assignments) -> dict:
    """``{activity_id: (experiment_id, mask over members in a treatment arm)}`` for activities
    linked to an experiment; ``unit="group"`` assigns through the member's ``group_id``.

    Examples
    --------
    >>> m = pd.DataFrame({"member_id": ["a", "b", "c"], "group_id": ["G1", "G2", "G1"]})
    >>> ex = pd.DataFrame({"experiment_id": ["e"], "unit": ["group"], "activity_id": ["A1"],
    ...                    "control_arm": ["control"]})
    >>> asg = pd.DataFrame({"experiment_id": ["e", "e"], "unit_id": ["G1", "G2"],
    ...                     "arm": ["treatment", "control"]})
    >>> treatment_members(m, ex, asg)["A1"][1].tolist()
    [True, False, True]
    """
    out = {}
    if experiments is None or assignments is None or experiments.empty \
            or "activity_id" not in experiments.columns:
        return out
    for x in experiments[experiments["activity_id"].notna()].itertuples(index=False):
        asg = assignments[assignments["experiment_id"].astype(str) == str(x.experiment_id)]
        control = getattr(x, "control_arm", None)
        units = set(asg.loc[asg["arm"].astype(str) != str(control), "unit_id"].astype(str))
        key = "group_id" if str(getattr(x, "unit", "member")) == "group" else "member_id"
        mask = members[key].astype(str).isin(units).to_numpy()
        out[str(x.activity_id)] = (x.experiment_id, mask)
    return out


class _Windows:
    """Active days and purchases per member in time windows (events sorted by time)."""

    def __init__(self, members, events, active_types, tz):
        pos = pd.Index(members["member_id"]).get_indexer(events["member_id"])
        ts = as_ns(events["ts"])
        act = active_mask(events, active_types)
        keep = pos >= 0
        self.n = len(members)
        a = keep if act is None else keep & act
        order = np.argsort(ts[a], kind="stable")
        self.a_ts, self.a_pos = ts[a][order], pos[a][order]
        self.a_day = period_codes(events["ts"][a], "D", tz=tz)[order]
        b = keep & (events["event_type"] == "purchase").to_numpy()
        order = np.argsort(ts[b], kind="stable")
        self.b_ts, self.b_pos = ts[b][order], pos[b][order]

    def counts(self, lo, hi, kind: str) -> np.ndarray:
        lo, hi = pd.Timestamp(lo).value, pd.Timestamp(hi).value
        if kind == "purchases":
            i, j = np.searchsorted(self.b_ts, [lo, hi])
            return np.bincount(self.b_pos[i:j], minlength=self.n).astype(float)
        i, j = np.searchsorted(self.a_ts, [lo, hi])
        pairs = np.unique(self.a_pos[i:j].astype(np.int64) * (1 << 32) + (self.a_day[i:j] & 0xFFFFFFFF))
        return np.bincount((pairs >> 32).astype(np.int64), minlength=self.n).astype(float)


class _LazyWindows:
    """:class:`_Windows` on a lazy table: the counts of every window the review needs from one
    pass of the engine (:func:`helpers.engine.api.window_totals`), given the windows up front."""

    def __init__(self, members, events, active_types, tz, bounds):
        keys = sorted({(pd.Timestamp(lo).value, pd.Timestamp(hi).value) for lo, hi in bounds})
        self.slot = {k: i for i, k in enumerate(keys)}
        w = pd.DataFrame({"window_id": np.arange(len(keys)),
                          "start": pd.to_datetime([k[0] for k in keys], utc=True),
                          "end": pd.to_datetime([k[1] for k in keys], utc=True)})
        got = window_totals(events, w, active_types=active_types, tz=tz)
        pos = pd.Index(members["member_id"]).get_indexer(got["member_id"].to_numpy())
        keep = pos >= 0
        self.n = len(members)
        self.w, self.pos = got["window_id"].to_numpy()[keep], pos[keep]
        self.values = {c: got[c].to_numpy(float)[keep] for c in ("active_days", "purchases")}

    def counts(self, lo, hi, kind: str) -> np.ndarray:
        i = self.slot[(pd.Timestamp(lo).value, pd.Timestamp(hi).value)]
        sel = self.w == i
        out = np.zeros(self.n)
        out[self.pos[sel]] = self.values["purchases" if kind == "purchases" else "active_days"][sel]
        return out


def _before_after(aid, windows, ok, took, start, stop, win, end, alpha):
    """Descriptive before/after means of participants and non-participants (present members)."""
    rows = []
    complete = stop + win <= end
    z = stats.norm.ppf(1 - alpha / 2)
    part, rest = took[ok], ~took[ok]
    for metric in ("active_days", "purchases"):
        before = windows.counts(start - win, start, metric)[ok]
        after = windows.counts(stop, stop + win, metric)[ok] if complete else \
            np.full(int(ok.sum()), np.nan)
        change = after - before
        for name, sel in (("participants", part), ("non_participants", rest)):
            rows.append(dict(activity_id=aid, metric=metric, group=name, members=int(sel.sum()),
                             before=float(before[sel].mean()) if sel.any() else np.nan,
                             after=float(after[sel].mean()) if sel.any() else np.nan,
                             change=float(change[sel].mean()) if sel.any() else np.nan,
                             ci_low=np.nan, ci_high=np.nan))
        a, b = change[part], change[rest]
        diff = lo = hi = np.nan
        if complete and len(a) > 1 and len(b) > 1:
            diff = float(a.mean() - b.mean())
            se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
            lo, hi = diff - z * se, diff + z * se
        rows.append(dict(activity_id=aid, metric=metric, group="difference",
                         members=int(ok.sum()), before=np.nan, after=np.nan, change=diff,
                         ci_low=lo, ci_high=hi))
    return rows
