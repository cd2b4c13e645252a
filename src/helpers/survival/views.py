"""Reader views of a ChurnReport: tables with worded headers and formatted numbers, plot rows
and plot text in the report's language (the summary and notes are in :mod:`.render`).

Data strings in tables are left as written (``plots.show_table`` escapes them); plot labels are
drawn literally by the plot functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._format import check_language, count, days, interval, is_missing, number, pct, pvalue
from ..errors import ParameterError
from ._messages import HEADERS, WORDS, word
from ._text import (METHODS, baseline_text, driver_label, model_label, plot_escape, risk_averages,
                    signed, terms)
from .report import ChurnReport

__all__ = ["reader_table", "forest_rows", "plot_text"]


def reader_table(report: ChurnReport, name: str, language: str = "zh", *,
                 rows: int | None = None) -> pd.DataFrame:
    """A table for reviewers: worded headers, numbers as text (%, days, "not reached").

    ``name``: status, survival, censoring, rmst, logrank, pairs, cox, ph, stratified, landmark,
    participation, truth, risk. An empty frame when the section was skipped (see
    :func:`render_note`). Data strings are left as written (``plots.show_table`` escapes them).
    ``rows`` keeps the first rows only; the risk list is then worded for those rows alone (it
    holds every scored member: 5 million at 10,000,000 members, minutes of text for a table
    that shows 20), with the averages its reasons compare to still over all scored members.
    """
    check_language(language)
    if rows is not None and not (isinstance(rows, (int, np.integer)) and rows >= 0):
        raise ParameterError(f"rows must be a whole number >= 0 or None, got {rows!r}")
    if name == "risk":
        return _risk(report, language, rows)
    table = _TABLES[name](report, language)
    return table if rows is None else table.head(rows)


def _h(key: str, language: str, **kw) -> str:
    return HEADERS.t(key, language, **kw)


def _status(report, language):
    inact = number(report.settings.inactivity_days, 0)
    ct = report.churn
    if ct.empty:
        return pd.DataFrame()
    reasons = ct["churn_reason"].astype(str)
    rows = [(WORDS.t("reason_exit", language), int((reasons == "exit").sum())),
            (WORDS.t("reason_inactivity", language, inactivity=inact),
             int((reasons == "inactivity").sum())),
            (WORDS.t("reason_censored", language), int((reasons == "censored").sum()))]
    n = max(len(ct), 1)
    return pd.DataFrame({_h("status", language): [r[0] for r in rows],
                         _h("members", language): [count(r[1]) for r in rows],
                         _h("share", language): [pct(r[1] / n) for r in rows]})


def _surv_cells(s: pd.DataFrame, group, language):
    sub = s[s["group"] == group]
    med = sub[sub["quantity"] == "median_days"].iloc[0]
    cells = {_h("median", language): interval(med["estimate"], med["ci_low"], med["ci_high"],
                                              days, language=language, digits=0)}
    for r in sub[sub["quantity"] == "survival"].itertuples(index=False):
        head = _h("after", language, day=number(r.time, 0))
        cells[head] = (interval(r.estimate, r.ci_low, r.ci_high, pct, language=language)
                       if not is_missing(r.estimate) else "—")
    return cells


def _survival(report, language):
    s = report.by_segment
    if s is None:
        return pd.DataFrame()
    rows = []
    for g in dict.fromkeys(s["group"]):
        label = WORDS.t("all", language) if report.segment_col is None else str(g)
        n = int(s.loc[s["group"] == g, "n"].iloc[0])
        rows.append({_h("segment", language): label, _h("members", language): count(n),
                     **_surv_cells(s, g, language)})
    return pd.DataFrame(rows)


def _censoring(report, language):
    c = report.censoring
    if c is None:
        return pd.DataFrame()
    rows = []
    for rule in ("detectable", "end"):
        sub = c[c["censoring"] == rule]
        row = {_h("rule", language): WORDS.t(f"rule_{rule}", language),
               _h("members", language): count(sub["members"].iloc[0]),
               _h("churned", language): count(sub["churned"].iloc[0])}
        for r in sub.itertuples(index=False):
            row[_h("after", language, day=number(r.time, 0))] = (
                interval(r.survival, r.ci_low, r.ci_high, pct, language=language)
                if not is_missing(r.survival) else "—")
        rows.append(row)
    return pd.DataFrame(rows)


def _rmst(report, language):
    rm = report.rmst
    if rm is None or rm.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        _h("segment", language): rm["group"].astype(str),
        _h("reference", language): rm["reference"].astype(str),
        _h("rmst", language): [number(v, 1) for v in rm["rmst"]],
        _h("rmst_ref", language): [number(v, 1) for v in rm["rmst_reference"]],
        _h("difference", language): [signed(v) for v in rm["difference"]],
        _h("ci", language): [f"{signed(lo)} – {signed(hi)}" for lo, hi in
                             zip(rm["ci_low"], rm["ci_high"])],
        _h("p", language): [pvalue(p) for p in rm["p_value"]],
    })


def _logrank(report, language):
    lr = report.logrank
    if lr is None:
        return pd.DataFrame()
    name = "log-rank test, all segments" if language == "en" else "对数秩检验（全部细分）"
    return pd.DataFrame({_h("test", language): [name],
                         _h("statistic", language): [f"{lr.statistic:.1f}"],
                         _h("df", language): [lr.df], _h("p", language): [pvalue(lr.p_value)]})


def _pairs(report, language):
    lr = report.logrank
    if lr is None:
        return pd.DataFrame()
    pw = lr.pairwise.sort_values("p_adjusted")
    yes, no = WORDS.t("yes", language), WORDS.t("no", language)
    return pd.DataFrame({
        _h("pair", language): [f"{a} – {b}" for a, b in zip(pw["group_a"], pw["group_b"])],
        _h("statistic", language): [f"{v:.1f}" for v in pw["statistic"]],
        _h("p", language): [pvalue(p) for p in pw["p_value"]],
        _h("p_adj", language, method=METHODS[language].get(lr.method, lr.method)):
            [pvalue(p) for p in pw["p_adjusted"]],
        _h("differs", language): [yes if s else no for s in pw["significant"]],
    })


def _hr_table(model, language):
    if model is None:
        return pd.DataFrame()
    hr = model.hazard_ratios
    return pd.DataFrame({_h("term", language): terms(hr, language, escape=str),
                         _h("hr", language): [number(v, 2) for v in hr["hazard_ratio"]],
                         _h("ci", language): [f"{number(lo, 2)} – {number(hi, 2)}" for lo, hi in
                                              zip(hr["ci_low"], hr["ci_high"])],
                         _h("p", language): [pvalue(p) for p in hr["p_value"]]})


def _ph(report, language):
    ph = report.ph
    if ph is None:
        return pd.DataFrame()
    m = ph.merge(report.cox.hazard_ratios[["term", "level"]], on="term", how="left")
    yes, no = WORDS.t("yes", language), WORDS.t("no", language)
    return pd.DataFrame({_h("term", language): terms(m, language, escape=str),
                         _h("statistic", language): [f"{v:.2f}" for v in m["statistic"]],
                         _h("ph_p", language): [pvalue(p) for p in m["p_value"]],
                         _h("violated", language): [yes if v else no for v in m["violated"]]})


def _participation(report, language):
    p = report.participation
    if p is None:
        return pd.DataFrame()
    out = pd.DataFrame({
        _h("model", language): [model_label(m, a, language, 14) for m, a in
                                zip(p["model"], p["adjusted"])],
        _h("hr", language): [number(v, 2) for v in p["hazard_ratio"]],
        _h("ci", language): [f"{number(lo, 2)} – {number(hi, 2)}" for lo, hi in
                             zip(p["ci_low"], p["ci_high"])],
        _h("p", language): [pvalue(v) for v in p["p_value"]]})
    if p["truth"].notna().any():
        yes, no = WORDS.t("yes", language), WORDS.t("no", language)
        out[_h("truth", language)] = [number(v, 2) for v in p["truth"]]
        out[_h("covered", language)] = [yes if v else no for v in p["covers_truth"]]
    return out


def _truth(report, language):
    tab = report.truth
    if tab is None or tab.empty:
        return pd.DataFrame()
    model = report.time_varying if report.time_varying is not None else report.cox
    m = tab.merge(model.hazard_ratios[["term", "covariate", "level"]], on="term", how="left")
    yes, no = WORDS.t("yes", language), WORDS.t("no", language)
    return pd.DataFrame({_h("term", language): terms(m, language, escape=str),
                         _h("hr", language): [number(v, 2) for v in m["hazard_ratio"]],
                         _h("ci", language): [f"{number(lo, 2)} – {number(hi, 2)}" for lo, hi in
                                              zip(m["ci_low"], m["ci_high"])],
                         _h("truth", language): [number(v, 2) for v in m["truth"]],
                         _h("covered", language): [yes if v else no for v in m["covers_truth"]]})


def _risk(report, language, rows=None):
    risk = report.risk
    if risk is None or risk.empty:
        return pd.DataFrame()
    yes, no = WORDS.t("yes", language), WORDS.t("no", language)
    sep = "; " if language == "en" else "；"

    averages = risk_averages(risk, {n for ds in risk["drivers"] for n in ds})
    if rows is not None:
        risk = risk.head(rows)

    def reasons(row):
        parts = []
        for n, f in zip(row["drivers"][:2], row["driver_factors"][:2]):
            value = row.get(n) if n in risk.columns else None
            text = driver_label(n, value, averages.get(n), language)
            parts.append(f"{text} ×{f:.1f}")
        return sep.join(parts) or "—"

    return pd.DataFrame({
        _h("key", language): risk["member_key"],
        _h("risk", language, horizon=number(report.settings.risk_horizon_days, 0)):
            [pct(v) if not is_missing(v) else "—" for v in risk["churn_risk"]],
        _h("tenure", language): [number(v, 0) for v in risk["tenure_days"]],
        _h("since", language): [number(v, 0) for v in risk["days_since_last_active"]],
        _h("drivers", language): [reasons(r) for _, r in risk.iterrows()],
        _h("lower_bound", language): [yes if v else no for v in risk["beyond_follow_up"]],
    })


_TABLES = {
    "status": _status, "survival": _survival, "censoring": _censoring, "rmst": _rmst,
    "logrank": _logrank, "pairs": _pairs, "cox": lambda r, lang: _hr_table(r.cox, lang),
    "ph": _ph, "stratified": lambda r, lang: _hr_table(r.cox_stratified, lang),
    "landmark": lambda r, lang: _hr_table(r.landmark_model, lang),
    "participation": _participation, "truth": _truth, "risk": _risk,
}



# ----------------------------------------------------------------------------- plots
def forest_rows(report: ChurnReport, which: str, language: str = "zh") -> pd.DataFrame:
    """Rows for ``plots.plot_forest``: ``label, hazard_ratio, ci_low, ci_high[, truth]``.

    ``which``: "cox" (the Cox model's terms, labelled in words) or "participation" (each method,
    unadjusted and adjusted). Empty when the section was skipped.
    """
    check_language(language)
    if which == "cox":
        if report.cox is None:
            return pd.DataFrame(columns=["label", "hazard_ratio", "ci_low", "ci_high"])
        hr = report.cox.hazard_ratios
        return pd.DataFrame({"label": terms(hr, language, escape=str),  # plot_forest escapes
                             "hazard_ratio": hr["hazard_ratio"].to_numpy(),
                             "ci_low": hr["ci_low"].to_numpy(),
                             "ci_high": hr["ci_high"].to_numpy()})
    p = report.participation
    if p is None:
        return pd.DataFrame(columns=["label", "hazard_ratio", "ci_low", "ci_high"])
    out = pd.DataFrame({"label": [model_label(m, a, language, 14) for m, a in
                                  zip(p["model"], p["adjusted"])],
                        "hazard_ratio": p["hazard_ratio"].to_numpy(),
                        "ci_low": p["ci_low"].to_numpy(), "ci_high": p["ci_high"].to_numpy()})
    if p["truth"].notna().any():
        out["truth"] = p["truth"].to_numpy()
    return out


def plot_text(report: ChurnReport, which: str, language: str = "zh") -> dict:
    """Keyword arguments of the plot functions (titles that say what is drawn, axis labels).

    ``which``: "km" (for ``plots.plot_km``), "cox" or "participation" (``plots.plot_forest``).
    """
    check_language(language)
    w = WORDS.t
    if which == "km":
        seg = report.segment_col
        title = w("km_title", language, segment=word(seg, language, escape=plot_escape)) \
            if seg else w("km_title_all", language)
        return dict(title=title, xlabel=w("km_x", language), ylabel=w("km_y", language),
                    at_risk_label=w("at_risk", language),
                    all_label=w("all", language))
    common = dict(xlabel=w("forest_x", language), estimate_label=w("estimate", language),
                  truth_label=w("truth", language))
    if which == "cox":
        model = report.cox
        if model is not None and any(c in model.covariates for c in model.baselines):
            title = w("cox_title", language,
                      baseline=baseline_text(report, model, language, escape=plot_escape))
        else:
            title = w("cox_title_plain", language)
        return dict(title=title, **common)
    p = report.participation
    n = 0 if p is None else p["model"].nunique()
    both = p is not None and p["adjusted"].nunique() == 2 and bool(report.covariates)
    title = w("part_title" if both else "part_title_one", language, n=n)
    return dict(title=title, **common)
