"""The generator: members, activity, purchases, memberships, churn, activities and experiments
of a synthetic community with planted truth (the process is described in :mod:`helpers.synth`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiments import icc_anova
from .settings import (ACTIVITY_PARTICIPATION, ACTIVITY_TYPES, AMOUNT_SD_LOG, BASELINE_CHANNEL,
                       CHANNELS, EVERYDAY_PROBS, EVERYDAY_TYPES, HOUR_WEIGHTS, MEMBERSHIP_SHARE,
                       PLANS, PURCHASES, REFERRAL_SHARE, ExperimentPlan, SynthConfig,
                       default_experiments)


def baseline_hazard(age_days: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Daily churn probability scale of the baseline channel at ``age_days`` since joining."""
    h = cfg.hazard_scale * (1.0 + age_days / 20.0) ** -0.5
    return np.where(age_days == 0, cfg.hazard_day0, h)


# ----------------------------------------------------------------------------- generation
def generate(cfg: SynthConfig | None = None, **overrides) -> tuple[dict[str, pd.DataFrame], dict]:
    """Simulate a community.

    Parameters
    ----------
    cfg : SynthConfig, optional
        Parameters; keyword ``overrides`` replace single fields (``generate(n_members=500)``).
        When ``days`` is overridden and ``experiments`` is not, experiments are re-placed.

    Returns
    -------
    tables : dict of DataFrame
        ``members``, ``events``, ``activities``, ``experiments``, ``assignments`` in the raw
        contract's columns (tz-aware timestamps).
    truth : dict
        The planted ground truth (see ``truth.json``).
    """
    if cfg is None:
        if "days" in overrides and "experiments" not in overrides:
            overrides["experiments"] = default_experiments(overrides["days"])
        cfg = SynthConfig(**overrides)
    elif overrides:
        cfg = SynthConfig(**{**asdict_shallow(cfg), **overrides})
    rng = np.random.default_rng(cfg.seed)
    n, D, G = cfg.n_members, cfg.days, cfg.n_groups
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    hr_channel = np.array([CHANNELS[c][1] for c in names])
    part_mult = np.array([CHANNELS[c][2] for c in names])

    # --- members: join times (growing), channel, group, latent activity
    u = rng.random(n)
    x = (-1 / 3 + np.sqrt(1 / 9 + 8 / 3 * u)) / (4 / 3)  # inverse CDF of density 1/3 + 4x/3 on [0, 1]
    join_pos = np.sort(np.clip(x, 0, 1 - 1e-9) * D)
    join_day = join_pos.astype(np.int32)
    join_sec = ((join_pos - join_day) * 86400).astype(np.int64)
    channel = rng.choice(len(names), size=n, p=shares / shares.sum())
    group_sizes = rng.dirichlet(np.full(G, 4.0))
    group = rng.choice(G, size=n, p=group_sizes)
    u_group = rng.normal(0, cfg.group_sd, G)
    v_member = rng.normal(0, cfg.member_sd, n)
    q = np.clip(cfg.q0 * np.exp(u_group[group] + v_member), 0.25, 0.85)
    mu = cfg.events_per_active_day * np.exp(0.5 * u_group[group] + rng.normal(0, 0.4, n))
    buy_mult = np.array([PURCHASES[c][0] for c in names])
    p_buy = np.clip(cfg.purchase_prob * buy_mult[channel] * np.exp(rng.normal(0, 0.5, n)), 0, 0.2)
    hr_static = hr_channel[channel]
    p_part = np.clip(cfg.participation_prob * part_mult[channel], 0, 1)

    # --- activity schedule: community-wide (2 a week) and per group (every ~14 days)
    acts, comm_act, group_act = _schedule_activities(rng, D, G)
    act_mult = np.array([ACTIVITY_PARTICIPATION.get(a["activity_type"], 1.0) for a in acts])
    exp_plans = list(cfg.experiments)
    for e in exp_plans:
        if e.start_day + e.days > D:
            raise ValueError(f"experiment {e.experiment_id} ends after day {D}")
    exp_act_code = {}
    for e in exp_plans:
        if e.activity_type:
            exp_act_code[e.experiment_id] = len(acts)
            acts.append(dict(activity_type=e.activity_type, name=e.name, start_day=e.start_day,
                             days=e.days, group=-1))

    # --- state
    churned = np.zeros(n, bool)
    churn_day = np.full(n, -1, np.int32)
    first_part = np.full(n, np.iinfo(np.int32).max, np.int32)
    treated = {e.experiment_id: np.zeros(n, bool) for e in exp_plans}
    assigned = {e.experiment_id: None for e in exp_plans}
    window_q = {e.experiment_id: np.zeros(n) for e in exp_plans}  # Σ q over window days
    window_forced = {e.experiment_id: np.zeros(n) for e in exp_plans}  # churn days in window
    explicit = np.zeros(n, bool)
    ev_member, ev_day, ev_kind, ev_act = [], [], [], []  # kind: 0 everyday, 1 join, 2 purchase

    for d in range(D):
        n_started = int(np.searchsorted(join_day, d, side="right"))
        for e in exp_plans:
            if d == e.start_day:
                _assign(rng, e, d, join_day, explicit, group, G, treated, assigned)
        idx = np.flatnonzero(~churned[:n_started])
        if idx.size == 0:
            continue
        age = d - join_day[idx]
        mult = np.ones(idx.size)
        in_exp = {}
        for e in exp_plans:
            if e.start_day <= d < e.start_day + e.days:
                t = treated[e.experiment_id][idx]
                in_exp[e.experiment_id] = t
                mult = mult * (1 + e.lift * t)
        # who would be active, and who takes part, is drawn before churn: taking part does not
        # depend on leaving later that day (no immortal time), and a member may take part and
        # leave on the same day
        active = rng.random(idx.size) < q[idx] * mult
        a_today = np.where(comm_act[d] >= 0, comm_act[d], group_act[d, group[idx]])
        joins = active & (a_today >= 0) & (rng.random(idx.size) < p_part[idx] * act_mult[np.maximum(a_today, 0)])
        exp_joins = {eid: active & t & (rng.random(idx.size) < cfg.experiment_participation_prob)
                     for eid, t in in_exp.items() if eid in exp_act_code}
        takes_part = joins.copy()
        for ej in exp_joins.values():
            takes_part |= ej
        # churn in continuous time within the day: the hazard changes at the moment of the first
        # participation (a fraction f of the day in); a member who leaves before that moment
        # does not take part
        h = baseline_hazard(age, cfg) * hr_static[idx]
        before = first_part[idx] < d
        first_today = takes_part & ~before
        f = rng.random(idx.size)
        h_early = h * np.where(before, cfg.participation_hr, np.where(first_today, f, 1.0))
        h_late = np.where(first_today, h * cfg.participation_hr * (1 - f), 0.0)
        churn_early = rng.random(idx.size) < -np.expm1(-h_early)
        churn_late = first_today & ~churn_early & (rng.random(idx.size) < -np.expm1(-h_late))
        churn_today = churn_early | churn_late
        gone_before = churn_early & first_today  # left before the activity began
        joins &= ~gone_before
        for eid in exp_joins:
            exp_joins[eid] &= ~gone_before
        takes_part &= ~gone_before
        # "silent joiners" leave on the join day without a single event
        silent = churn_today & (age == 0) & ~takes_part & (rng.random(idx.size) < cfg.silent_share)
        for e in exp_plans:
            if e.experiment_id in in_exp:
                elig = _eligible_today(e, idx, assigned, group)
                window_q[e.experiment_id][idx[elig & ~churn_today]] += q[idx[elig & ~churn_today]]
                window_forced[e.experiment_id][idx[elig & churn_today & ~silent]] += 1
        active = (active | churn_today) & ~silent
        # regular activities
        _emit(ev_member, ev_day, ev_kind, ev_act, idx[joins], d, 1, a_today[joins])
        first_part[idx[joins]] = np.minimum(first_part[idx[joins]], d)
        # experiment activities (treatment arm only)
        for eid, ej in exp_joins.items():
            _emit(ev_member, ev_day, ev_kind, ev_act, idx[ej], d, 1,
                  np.full(int(ej.sum()), exp_act_code[eid]))
            first_part[idx[ej]] = np.minimum(first_part[idx[ej]], d)
        # everyday events and purchases
        act_idx = idx[active]
        counts = 1 + rng.poisson(mu[act_idx])
        _emit(ev_member, ev_day, ev_kind, ev_act, np.repeat(act_idx, counts), d, 0, -1)
        buys = act_idx[rng.random(act_idx.size) < p_buy[act_idx]]
        _emit(ev_member, ev_day, ev_kind, ev_act, buys, d, 2, -1)
        # churn
        gone = idx[churn_today]
        churned[gone] = True
        churn_day[gone] = d
        explicit[gone] = rng.random(gone.size) < cfg.explicit_exit_share

    tables = _assemble(rng, cfg, names, join_day, join_sec, channel, group, churn_day, explicit,
                       acts, exp_plans, assigned, ev_member, ev_day, ev_kind, ev_act)
    truth = _truth(cfg, names, hr_channel, tables, exp_plans, window_q, window_forced, assigned,
                   churn_day, u_group, q, group)
    truth["purchases"] = _purchase_truth(cfg, names, tables, p_buy, join_day, join_sec, channel)
    truth["activity_participation"] = {
        "participation_prob_per_active_day": cfg.participation_prob,
        "channel_multiplier": {c: CHANNELS[c][2] for c in names},
        "activity_type_multiplier": dict(ACTIVITY_PARTICIPATION),
        "rule": ("an active member present in the activity's group (or anyone, community-wide) "
                 "takes part on an activity day with probability participation_prob × channel "
                 "multiplier × activity-type multiplier; a group activity on a day with a "
                 "community-wide one does not run"),
    }
    tables["memberships"], truth["memberships"] = _memberships(cfg, tables)
    return tables, truth


def _purchase_truth(cfg, names, tables, p_buy, join_day, join_sec, channel) -> dict:
    """Planted purchase behaviour by channel, and the 30-day conversion the funnel should find.

    Purchases are independent draws on active days, so given each member's active days the
    chance of a first purchase (and of a purchase on a second day) inside
    ``[joined_at, joined_at + 30 d)`` has a closed form; its mean over the members the funnel
    counts (joined at least 30 days before the last event) is the expected funnel rate.
    """
    events, members = tables["events"], tables["members"]
    window = 30
    start = pd.Timestamp(cfg.start, tz=cfg.timezone)
    everyday = events["event_type"].isin(EVERYDAY_TYPES).to_numpy()
    pos = (events["member_id"].to_numpy() - 100_001)[everyday]
    day = ((events["ts"].array.asi8[everyday] - start.value) // (86_400 * 10**9)).astype(np.int64)
    pairs = np.unique(pos * (cfg.days + 1) + day)
    pm, pd_ = pairs // (cfg.days + 1), pairs % (cfg.days + 1)
    age = pd_ - join_day[pm]
    n = cfg.n_members
    full = np.bincount(pm[(age >= 0) & (age < window)], minlength=n)
    edge = np.zeros(n, bool)
    edge[pm[age == window]] = True
    # share of a day's purchases before the member's time of day of joining (hour weights)
    w = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
    hour = join_sec // 3600
    frac = np.concatenate([[0.0], np.cumsum(w)])[hour] + w[hour] * (join_sec % 3600) / 3600
    p, pe = p_buy, p_buy * frac * edge
    p0 = (1 - p) ** full * (1 - pe)
    p1 = full * p * (1 - p) ** np.maximum(full - 1, 0) * (1 - pe) + pe * (1 - p) ** full
    end = events["ts"].max()
    eligible = (members["joined_at"] + pd.Timedelta(days=window) <= end).to_numpy()
    out = {}
    for i, c in enumerate(names):
        sel = eligible & (channel == i)
        out[c] = {
            "purchase_prob_multiplier": PURCHASES[c][0],
            "mean_purchase_prob_per_active_day": round(float(p_buy[channel == i].mean()), 5),
            "mean_amount": PURCHASES[c][1],
            "eligible_30d": int(sel.sum()),
            "expected_conversion_30d": round(float((1 - p0[sel]).mean()), 5) if sel.any() else None,
            "expected_repurchase_30d": round(float((1 - p0[sel] - p1[sel]).mean()), 5)
            if sel.any() else None,
        }
    return {"by_channel": out, "window_days": window,
            "amount": f"lognormal with sd(log) {AMOUNT_SD_LOG}, mean by channel",
            "rule": ("on an active day a member buys with probability p_i (purchase_prob × channel "
                     "multiplier × member effect, at most one purchase a day); expected_* are the "
                     "means over the members the 30-day funnel counts of the probability, given "
                     "their active days, of a purchase (of purchases on two days) in the window")}


def _memberships(cfg, tables) -> tuple[pd.DataFrame, dict]:
    """Paid memberships: a share of first-time buyers start a plan at their first purchase and
    renew each period with probability 1 − θ, θ ~ Beta(alpha, beta) per member (sBG).

    Drawn from their own random stream, so adding them changes no other table. Periods that
    start after the last event are not written (not observed yet); a period still running is.
    """
    rng = np.random.default_rng([cfg.seed, 2007])
    ev = tables["events"]
    buys = ev[ev["event_type"] == "purchase"].drop_duplicates("member_id")
    end = ev["ts"].max() if len(ev) else pd.Timestamp(cfg.start, tz=cfg.timezone)
    starters = buys[rng.random(len(buys)) < MEMBERSHIP_SHARE]
    plans = list(PLANS)
    plan = rng.choice(len(plans), size=len(starters), p=[PLANS[k][3] for k in plans])
    rows = []
    end_ns = end.value
    for k, name in enumerate(plans):
        length, a, b, _, price = PLANS[name]
        who = starters[plan == k]
        theta = rng.beta(a, b, len(who))
        ids = who["member_id"].to_numpy()
        t = who["ts"].array.asi8.copy()
        alive = np.ones(len(who), bool)
        while True:
            sel = np.flatnonzero(alive & (t <= end_ns))
            if sel.size == 0:
                break
            e = t[sel] + length * 86_400 * 10**9
            rows.append(pd.DataFrame({"member_id": ids[sel], "plan": name, "starts_at": t[sel],
                                      "ends_at": e, "amount": price}))
            renew = rng.random(sel.size) >= theta[sel]
            gap = (rng.random(sel.size) * 3 * 86_400).astype(np.int64) * 10**9  # 0-3 days late
            t[sel] = e + gap
            alive[:] = False
            alive[sel[renew]] = True
    cols = ["member_id", "plan", "starts_at", "ends_at", "amount"]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        {c: pd.Series(dtype="int64" if c in ("starts_at", "ends_at") else object) for c in cols})
    for c in ("starts_at", "ends_at"):
        table[c] = pd.to_datetime(table[c].astype("int64")).dt.tz_localize("UTC").dt.tz_convert(
            cfg.timezone)
    table = table.sort_values(["member_id", "starts_at"], kind="stable").reset_index(drop=True)
    truth = {name: {"period_days": PLANS[name][0], "alpha": PLANS[name][1], "beta": PLANS[name][2],
                    "expected_renewal_rate": [round((PLANS[name][2] + k - 1) / (
                        PLANS[name][1] + PLANS[name][2] + k - 1), 5) for k in range(1, 13)]}
             for name in plans}
    return table, {"plans": truth, "share_of_first_buyers": MEMBERSHIP_SHARE, "grace_days": 3,
                   "rule": "renewal k happens with probability 1 - theta, theta ~ Beta(alpha, "
                           "beta) per member; expected_renewal_rate[k-1] = (beta+k-1)/(alpha+beta+k-1)"}


def asdict_shallow(cfg: SynthConfig) -> dict:
    """Field values of ``cfg`` without converting nested dataclasses to dicts."""
    return {f: getattr(cfg, f) for f in cfg.__dataclass_fields__}


def _emit(members, days, kinds, acts, idx, d, kind, act):
    if len(idx) == 0:
        return
    members.append(np.asarray(idx, np.int32))
    days.append(np.full(len(idx), d, np.int16))
    kinds.append(np.full(len(idx), kind, np.int8))
    acts.append(np.broadcast_to(np.asarray(act, np.int32), (len(idx),)).copy())


def _schedule_activities(rng, D: int, G: int):
    types = list(ACTIVITY_TYPES)
    acts: list[dict] = []
    comm_act = np.full(D, -1, np.int32)
    group_act = np.full((D, G), -1, np.int32)
    community_types = ["lottery", "qa", "challenge", "live", "check_in"]
    for week_start in range(0, D, 7):
        for offset in (2, 5):
            day = week_start + offset
            if day >= D:
                continue
            kind = community_types[rng.integers(len(community_types))]
            length = 3 if kind == "challenge" else 1
            acts.append(dict(activity_type=kind, name=f"{ACTIVITY_TYPES[kind]} 第{len(acts) + 1}期",
                             start_day=day, days=length, group=-1))
            comm_act[day: min(D, day + length)] = len(acts) - 1
    group_types = ["sharing_session", "offline_meetup", "qa"]
    for g in range(G):
        for day in range(int(rng.integers(0, 14)), D, 14):
            kind = group_types[rng.integers(len(group_types))]
            acts.append(dict(activity_type=kind, name=f"{ACTIVITY_TYPES[kind]}（G{g + 1:02d}）",
                             start_day=day, days=1, group=g))
            group_act[day, g] = len(acts) - 1
    assert all(a["activity_type"] in types for a in acts)
    return acts, comm_act, group_act


def _assign(rng, e: ExperimentPlan, d: int, join_day, explicit, group, G, treated, assigned):
    """Randomise at the start of the window: members joined before it and not exited, or groups."""
    p_treat = e.split[1] / sum(e.split)
    if e.unit == "member":
        elig = np.flatnonzero((join_day < d) & ~explicit)
        t = rng.random(elig.size) < p_treat  # Bernoulli: the realised split varies, as in practice
        treated[e.experiment_id][elig[t]] = True
        assigned[e.experiment_id] = (elig, t)
    else:
        k = int(round(G * p_treat))  # complete randomisation of groups, the usual cluster design
        tg = np.zeros(G, bool)
        tg[rng.permutation(G)[:k]] = True
        treated[e.experiment_id][:] = tg[group]
        assigned[e.experiment_id] = (np.arange(G), tg)


def _eligible_today(e: ExperimentPlan, idx, assigned, group):
    units, _ = assigned[e.experiment_id]
    if e.unit == "group":
        return np.ones(idx.size, bool)
    mask = np.zeros(int(idx.max()) + 1 if idx.size else 0, bool)
    mask[units[units <= (idx.max() if idx.size else -1)]] = True
    return mask[idx]


def _assemble(rng, cfg, names, join_day, join_sec, channel, group, churn_day, explicit, acts,
              exp_plans, assigned, ev_member, ev_day, ev_kind, ev_act):
    n = cfg.n_members
    tz = cfg.timezone
    start = pd.Timestamp(cfg.start, tz=tz)
    start_ns = start.value
    day_ns = 86_400 * 10**9
    member_ids = np.arange(100_001, 100_001 + n, dtype=np.int64)
    group_ids = np.array([f"G{g + 1:02d}" for g in range(cfg.n_groups)], dtype=object)

    joined_ns = start_ns + join_day.astype(np.int64) * day_ns + join_sec * 10**9
    joined = pd.to_datetime(joined_ns).tz_localize("UTC").tz_convert(tz)
    referrer = np.full(n, -1, np.int64)
    for ch, share in REFERRAL_SHARE.items():
        rows = np.flatnonzero((channel == names.index(ch)) & (np.arange(n) > 0))
        rows = rows[rng.random(rows.size) < share]
        referrer[rows] = (rng.random(rows.size) * rows).astype(np.int64)  # someone who joined earlier
    left_ns = start_ns + (churn_day.astype(np.int64) + 1) * day_ns \
        + (rng.random(n) * 12 * 3600).astype(np.int64) * 10**9
    has_left = explicit & (churn_day >= 0) & (churn_day + 1 < cfg.days)
    left = pd.Series(pd.to_datetime(np.where(has_left, left_ns, 0)).tz_localize("UTC").tz_convert(tz))
    left[~has_left] = pd.NaT
    members = pd.DataFrame({
        "member_id": member_ids,
        "joined_at": joined,
        "channel": np.array(names, dtype=object)[channel],
        "group_id": group_ids[group],
        "left_at": left.to_numpy(),
        "referrer_id": pd.array(np.where(referrer >= 0, member_ids[np.maximum(referrer, 0)], 0),
                                dtype="Int64"),
        "platform": np.array(["企业微信", "微信群", "QQ群"], dtype=object)[
            rng.choice(3, size=n, p=[0.5, 0.35, 0.15])],
    })
    members.loc[referrer < 0, "referrer_id"] = pd.NA
    members["left_at"] = members["left_at"].astype(f"datetime64[ns, {tz}]")

    m = np.concatenate(ev_member) if ev_member else np.zeros(0, np.int32)
    dd = np.concatenate(ev_day).astype(np.int64) if ev_day else np.zeros(0, np.int64)
    kind = np.concatenate(ev_kind) if ev_kind else np.zeros(0, np.int8)
    act = np.concatenate(ev_act) if ev_act else np.zeros(0, np.int32)
    hours = rng.choice(24, size=m.size, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    sec = hours * 3600 + rng.integers(0, 3600, m.size)
    on_join_day = dd == join_day[m]
    js = join_sec[m[on_join_day]]
    sec[on_join_day] = js + (rng.random(js.size) * (86400 - js)).astype(np.int64)
    ts_ns = start_ns + dd * day_ns + sec * 10**9
    etype_codes = np.where(kind == 1, len(EVERYDAY_TYPES), np.where(kind == 2, len(EVERYDAY_TYPES) + 1, 0))
    everyday = kind == 0
    etype_codes[everyday] = rng.choice(len(EVERYDAY_TYPES), size=int(everyday.sum()), p=EVERYDAY_PROBS)
    categories = [*EVERYDAY_TYPES, "activity_join", "purchase"]
    amount = np.full(m.size, np.nan)
    buy = kind == 2
    mean_amount = np.array([PURCHASES[c][1] for c in names])[channel[m[buy]]]
    amount[buy] = np.round(rng.lognormal(np.log(mean_amount) - AMOUNT_SD_LOG ** 2 / 2,
                                         AMOUNT_SD_LOG), 2)
    activity_ids = [f"A{i + 1:04d}" for i in range(len(acts))]
    order = np.lexsort((m, ts_ns))
    events = pd.DataFrame({
        "member_id": member_ids[m[order]],
        "ts": pd.to_datetime(ts_ns[order]).tz_localize("UTC").tz_convert(tz),
        "event_type": pd.Categorical.from_codes(etype_codes[order], categories=categories),
        "activity_id": pd.Categorical.from_codes(act[order], categories=activity_ids),
        "amount": amount[order],
    })
    activities = pd.DataFrame({
        "activity_id": activity_ids,
        "activity_type": [a["activity_type"] for a in acts],
        "name": [a["name"] for a in acts],
        "starts_at": [start + pd.Timedelta(days=a["start_day"]) for a in acts],
        "ends_at": [start + pd.Timedelta(days=a["start_day"] + a["days"]) for a in acts],
        "group_id": [group_ids[a["group"]] if a["group"] >= 0 else None for a in acts],
    })
    exp_rows, asg = [], []
    code_of = {e.experiment_id: i for i, e in enumerate(exp_plans)}
    for e in exp_plans:
        act_id = next((activity_ids[i] for i, a in enumerate(acts)
                       if a["name"] == e.name and a["start_day"] == e.start_day), None)
        w = np.array(e.split) / sum(e.split)
        exp_rows.append(dict(
            experiment_id=e.experiment_id, name=e.name, unit=e.unit,
            starts_at=start + pd.Timedelta(days=e.start_day),
            ends_at=start + pd.Timedelta(days=e.start_day + e.days), activity_id=act_id,
            control_arm="control", planned_split=f"control:{w[0]:g},treatment:{w[1]:g}"))
        units, t = assigned[e.experiment_id]
        ids = member_ids[units].astype(str) if e.unit == "member" else group_ids[units]
        asg.append(pd.DataFrame({"experiment_id": e.experiment_id, "unit_id": ids,
                                 "arm": np.where(t, "treatment", "control"),
                                 "assigned_at": start + pd.Timedelta(days=e.start_day),
                                 "_order": code_of[e.experiment_id]}))
    experiments = pd.DataFrame(exp_rows)
    assignments = pd.concat(asg, ignore_index=True).drop(columns="_order")
    return dict(members=members, events=events, activities=activities, experiments=experiments,
                assignments=assignments)


def _truth(cfg, names, hr_channel, tables, exp_plans, window_q, window_forced, assigned,
           churn_day, u_group, q, group) -> dict:
    members, events, assignments = tables["members"], tables["events"], tables["assignments"]
    ch_counts = members["channel"].value_counts()
    ref_share = members.groupby("channel")["referrer_id"].apply(lambda s: float(s.notna().mean()))
    experiments = {}
    for e in exp_plans:
        units, t = assigned[e.experiment_id]
        a = assignments[assignments["experiment_id"] == e.experiment_id]
        if e.unit == "member":
            wq, wf = window_q[e.experiment_id][units], window_forced[e.experiment_id][units]
        else:
            wq, wf = window_q[e.experiment_id], window_forced[e.experiment_id]
        exp_rel = e.lift * wq.sum() / (wq.sum() + wf.sum()) if wq.sum() > 0 else 0.0
        entry = dict(
            unit=e.unit, start_day=e.start_day, days=e.days, planned_split=list(e.split),
            planted_relative_lift_activity_prob=e.lift,
            expected_relative_lift_active_days=round(float(exp_rel), 5),
            is_aa=e.lift == 0 and e.activity_type is None,
            realised_split=a["arm"].value_counts().sort_index().to_dict(),
            n_units=int(len(a)),
            affected_metrics=["active_days", "everyday events (message, reaction, share, check_in)"]
            if e.lift else [],
        )
        if e.unit == "group":
            # ICC of daily-activity propensity among members of control groups (the latent scale
            # that drives active days); the outcome ICC is lower because of binomial noise.
            entry["latent_icc_activity_prob"] = round(icc_anova(
                pd.DataFrame({"q": q, "g": group}), value="q", group="g"), 4)
        experiments[e.experiment_id] = entry
    n_churn = int((churn_day >= 0).sum())
    return {
        "generator": "helpers.synth", "config": {k: v for k, v in asdict_shallow(cfg).items()
                                                 if k != "experiments"},
        "observation": {"start": cfg.start, "days": cfg.days, "timezone": cfg.timezone},
        "counts": {"members": int(len(members)), "events": int(len(events)),
                   "churned_latent": n_churn,
                   "explicit_exits": int(members["left_at"].notna().sum()),
                   "never_active": int(len(members) - events["member_id"].nunique()),
                   "activities": int(len(tables["activities"]))},
        "channels": {
            c: {"share_planned": CHANNELS[c][0], "churn_hazard_ratio": float(hr_channel[i]),
                "members": int(ch_counts.get(c, 0)),
                "referral_share": round(float(ref_share.get(c, 0.0)), 4)}
            for i, c in enumerate(names)},
        "baseline_channel": BASELINE_CHANNEL,
        "participation_hazard_ratio": cfg.participation_hr,
        "hazard_model": ("daily churn probability 1-exp(-h), h = h0(t)·HR_channel·"
                         "HR_participation^[took part in an activity before day t]; on the day "
                         "of the first participation h is split at that moment (uniform in the "
                         "day): h·f before, h·HR_participation·(1-f) after; "
                         f"h0(0)={cfg.hazard_day0}, h0(t)={cfg.hazard_scale}·(1+t/20)^-0.5"),
        "groups": {"n": cfg.n_groups, "sd_log_activity": cfg.group_sd,
                   "latent_icc_log_activity": round(float(np.var(u_group) / (
                       np.var(u_group) + cfg.member_sd ** 2)), 4)},
        "experiments": experiments,
    }
