"""The one renderer of a ChurnReport: executive summary, section notes, reader tables, plot text.

Everything a reviewer reads in report 02 is written here from the report's numbers, in Chinese
or English (catalogs in :mod:`helpers.survival._messages`); numbers go through ``_format``
(shares as %, "not reached", "< 0.001"), names from the data through ``escape_md`` in Markdown
(tables are escaped by ``plots.show_table``; plot labels by :func:`plot_escape`).
Observational estimates are worded as associations, never as effects.
"""

from __future__ import annotations

import math

import pandas as pd

from .._format import (check_language, count, date, days, escape_md, interval, is_missing,
                       number, pct)
from ._messages import SUMMARY, word
from ._text import (METHODS, baseline_text, ci_label, driver_label, hr_text, p_text,
                    plot_escape, risk_averages, signed, term_label, terms)
from .report import ChurnReport, ChurnSettings

__all__ = ["render_summary", "render_note", "term_label", "plot_escape"]

_SECTIONS = {  # section (or reader table) -> the note keys that explain why it is empty
    "km": ("no_history",), "survival": ("no_history",), "status": ("no_history",),
    "segments": ("no_history", "no_segments", "one_segment"),
    "censoring": ("no_history",), "cox": ("no_history", "no_covariates"),
    "ph": ("no_history", "no_covariates"), "stratified": ("no_history", "no_covariates"),
    "landmark": ("no_history", "no_landmark"),
    "participation": ("no_history", "no_participation"), "truth": ("no_history",),
    "risk": ("no_history", "no_risk_model", "no_scored"),
}
_SECTIONS.update(rmst=_SECTIONS["segments"], logrank=_SECTIONS["segments"],
                 pairs=_SECTIONS["segments"])



# ----------------------------------------------------------------------------- summary
def render_summary(report: ChurnReport, language: str = "zh") -> str:
    """The executive summary of report 02 as Markdown, in ``language`` ("zh" or "en").

    Examples
    --------
    >>> from helpers import synth
    >>> from helpers.survival import churn_report
    >>> tables, truth = synth.generate(n_members=400, days=90, seed=3)
    >>> rep = churn_report(tables["members"], tables["events"])
    >>> print(render_summary(rep, "zh").splitlines()[0][:10])
    - **统计口径**
    """
    check_language(language)
    t = SUMMARY.t
    st, c = report.settings, report.counts
    inact = number(st.inactivity_days, 0, language)
    lines = []  # the notebook's tagged markdown cell carries the heading (as in 01 and 04)
    key = "counted" if c["left"] else "counted_noleft"
    lines.append("- " + t(key, language, end=date(report.observed_until, language, prose=True),
                          joined=count(c["joined"]), left=count(c["left"]),
                          current=count(c["current"]), silent=count(c["silent"]),
                          recent=count(c["recent"]), inactivity=inact))
    if c["analysed"]:
        key = "followed_detectable" if st.censoring == "detectable" else "followed_end"
        lines.append("- " + t(key, language, n=count(c["analysed"]), churned=count(c["churned"]),
                              share=pct(c["churned"] / c["analysed"], 1),
                              exits=count(c["exits"]), inactive=count(c["inactive"]),
                              censored=count(c["censored"]), inactivity=inact,
                              until=date(report.follow_until, language, prose=True)))
    if report.overall is not None:
        lines += _survival_lines(report, language)
    if report.rmst is not None and not report.rmst.empty:
        lines.append("- " + _segment_line(report, language))
    if report.cox is not None:
        lines.append("- " + _cox_line(report, language))
    if report.participation is not None:
        line = _participation_line(report, language)
        if line:
            lines.append("- " + line)
    if report.truth is not None and len(report.truth):
        lines.append("- " + _truth_line(report, language))
    if report.risk is not None or report.counts.get("analysed"):
        line = _risk_line(report, language)
        if line:
            lines.append("- " + line)
    if report.censoring is not None:
        line = _censoring_line(report, language)
        if line:
            lines.append("- " + line)
    caveats = _caveats(report, language)
    if caveats:
        lines.append("- " + t("caveats", language, items=("; " if language == "en" else "；")
                              .join(caveats)))
    if report.notes:
        sep = "; " if language == "en" else "；"
        lines.append("- " + t("skipped", language, items=sep.join(
            n.text(language, escape=escape_md) for n in report.notes)))
    return "\n".join(lines) + "\n"


def _survival_lines(report: ChurnReport, language: str) -> list[str]:
    t = SUMMARY.t
    o = report.overall
    med = o[o["quantity"] == "median_days"].iloc[0]
    out = []
    if math.isinf(med["estimate"]):
        out.append("- " + t("median_not_reached", language))
    else:
        out.append("- " + t("median", language, median=interval(
            med["estimate"], med["ci_low"], med["ci_high"], days, language=language, digits=0)))
    parts = []
    for r in o[o["quantity"] == "survival"].itertuples(index=False):
        day = number(r.time, 0, language)
        if is_missing(r.estimate):
            parts.append(t("still_here_short", language, day=day))
        else:
            parts.append(t("still_here_part", language, day=day, value=interval(
                r.estimate, r.ci_low, r.ci_high, pct, language=language)))
    if parts:
        out.append("- " + t("still_here", language, parts=("; " if language == "en" else "；")
                            .join(parts)))
    return out


def _segment_line(report: ChurnReport, language: str) -> str:
    t = SUMMARY.t
    rm = report.rmst
    best, worst = rm.loc[rm["difference"].idxmax()], rm.loc[rm["difference"].idxmin()]
    ci = ci_label(language)

    def span(r):
        return f"{ci} {signed(r['ci_low'])} – {signed(r['ci_high'])}"

    key = "segments" if len(rm) > 1 else "segments_one"
    text = t(key, language, segment=word(report.segment_col, language, escape=escape_md,
                                                prose=True),
             horizon=number(report.settings.horizon_days, 0), reference=escape_md(
                 best["reference"]), rmst=number(best["rmst_reference"], 1),
             best=escape_md(best["group"]), best_diff=signed(best["difference"]),
             best_ci=span(best), worst=escape_md(worst["group"]),
             worst_diff=signed(worst["difference"]), worst_ci=span(worst))
    if best["group"] != worst["group"] and not (best["ci_low"] > worst["ci_high"]):
        text += (" " if language == "en" else "") + t("segments_overlap", language)
    lr = report.logrank
    if lr is not None:
        text += (" " if language == "en" else "") + t(
            "logrank", language, statistic=f"{lr.statistic:.1f}", df=lr.df,
            p=p_text(lr.p_value, language), k=int(lr.pairwise["significant"].sum()),
            m=len(lr.pairwise), method=METHODS[language].get(lr.method, lr.method))
    return text


def _cox_line(report: ChurnReport, language: str) -> str:
    t = SUMMARY.t
    cox = report.cox
    hr = cox.hazard_ratios
    sig = hr[(hr["ci_low"] > 1) | (hr["ci_high"] < 1)]
    baseline = baseline_text(report, cox, language)
    if sig.empty:
        return t("cox_none", language, baseline=baseline)
    items = []
    up, down = sig.loc[sig["hazard_ratio"].idxmax()], sig.loc[sig["hazard_ratio"].idxmin()]
    if up["hazard_ratio"] > 1:
        items.append(t("cox_up", language, term=term_label(up["covariate"], up["level"],
                                                           language), hr=hr_text(up, language)))
    if down["hazard_ratio"] < 1:
        items.append(t("cox_down", language, term=term_label(down["covariate"], down["level"],
                                                             language), hr=hr_text(down, language)))
    return t("cox", language, baseline=baseline,
             items=("; " if language == "en" else "；").join(items))


def _participation_line(report: ChurnReport, language: str) -> str | None:
    t = SUMMARY.t
    p = report.participation
    use = p["adjusted"] if p["adjusted"].any() else ~p["adjusted"]
    tv = p[(p["model"] == "time-varying") & use]
    nv = p[p["model"].str.startswith("naive") & use]
    if tv.empty or nv.empty:
        return None
    tv, nv = tv.iloc[0], nv.iloc[0]
    if tv["ci_high"] < 1:
        assoc = t("assoc_lower", language, pct=pct(1 - tv["hazard_ratio"], 0))
    elif tv["ci_low"] > 1:
        assoc = t("assoc_higher", language, pct=pct(tv["hazard_ratio"] - 1, 0))
    else:
        assoc = t("assoc_none", language)
    truth = "" if is_missing(tv["truth"]) else t("truth_part", language,
                                                 truth=number(tv["truth"], 2))
    return t("participation", language, assoc=assoc, hr=hr_text(tv, language), truth=truth,
             naive=number(nv["hazard_ratio"], 2))


def _truth_line(report: ChurnReport, language: str) -> str:
    tab = report.truth
    miss = tab[~tab["covers_truth"].astype(bool)]
    if miss.empty:
        return SUMMARY.t("truth_all", language, n=len(tab))
    labels = []
    hr = report.time_varying if report.time_varying is not None else report.cox
    info = hr.hazard_ratios.set_index("term")
    for term in miss["term"]:
        r = info.loc[term]
        labels.append(term_label(r["covariate"], r["level"], language))
    return SUMMARY.t("truth_miss", language, k=len(miss), n=len(tab),
                     terms=("; " if language == "en" else "；").join(labels))


def _risk_line(report: ChurnReport, language: str) -> str | None:
    st = report.settings
    within = number(st.risk_active_within_days, 0)
    risk = report.risk
    if risk is None:
        return None
    scored = risk.dropna(subset=["churn_risk"])
    if scored.empty:
        return SUMMARY.t("risk_none", language, within=within)
    # the one threshold: the settings' (a settings-like object without it: the default)
    threshold = getattr(st, "risk_threshold", ChurnSettings.risk_threshold)
    values = dict(n=count(len(scored)), within=within, horizon=number(st.risk_horizon_days, 0),
                  median=pct(scored["churn_risk"].median()),
                  high=count(int((scored["churn_risk"] >= threshold).sum())),
                  threshold=pct(threshold, 0))
    top = scored.head(20)
    averages = risk_averages(risk, set(top["main_driver"]) - {""})
    firsts = [driver_label(r["main_driver"], r.get(r["main_driver"]) if r["main_driver"] in
                           top.columns else None, averages.get(r["main_driver"]), language,
                           escape=escape_md)
              for _, r in top.iterrows() if r["main_driver"]]
    if not firsts:
        return SUMMARY.t("risk_nodriver", language, **values)
    counts = pd.Series(firsts).value_counts()
    return SUMMARY.t("risk", language, **values, driver=counts.index[0],
                     driver_n=count(int(counts.iloc[0])), top=count(len(top)))


def _censoring_line(report: ChurnReport, language: str) -> str | None:
    tab = report.censoring.dropna(subset=["survival"])
    if tab.empty:
        return None
    day = tab["time"].min()
    at = tab[tab["time"] == day].set_index("censoring")["survival"]
    if not {"end", "detectable"} <= set(at.index):
        return None
    return SUMMARY.t("censoring", language, day=number(day, 0), detectable=pct(at["detectable"]),
                     end=pct(at["end"]))


def _caveats(report: ChurnReport, language: str) -> list[str]:
    t = SUMMARY.t
    out = []
    if report.cox is not None and report.cox.penalizer > 0:
        out.append(t("penalised", language))
    ph = report.ph
    if ph is not None and ph["violated"].any():
        bad = ph[ph["violated"]].merge(report.cox.hazard_ratios[["term", "level"]], on="term",
                                       how="left")
        sep = "、" if language == "zh" else ", "
        names = sep.join(terms(bad, language))
        if report.cox_stratified is not None:
            remedy = t("ph_stratified", language, covariates=sep.join(
                word(c, language, escape=escape_md, prose=True)
                for c in report.cox_stratified.strata))
        else:
            remedy = t("ph_average", language)
        out.append(t("ph", language, terms=names, remedy=remedy))
    return out


def render_note(report: ChurnReport, section: str, language: str = "zh") -> str:
    """One plain sentence saying why ``section`` is empty ("" when it has content).

    Sections: km, segments, censoring, cox, ph, landmark, participation, truth, risk, and the
    names of :func:`reader_table`.
    """
    check_language(language)
    from .._i18n import Note
    from ._messages import NOTES

    keys = _SECTIONS[section]
    note = next((n for n in report.notes if getattr(n, "key", None) in keys), None)
    if note is None and section == "truth" and report.truth is None:
        note = Note(NOTES, "no_truth")
    if note is None and section == "stratified" and report.cox is not None \
            and report.cox_stratified is None:
        note = Note(NOTES, "no_stratified")
    if note is None:
        return ""
    text = note.text(language, escape=escape_md)
    return (text[:1].upper() + text[1:] + ".") if language == "en" else text + "。"
