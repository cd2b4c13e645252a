"""A tiny community for the docstring examples of ``helpers.cohorts`` (not a public interface).

Five members with text ids in Asia/Shanghai, observed until the last event (Tuesday 2026-03-24):
``a`` joins Monday 03-02 and is active on 03-02, 03-10 and 03-24 (a purchase of 50 on 03-10);
``b`` joins Sunday 03-08 23:30, invited by ``a``, active Monday 03-09 00:10; ``c`` joins 03-09,
invited by ``a``, never active, leaves 03-12; ``d`` joins Monday 03-16, invited by ``b``,
active the same day; ``e`` joins 03-20 and is active on 03-23.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(members, events) of the example community."""
    t = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    members = pd.DataFrame({
        "member_id": ["a", "b", "c", "d", "e"],
        "joined_at": [t("2026-03-02 10:00"), t("2026-03-08 23:30"), t("2026-03-09 08:00"),
                      t("2026-03-16 09:00"), t("2026-03-20 09:00")],
        "channel": ["海报裂变", "邀请码", "海报裂变", "邀请码", "邀请码"],
        "group_id": ["G1"] * 5,
        "left_at": [pd.NaT, pd.NaT, t("2026-03-12 08:00"), pd.NaT, pd.NaT],
        "referrer_id": [None, "a", "a", "b", None],
    })
    events = pd.DataFrame({
        "member_id": ["a", "a", "b", "d", "e", "a"],
        "ts": [t("2026-03-02 11:00"), t("2026-03-10 12:00"), t("2026-03-09 00:10"),
               t("2026-03-16 10:00"), t("2026-03-23 20:00"), t("2026-03-24 10:00")],
        "event_type": ["message", "purchase", "reaction", "message", "message", "message"],
        "amount": [np.nan, 50.0, np.nan, np.nan, np.nan, np.nan],
    })
    return members, events
