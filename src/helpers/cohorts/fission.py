"""Fission (裂变): who invited whom — invites per inviter, referral share, K-factor, the fission table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import config
from .._checks import as_columns
from .._time import Period, check_period, period_codes, period_start, resolve_end, tz_of
from ..errors import AnalysisWarning, ParameterError
from ._common import fill_doc, group_ids, period_range, with_ci

__all__ = ["invites_per_inviter", "referral_share", "k_factor", "fission_table",
           "FISSION_COLUMNS"]


# ----------------------------------------------------------------------------- fission (裂变)
def _require_referrer(members: pd.DataFrame) -> None:
    if "referrer_id" not in members.columns:
        raise ParameterError("members has no referrer_id column: fission (裂变) needs who "
                             "invited whom (DESIGN.md §3, optional column referrer_id)")


def invites_per_inviter(members: pd.DataFrame, *, attributes=("channel",)) -> pd.DataFrame:
    """Members invited per inviter.

    Parameters
    ----------
    members : DataFrame
        ``member_id`` and ``referrer_id`` (blank = not referred).
    attributes : sequence of str
        Inviter columns to attach (``"unknown"`` when the inviter is not in ``members``).

    Returns
    -------
    DataFrame
        One row per inviter, most invitations first: ``referrer_id``, ``invited``, then the
        inviter's ``attributes``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> invites_per_inviter(members).values.tolist()
    [['a', 2, '海报裂变'], ['b', 1, '邀请码']]
    """
    _require_referrer(members)
    attrs = as_columns("attributes", list(attributes), members)
    ref = members["referrer_id"].dropna()
    out = ref.value_counts().rename_axis("referrer_id").reset_index(name="invited")
    info = members.set_index("member_id")[attrs]
    info = info.reindex(out["referrer_id"].to_numpy())
    for c in attrs:
        out[c] = info[c].to_numpy()
        out[c] = out[c].where(pd.notna(out[c]), "unknown")
    return out.sort_values(["invited", "referrer_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def referral_share(members: pd.DataFrame, *, period: Period = "M", by=None, observed_until=None,
                   alpha: float = config.ALPHA, events: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """Share of joins that came by referral (a ``referrer_id``), per join period.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at, referrer_id`` and the ``by`` columns.
    period : {"D", "W", "M"}
        Join period.
    by : str or list of str, optional
        Segment columns (e.g. ``"channel"``).
    observed_until : Timestamp or str, optional
        Ignore members who joined later. Default: the last event of ``events`` when given (the
        end every analysis uses), else every member is kept.
    alpha : float
        Level of the Wilson interval.
    events : DataFrame, optional
        The event log, which fixes the default end of observation (see ``observed_until``).

    Returns
    -------
    DataFrame
        ``*by, period`` (tz-aware start), ``joined``, ``referred``, ``rate`` (share),
        ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> referral_share(members, period="M")[["joined", "referred", "rate"]].values.tolist()
    [[5.0, 3.0, 0.6]]
    """
    check_period(period)
    _require_referrer(members)
    by_cols = as_columns("by", by, members)
    tz = tz_of(members["joined_at"])
    m = members
    if observed_until is not None or events is not None:
        m = m.loc[(m["joined_at"] <= fission_end(members, observed_until, events)).to_numpy()]
    f = m[by_cols].copy()
    f["period"] = period_start(period_codes(m["joined_at"], period, tz=tz), period, tz=tz)
    f["referred"] = m["referrer_id"].notna().to_numpy().astype(np.int64)
    out = (f.groupby([*by_cols, "period"], dropna=False, observed=True, sort=True)
           .agg(joined=("referred", "size"), referred=("referred", "sum")).reset_index())
    return with_ci(out, "referred", "joined", alpha)


@fill_doc
def k_factor(members: pd.DataFrame, *, period: Period = "M", by="channel",
             observed_until=None, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Viral K-factor per period: referred joins per member who could invite.

    ``k_factor(t) = referred joins in t / members at the start of t`` (joined before t and not
    exited), i.e. invitations sent × conversion, per existing member. With ``by`` the joins are
    attributed to the *inviter's* segment (e.g. the inviter's channel) and divided by that
    segment's members, so each segment's K says how many new members one of its members brings
    per period. Referred joins whose inviter is not in ``members`` count as ``"unknown"``.
    The first period has no base (K is NaN). K ≥ 1 sustained over periods means self-growth.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at, referrer_id`` [, ``left_at``] and the ``by`` column(s).
    period : {"D", "W", "M"}
        Period length.
    by : str or list of str, optional
        Inviter segment columns (default ``"channel"``; None for the whole community).
    %(observed_until)s
    events : DataFrame, optional
        The event log, which fixes the default end of observation (its last event). Without
        ``events`` and ``observed_until`` the last join is used instead: pass ``events`` (as
        the reports do) so the end is the one every other analysis uses.

    Returns
    -------
    DataFrame
        ``*by, period`` (tz-aware start), ``base_members``, ``referred_joins``, ``k_factor``,
        ``complete`` (False for the period still running at the end of observation).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> k_factor(members, period="W", by=None, events=events)["k_factor"].tolist()
    [nan, 0.5, 0.5, 0.0]
    """
    check_period(period)
    _require_referrer(members)
    by_cols = as_columns("by", by, members)
    tz = tz_of(members["joined_at"])
    until = fission_end(members, observed_until, events)
    m = members.loc[(members["joined_at"] <= until).to_numpy()]
    if len(m) == 0:
        return pd.DataFrame(columns=[*by_cols, "period", "base_members", "referred_joins",
                                     "k_factor", "complete"])
    gid, labels = group_ids(m, by_cols)
    G = len(labels)
    p0, p1 = period_range(m, period, tz, until)
    n = p1 - p0 + 1
    join = period_codes(m["joined_at"], period, tz=tz) - p0
    # base at the start of t: joined before t, minus exited before t
    joins = np.bincount(gid * n + join, minlength=G * n).reshape(G, n)
    base = np.cumsum(joins, axis=1) - joins
    if "left_at" in m.columns:
        left = m["left_at"]
        done = (left.notna() & (left <= until)).to_numpy()
        lcode = period_codes(left[done], period, tz=tz) - p0
        ex = np.bincount(gid[done] * n + lcode, minlength=G * n).reshape(G, n)
        base = base - (np.cumsum(ex, axis=1) - ex)
    # referred joins attributed to the inviter's segment
    referred = m["referrer_id"].notna().to_numpy()
    inviter = pd.Index(m["member_id"]).get_indexer(m["referrer_id"].to_numpy()[referred])
    known = inviter >= 0
    ref_counts = np.bincount(gid[inviter[known]] * n + join[referred][known],
                             minlength=G * n).reshape(G, n)
    rows = np.repeat(np.arange(G), n)
    tt = np.tile(np.arange(n), G)
    out = labels.iloc[rows].reset_index(drop=True)
    out["period"] = period_start(tt + p0, period, tz=tz)
    out["base_members"] = base.ravel()
    out["referred_joins"] = ref_counts.ravel()
    if (~known).any():
        unk = pd.DataFrame({c: "unknown" for c in by_cols}, index=range(n))
        unk["period"] = period_start(np.arange(p0, p1 + 1), period, tz=tz)
        unk["base_members"] = 0
        unk["referred_joins"] = np.bincount(join[referred][~known], minlength=n)
        out = pd.concat([out, unk], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["k_factor"] = np.where(out["base_members"] > 0,
                                   out["referred_joins"] / out["base_members"], np.nan)
    out["complete"] = period_complete(out["period"], period, until)
    return out


def fission_end(members: pd.DataFrame, observed_until, events) -> pd.Timestamp:
    """End of observation of the fission figures: ``observed_until``, else the last event of
    ``events`` (``_time.resolve_end``), else (no events given) the last join."""
    tz = tz_of(members["joined_at"])
    if observed_until is None and events is None:
        return members["joined_at"].max()
    return resolve_end(observed_until, events, tz)


def period_complete(starts: pd.Series, period: str, until: pd.Timestamp) -> np.ndarray:
    """True for periods that ended by ``until`` (the period holding ``until`` is running)."""
    tz = tz_of(until)
    end_code = int(period_codes(until, period, tz=tz)[0])
    codes = period_codes(pd.DatetimeIndex(starts), period, tz=tz)
    return codes < end_code


FISSION_COLUMNS = ["period", "joined", "referred", "referral_share", "inviters",
                   "base_members", "referred_joins", "invites_per_inviter", "k_factor",
                   "complete"]


@fill_doc
def fission_table(members: pd.DataFrame, *, period: Period = "M", by="channel",
                  observed_until=None, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fission (裂变) per period and segment: referral share, invites per inviter, K-factor.

    Two views of one segment column side by side: ``joined``, ``referred`` and
    ``referral_share`` describe the members who *joined* in the segment (see
    :func:`referral_share`); ``inviters``, ``base_members``, ``referred_joins``,
    ``invites_per_inviter`` and ``k_factor`` describe invitations *sent* by members of the
    segment (see :func:`k_factor`). Without a ``referrer_id`` column it returns an empty frame
    (and warns), so a report still runs on data without fission.

    Parameters
    ----------
    members : DataFrame
        ``member_id, joined_at`` [, ``referrer_id``, ``left_at``] and the ``by`` column(s).
    period : {"D", "W", "M"}
        Period length.
    by : str or list of str, optional
        Segment columns (default ``"channel"``).
    %(observed_until)s
    events : DataFrame, optional
        The event log, which fixes the default end of observation (its last event); see
        :func:`k_factor`.

    Returns
    -------
    DataFrame
        ``*by, period, joined, referred, referral_share, inviters`` (distinct members of the
        segment who brought someone in the period), ``base_members``, ``referred_joins``,
        ``invites_per_inviter`` = referred_joins / inviters, ``k_factor``, ``complete``
        (False for the period still running at the end of observation).

    Examples
    --------
    >>> from helpers.cohorts._examples import tiny
    >>> members, events = tiny()  # five members, 2026-03-02 … 03-24
    >>> f = fission_table(members, period="W", by=None, events=events)
    >>> f["referred_joins"].tolist(), f["complete"].tolist()
    ([1, 1, 1, 0], [True, True, True, False])
    """
    by_cols = as_columns("by", by, members)
    if "referrer_id" not in members.columns:
        warnings.warn("members has no referrer_id column: no fission (裂变) figures",
                      AnalysisWarning, stacklevel=2)
        return pd.DataFrame(columns=[*by_cols, *FISSION_COLUMNS])
    tz = tz_of(members["joined_at"])
    until = fission_end(members, observed_until, events)
    if not (members["joined_at"] <= until).any():
        return pd.DataFrame(columns=[*by_cols, *FISSION_COLUMNS])
    k = k_factor(members, period=period, by=by_cols or None, observed_until=until)
    rs = referral_share(members, period=period, by=by_cols or None, observed_until=until)
    rs = rs.rename(columns={"rate": "referral_share"}).drop(columns=["ci_low", "ci_high"])
    # distinct inviters per (inviter segment, period of the referred join)
    m = members.loc[(members["joined_at"] <= until).to_numpy()]
    ref = m.loc[m["referrer_id"].notna().to_numpy()]
    inviter = m.set_index("member_id").reindex(ref["referrer_id"].to_numpy())
    inv = pd.DataFrame({c: inviter[c].to_numpy() for c in by_cols})
    for c in by_cols:
        inv[c] = inv[c].where(pd.notna(inv[c]), "unknown")
    inv["period"] = period_start(period_codes(ref["joined_at"], period, tz=tz), period, tz=tz)
    inv["referrer_id"] = ref["referrer_id"].to_numpy()
    inviters = (inv.groupby([*by_cols, "period"], dropna=False, sort=True)["referrer_id"]
                .nunique().rename("inviters").reset_index())
    keys = [*by_cols, "period"]
    out = k.merge(rs, on=keys, how="outer").merge(inviters, on=keys, how="left")
    out["complete"] = period_complete(out["period"], period, until)
    for c in ("joined", "referred", "inviters", "base_members", "referred_joins"):
        out[c] = out[c].fillna(0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["invites_per_inviter"] = np.where(out["inviters"] > 0,
                                              out["referred_joins"] / out["inviters"], np.nan)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)[[*by_cols, *FISSION_COLUMNS]]
