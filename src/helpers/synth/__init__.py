"""A synthetic community with planted ground truth, for demos, tests and benchmarks.

``settings`` holds the parameters as data, ``generate`` the generator, ``write`` the files,
``truth.json`` and ``python -m helpers.synth``; every public name is re-exported here.

The generator is seeded (same seed, identical files) and vectorised over members: it loops over
*days* (180 by default), never over members, so 1,000,000 members take minutes, not hours.

The data-generating process (every number below is written to ``truth.json``):

- **Joins** grow over the observation window (density rising linearly from 1/3 to 1); member ids
  increase with join time. Each member gets an acquisition ``channel`` and a ``group_id``.
- **Activity**: while a member is "alive", each day they are active with probability ``q_i``
  (``q_i = clip(q0 · exp(u_g + v_i), 0.25, 0.85)``, ``u_g`` a group random effect and ``v_i`` a
  member effect); an active day carries ``1 + Poisson(mu_i)`` events of the everyday types
  (message, reaction, share, check_in) and, with probability ``p_buy_i``, a purchase.
- **Purchases** by channel: ``p_buy_i = purchase_prob · PURCHASES[channel][0] · exp(N(0, 0.5²))``
  per active day, amounts lognormal with the channel's mean (``PURCHASES[channel][1]``);
  ``truth.json["purchases"]`` gives the 30-day conversion and repurchase the funnel should find
  (the mean over eligible members of the purchase probability given their active days).
- **Memberships** (``memberships.csv``, own random stream): a share of first-time buyers start a
  plan at their first purchase and renew each period with probability 1 − θ, θ ~ Beta(α, β) per
  member and plan (the shifted-beta-geometric model; ``truth.json["memberships"]``).
- **Churn** is a proportional-hazards process on days since joining:
  ``h_i(t) = h0(t) · HR_channel · HR_activity^{A_i(t)}``, where ``A_i(t)`` switches from 0 to 1 at
  the moment the member first takes part in an activity (a *time-varying* covariate: "ever took
  part" measured at the end is biased by immortal time). Within the day of the first
  participation the hazard is split at that moment (a uniform fraction of the day): a member may
  leave before it (and then does not take part) or after it, on the same day. Taking part is
  drawn before churn, so it does not depend on leaving later (no immortal time is planted).
  Nothing else moves the hazard, so a Cox model with channel and time-varying participation is
  correctly specified. A churner is active on the churn day (their last active day), except
  "silent joiners" who churn on the join day and never act. ``explicit_exit_share`` of churners
  also get an explicit ``left_at``.
- **Activities**: two community-wide activities a week and one per group every ~2 weeks; an
  active member takes part with a probability that depends on the channel (so channel confounds
  the participation effect and must be adjusted for) and on the activity's type
  (``ACTIVITY_PARTICIPATION``; ``truth.json["activity_participation"]``).
- **Experiments** (windows of 14 days): a member-randomised activity lifting the daily activity
  probability by ``lift`` (relative), a group-randomised activity doing the same for whole
  groups, and a member-randomised A/A with no effect. Participation in the experiment's activity
  is drawn among members already active that day, so the relative lift in active days (and in
  everyday events) equals the planted lift in expectation; ``truth.json`` also gives the expected
  lift given the realised survival paths (``expected_relative_lift_active_days``).
"""

from .generate import asdict_shallow, baseline_hazard, generate
from .settings import (ACTIVITY_PARTICIPATION, ACTIVITY_TYPES, AMOUNT_SD_LOG, BASELINE_CHANNEL,
                       CHANNELS, EVERYDAY_PROBS, EVERYDAY_TYPES, HOUR_WEIGHTS, MEMBERSHIP_SHARE,
                       PLANS, PURCHASES, REFERRAL_SHARE, ExperimentPlan, SynthConfig,
                       default_experiments)
from .write import load_truth, main, write_community

__all__ = ["ACTIVITY_PARTICIPATION", "ACTIVITY_TYPES", "AMOUNT_SD_LOG", "BASELINE_CHANNEL",
           "CHANNELS", "EVERYDAY_PROBS", "EVERYDAY_TYPES", "HOUR_WEIGHTS", "MEMBERSHIP_SHARE",
           "PLANS", "PURCHASES", "REFERRAL_SHARE", "ExperimentPlan", "SynthConfig",
           "asdict_shallow", "baseline_hazard", "default_experiments", "generate", "load_truth",
           "main", "write_community"]
