"""The synthetic community's settings as data: channels, purchases, plans, event types, the
hour-of-day profile, and the frozen configuration of a run (:class:`SynthConfig`, every field
recorded in ``truth.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import config

#: channel -> (share of joins, churn hazard ratio vs the baseline, participation multiplier)
CHANNELS: dict[str, tuple[float, float, float]] = {
    "海报裂变": (0.24, 1.35, 1.0),   # poster fission: many, low-intent joins
    "邀请码": (0.14, 0.75, 1.1),     # invite codes: a friend vouches
    "线下活动": (0.10, 0.60, 1.6),   # offline events: most committed
    "内容营销": (0.20, 0.90, 1.0),   # content marketing
    "社交广告": (0.14, 1.60, 0.8),   # paid social ads: highest churn
    "自然流量": (0.18, 1.00, 1.0),   # organic: the baseline
}
BASELINE_CHANNEL = "自然流量"
#: channel -> (multiplier of the per-active-day purchase probability, mean amount per purchase)
PURCHASES: dict[str, tuple[float, float]] = {
    "海报裂变": (0.7, 55.0), "邀请码": (1.2, 70.0), "线下活动": (1.6, 90.0),
    "内容营销": (1.0, 65.0), "社交广告": (0.8, 50.0), "自然流量": (1.0, 60.0),
}
AMOUNT_SD_LOG = 0.7  # sd of log amount (lognormal amounts)
#: activity type -> multiplier of the participation probability (planted per-activity participation)
ACTIVITY_PARTICIPATION: dict[str, float] = {
    "lottery": 1.5, "qa": 1.0, "challenge": 0.8, "live": 1.2, "sharing_session": 1.0,
    "check_in": 0.9, "offline_meetup": 0.6,
}
#: plan -> (period days, alpha, beta of the sBG churn probability per period, share, price)
PLANS: dict[str, tuple[int, float, float, float, float]] = {
    "月卡": (30, 0.9, 2.0, 0.7, 199.0), "季卡": (90, 1.5, 4.5, 0.3, 499.0),
}
MEMBERSHIP_SHARE = 0.35  # share of first-time buyers who start a paid membership then
REFERRAL_SHARE = {"海报裂变": 0.9, "邀请码": 1.0}
EVERYDAY_TYPES = ("message", "reaction", "share", "check_in")
EVERYDAY_PROBS = (0.62, 0.25, 0.05, 0.08)
ACTIVITY_TYPES = {  # type -> Chinese name stem
    "lottery": "抽奖", "qa": "有奖问答", "challenge": "打卡挑战", "live": "直播",
    "sharing_session": "分享会", "check_in": "签到", "offline_meetup": "线下聚会",
}
# hour-of-day weights: communities are busiest at lunch and in the evening
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 6, 7, 9, 11, 12, 10, 5],
                        dtype=float)


@dataclass(frozen=True)
class ExperimentPlan:
    """One planted experiment."""

    experiment_id: str
    name: str
    unit: str  # "member" or "group"
    start_day: int
    days: int
    lift: float  # relative lift on the daily activity probability (0 = A/A)
    activity_type: str | None  # the activity the treatment arm gets (None for an A/A)
    split: tuple[float, float] = (0.5, 0.5)  # control, treatment


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the synthetic community (all recorded in ``truth.json``)."""

    n_members: int = config.DEMO_MEMBERS
    days: int = config.DEMO_DAYS
    start: str = config.DEMO_START
    n_groups: int = 40
    seed: int = config.DEMO_SEED
    timezone: str = config.TIMEZONE
    q0: float = 0.42  # typical daily activity probability
    member_sd: float = 0.35  # sd of the member effect on log activity
    group_sd: float = 0.25  # sd of the group effect on log activity (ICC ~0.04 on active days)
    events_per_active_day: float = 0.7  # mean extra events on an active day (Poisson)
    purchase_prob: float = 0.03  # per active day
    hazard_day0: float = 0.06  # churn probability on the join day (baseline channel)
    hazard_scale: float = 0.016  # baseline daily hazard after day 0: scale·(1 + t/20)^-0.5
    participation_hr: float = 0.60  # planted time-varying HR of having taken part in an activity
    participation_prob: float = 0.12  # per active day with an activity available
    experiment_participation_prob: float = 0.35
    silent_share: float = 0.6  # share of day-0 churners who never act at all
    explicit_exit_share: float = 0.35  # share of churners who leave explicitly (left_at)
    experiments: tuple[ExperimentPlan, ...] = field(default_factory=lambda: default_experiments(
        config.DEMO_DAYS))


def default_experiments(days: int) -> tuple[ExperimentPlan, ...]:
    """Three experiments placed in the second half of a ``days``-long window.

    Windows are 14 days (shorter for datasets under 168 days, so they still fit).
    """
    d = days / 180
    w = max(3, min(14, days // 12))
    return (
        ExperimentPlan("exp_checkin_member", "打卡挑战（成员随机）", "member",
                       int(100 * d), w, 0.12, "challenge"),
        ExperimentPlan("exp_live_group", "直播分享会（社群随机）", "group",
                       int(130 * d), w, 0.15, "live"),
        ExperimentPlan("exp_reminder_aa", "签到提醒 A/A", "member",
                       int(155 * d), w, 0.0, None),
    )
