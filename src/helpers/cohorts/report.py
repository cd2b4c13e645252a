"""The executive summary of the cohort report."""

from __future__ import annotations

import pandas as pd

from .._time import Period, check_period
from ._common import PERIOD_ADJECTIVES, PERIOD_NAMES, Mode, check_mode

__all__ = ["summary_markdown"]


# ----------------------------------------------------------------------------- executive summary
def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def _ci(row) -> str:
    return f"{_pct(row['rate'])} (95% CI {_pct(row['ci_low'])}–{_pct(row['ci_high'])}, n={int(row['eligible'])})"


def summary_markdown(*, growth_table: pd.DataFrame, n_day: pd.DataFrame,
                     n_day_by: pd.DataFrame | None = None, layers: pd.DataFrame | None = None,
                     fission: pd.DataFrame | None = None, period: Period = "W",
                     mode: Mode = "classic", min_eligible: int = 30) -> str:
    """Executive summary of the cohort analysis, written from computed values.

    Parameters
    ----------
    growth_table : DataFrame
        Output of :func:`growth`.
    n_day : DataFrame
        Output of :func:`n_day_retention` without ``by`` (rows for days 7 and 30 are used when
        present, otherwise whatever days it has).
    n_day_by : DataFrame, optional
        :func:`n_day_retention` with ``by``; gives the best and worst segment on the largest day
        (segments with at least ``min_eligible`` eligible members).
    layers : DataFrame, optional
        Output of :func:`member_layers`.
    fission : DataFrame, optional
        Output of :func:`fission_table` (any ``by``; pooled here).
    period : {"D", "W", "M"}
        Period of ``growth_table`` (for wording).
    mode : {"classic", "rolling"}
        Mode the N-day tables were computed with (for wording).
    min_eligible : int
        Smallest segment ranked.

    Returns
    -------
    str
        Markdown bullet list.

    Examples
    --------
    >>> print(summary_markdown(growth_table=g, n_day=nd))                     # doctest: +SKIP
    """
    unit = PERIOD_NAMES[check_period(period)]
    lines = []
    g = growth_table.loc[growth_table["complete"]] if "complete" in growth_table else growth_table
    if len(g) >= 2:
        half = max(len(g) // 2, 1)
        first, last = g["new_members"].iloc[:half].mean(), g["new_members"].iloc[-half:].mean()
        trend = "growing" if last > 1.1 * first else "shrinking" if last < 0.9 * first else "flat"
        lines.append(f"**Cohort size** is {trend}: {first:.0f} new members per {unit} on average "
                     f"in the first {half} complete {unit}s vs {last:.0f} in the last {half}.")
    elif len(growth_table):
        lines.append(f"**Cohort size**: {int(growth_table['new_members'].sum())} members joined "
                     f"(fewer than two complete {unit}s observed).")
    if len(n_day):
        parts = [f"D{int(r['day'])} {_ci(r)}" for _, r in n_day.iterrows()]
        lines.append(f"**N-day retention** ({check_mode(mode)}, overall): "
                     + "; ".join(parts) + ".")
    if n_day_by is not None and len(n_day_by):
        by_cols = [c for c in n_day_by.columns if c not in
                   ("day", "eligible", "retained", "rate", "ci_low", "ci_high")]
        usable = n_day_by.loc[n_day_by["eligible"] >= min_eligible]
        if by_cols and not len(usable):
            lines.append(f"**By {' / '.join(by_cols)}**: no segment has {min_eligible} members "
                         "old enough for N-day retention; segments are not ranked.")
        if len(usable) and by_cols:
            d = int(usable["day"].max())
            at = usable.loc[usable["day"] == d].sort_values("rate", ascending=False)
            name = lambda r: " / ".join(str(r[c]) for c in by_cols)  # noqa: E731
            best, worst = at.iloc[0], at.iloc[-1]
            overlap = best["ci_low"] <= worst["ci_high"]
            lines.append(
                f"**By {' / '.join(by_cols)}** (D{d}): best {name(best)} {_ci(best)}; worst "
                f"{name(worst)} {_ci(worst)}"
                + ("; their intervals overlap, so the ranking is not conclusive." if overlap
                   else "; the intervals do not overlap."))
    if len(g):
        last = g.iloc[-1]
        sticky = ("" if period == "D" else
                  f"; stickiness (mean daily active / {PERIOD_ADJECTIVES[period]} active) "
                  f"{_pct(last['stickiness'])}")
        lines.append(
            f"**Growth** in the last complete {unit} ({last['period']:%Y-%m-%d}): "
            f"{int(last['new_members'])} joined, {int(last['exits'])} left explicitly, "
            f"{int(last['active_members'])} active{sticky}.")
    if layers is not None and len(layers):
        mix = layers["layer"].value_counts(normalize=True, sort=False)
        lines.append("**Member layers**: " + ", ".join(
            f"{k} {_pct(v)}" for k, v in mix.items()) + f" of {len(layers)} members.")
    if fission is not None and len(fission) and fission["joined"].sum() > 0:
        per = fission.groupby("period", sort=True)[["joined", "referred", "base_members",
                                                    "referred_joins"]].sum()
        share = per["referred"].sum() / per["joined"].sum()
        last = per.loc[per["base_members"] > 0].iloc[-1] if (per["base_members"] > 0).any() else None
        k_text = ("" if last is None else
                  f"; K-factor in the last period ({last.name:%Y-%m-%d}, possibly partial) "
                  f"{last['referred_joins'] / last['base_members']:.2f} new members per existing member")
        lines.append(f"**Fission (裂变)**: {_pct(share)} of members joined by referral{k_text}.")
    if not lines:
        return "_No members or events in the selected window._"
    caveats = []
    if "complete" in growth_table and len(growth_table) and not bool(growth_table["complete"].iloc[-1]):
        caveats.append(f"the last {unit} ({growth_table['period'].iloc[-1]:%Y-%m-%d}) is still "
                       "running: it is left out of the trend and the growth figures")
    if len(n_day):
        caveats.append("N-day rates count only members who joined long enough ago (n = those "
                       "members); a difference between segments whose 95% intervals overlap "
                       "may be chance")
    if caveats:
        lines.append("**Caveats**: " + "; ".join(caveats) + ".")
    lines.append("**Where to look below**: the heatmap for cohorts whose row fades faster than "
                 "their neighbours, the curves by segment for bands that do not overlap, and the "
                 "lifecycle bars for dormant members outgrowing new plus resurrecting ones.")
    return "\n".join(f"- {x}" for x in lines)
