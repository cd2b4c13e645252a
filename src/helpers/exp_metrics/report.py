"""The reviewer text of an experiment report (one renderer per report)."""

from __future__ import annotations

import math
import warnings


from .analysis import ExperimentReport, _effect, _fmt, _mean

__all__ = ["summary_markdown"]


# emoji font, e.g. on a bare Linux desktop or in headless browsers)
_ICON = {"ship": "✔ **Ship**", "do not ship": "✘ **Do not ship**",
         "inconclusive": "? **Inconclusive**", "do not trust": "⚠ **Do not trust**",
         "not analysed": "⚠ **Not analysed**"}


def summary_markdown(report: ExperimentReport) -> str:
    """Executive summary of an experiment as Markdown, written from the computed numbers.

    Covers: the decision and its reason, the SRM status, the primary metric's lift with CI,
    the guardrails, significant secondary metrics, and the warnings.

    Returns
    -------
    str
        Markdown text (show it with ``IPython.display.Markdown``).

    Examples
    --------
    >>> print(summary_markdown(analyse_experiment(ds, "exp_checkin_member")))  # doctest: +SKIP
    """
    r = report
    lines = [f"### {r.experiment_id}" + (f" — {r.name}" if r.name and r.name != r.experiment_id
                                         else ""),
             "", f"**Decision:** {_ICON.get(r.decision, r.decision)} — {r.reason}.", ""]
    if r.starts_at is not None:
        units = ", ".join(f"{a}: {k:,}" for a, k in r.arm_units)
        what = "groups" if r.unit == "group" else "members"
        lines.append(f"- **Design:** randomised by {r.unit} ({units} {what}); window "
                     f"{r.starts_at:%Y-%m-%d} to {r.ends_at:%Y-%m-%d}; {len(r.data):,} members "
                     "analysed" + ("; inference at the group level (cluster-robust: members of "
                                   "one group behave alike, so the group, not the member, is "
                                   "the unit of evidence)" if r.unit == "group" else "") + ".")
    if r.srm is not None:
        status = ("⚠ **mismatch** — the assignment is broken" if r.srm.alert else "OK")
        lines.append(f"- **Sample ratio (SRM)** — checks that the arms got the planned share of "
                     f"{'groups' if r.unit == 'group' else 'members'}; a mismatch means the "
                     f"assignment or logging is broken: {status} (χ² = {r.srm.statistic:.2f}, "
                     f"p = {r.srm.p_value:.3g}; alert below {r.srm.alpha:g}).")
    res = r.results
    level = 1 - r.alpha
    if not res.empty:
        for _, row in res.loc[res["role"] == "primary"].iterrows():
            kind = row.get("kind", "mean")
            cuped = "cuped" in str(row.get("method", "")).lower()
            extra = ""
            if row.get("variance_reduction", math.nan) == row.get("variance_reduction", math.nan):
                extra = (f". CUPED (adjusting for the same metric in the {r.unit}s' "
                         f"pre-period, before the start) cut the noise (variance) by "
                         f"{row['variance_reduction']:.0%}")
            if r.unit == "group" and row.get("icc") == row.get("icc"):
                extra += (f". ICC {row['icc']:.3f} (how alike members of one group are: 0 = no "
                          f"more than strangers) gives a design effect of "
                          f"{row['design_effect']:.1f} (this design needs "
                          f"{row['design_effect']:.1f}× the members of a member-randomised one "
                          "for the same precision)")
            lines.append(f"- **Primary metric — {row['label']}** ({row['arm']} vs "
                         f"{r.control_arm}{', CUPED-adjusted means' if cuped else ''}): "
                         f"{_mean(row['control_mean'], kind)} → "
                         f"{_mean(row['treatment_mean'], kind)}, lift {_effect(row, level)}, "
                         f"adjusted p = {row['p_adjusted']:.3g}{extra}.")
        for _, row in res.loc[res["role"] == "guardrail"].iterrows():
            kind = row.get("kind", "mean")
            worse = row["p_value"] < r.alpha and row["estimate"] * row["direction"] < 0
            lines.append(f"- **Guardrail — {row['label']}** (must not get worse): "
                         f"{_mean(row['control_mean'], kind)} → "
                         f"{_mean(row['treatment_mean'], kind)}, change {_effect(row, level)}; "
                         + ("**significantly worse**." if worse else "no significant harm."))
        sec = res.loc[(res["role"] == "secondary") & res["significant"]]
        if len(sec):
            lines.append("- **Other significant metrics** (after correction): " + "; ".join(
                f"{x['label']} {_fmt(x['estimate'], bool(x['relative']), x.get('kind', 'mean'))}"
                + ("" if x["relative"] or x.get("kind") == "proportion" else " (absolute)")
                for _, x in sec.iterrows()) + ".")
    if r.warnings:
        lines.append("- **Caveats:** " + " · ".join(r.warnings) + ".")
    if not res.empty:
        lines.append("- **Where to look below:** the lift plot (section 1: green intervals are "
                     "significant after correction; an interval crossing 0 means not enough "
                     "evidence either way), then the guardrail row and the distribution per arm "
                     "(section 3) to see whether a shift of everyone or a few heavy users drives "
                     "the lift.")
    return "\n".join(lines)
