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
                       number, pct, pvalue)
from ._messages import HEADERS, SUMMARY, WORDS, word
from .report import ChurnReport

__all__ = ["render_summary", "render_note", "reader_table", "plot_text", "forest_rows",
           "plot_escape", "term_label"]

_METHODS = {"en": {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"},
            "zh": {"holm": "Holm", "bh": "BH", "none": "不做"}}
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


def plot_escape(text) -> str:
    """A data string as literal matplotlib text (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _signed(v, digits: int = 1) -> str:
    s = f"{float(v):+.{digits}f}"
    return s.replace("-0.0", "0.0").replace("+0.0", "0.0") if float(f"{v:.{digits}f}") == 0 else s


def _p(p, language: str) -> str:
    text = pvalue(p, language)
    return text if text[:1] in "<>" else f"= {text}"


def _ci_label(language: str) -> str:
    return "95% CI" if language == "en" else "95% 置信区间"


def term_label(covariate, level, language: str = "en", escape=escape_md) -> str:
    """A model term in words: 'Channel: 社交广告', '经邀请入群' (never ``channel[社交广告]``)."""
    name = word(covariate, language, escape=escape)
    if level is None or is_missing(level):
        return name
    return f"{name}{WORDS.t('level_sep', language)}{escape(level)}"


def _terms(table: pd.DataFrame, language: str, escape=escape_md) -> list[str]:
    return [term_label(c, lev, language, escape) for c, lev in
            table[["covariate", "level"]].itertuples(index=False)]


def _hr(r, language: str) -> str:
    return interval(r["hazard_ratio"], r["ci_low"], r["ci_high"], number, language=language,
                    digits=2)


def _baseline(report: ChurnReport, model, language: str, escape=escape_md) -> str:
    levels = [SUMMARY.t("baseline_level", language, covariate=word(c, language, escape=escape),
                        level=escape(v)) for c, v in (model.baselines or {}).items()
              if c in model.covariates]
    if not levels:
        return SUMMARY.t("baseline_plain", language)
    sep = "; " if language == "en" else "；"
    return SUMMARY.t("baseline_levels", language, levels=sep.join(levels))


# ----------------------------------------------------------------------------- summary
def render_summary(report: ChurnReport, language: str = "zh") -> str:
    """The executive summary of report 02 as Markdown, in ``language`` ("zh" or "en").

    Examples
    --------
    >>> from helpers import synth
    >>> from helpers.survival import churn_report
    >>> tables, truth = synth.generate(n_members=400, days=90, seed=3)
    >>> rep = churn_report(tables["members"], tables["events"])
    >>> print(render_summary(rep, "zh").splitlines()[0])
    ## 结论摘要
    """
    check_language(language)
    t = SUMMARY.t
    st, c = report.settings, report.counts
    inact = number(st.inactivity_days, 0, language)
    lines = [t("title", language), ""]
    key = "counted" if c["left"] else "counted_noleft"
    lines.append("- " + t(key, language, end=date(report.observed_until, language, prose=True),
                          joined=count(c["joined"]), left=count(c["left"]),
                          current=count(c["current"]), silent=count(c["silent"]),
                          recent=count(c["recent"]), inactivity=inact))
    if c["analysed"]:
        key = "followed_detectable" if st.censoring == "detectable" else "followed_end"
        lines.append("- " + t(key, language, n=count(c["analysed"]), churned=count(c["churned"]),
                              share=pct(c["churned"] / c["analysed"], 0),
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
    ci = _ci_label(language)

    def span(r):
        return f"{ci} {_signed(r['ci_low'])} – {_signed(r['ci_high'])}"

    text = t("segments", language, segment=word(report.segment_col, language, escape=escape_md),
             horizon=number(report.settings.horizon_days, 0), reference=escape_md(
                 best["reference"]), rmst=number(best["rmst_reference"], 1),
             best=escape_md(best["group"]), best_diff=_signed(best["difference"]),
             best_ci=span(best), worst=escape_md(worst["group"]),
             worst_diff=_signed(worst["difference"]), worst_ci=span(worst))
    if best["group"] != worst["group"] and not (best["ci_low"] > worst["ci_high"]):
        text += (" " if language == "en" else "") + t("segments_overlap", language)
    lr = report.logrank
    if lr is not None:
        text += (" " if language == "en" else "") + t("logrank", language, statistic=f"{lr.statistic:.1f}", df=lr.df,
                        p=_p(lr.p_value, language), k=int(lr.pairwise["significant"].sum()),
                        m=len(lr.pairwise), method=_METHODS[language].get(lr.method, lr.method))
    return text


def _cox_line(report: ChurnReport, language: str) -> str:
    t = SUMMARY.t
    cox = report.cox
    hr = cox.hazard_ratios
    sig = hr[(hr["ci_low"] > 1) | (hr["ci_high"] < 1)]
    baseline = _baseline(report, cox, language)
    if sig.empty:
        return t("cox_none", language, baseline=baseline)
    items = []
    up, down = sig.loc[sig["hazard_ratio"].idxmax()], sig.loc[sig["hazard_ratio"].idxmin()]
    if up["hazard_ratio"] > 1:
        items.append(t("cox_up", language, term=term_label(up["covariate"], up["level"],
                                                           language), hr=_hr(up, language)))
    if down["hazard_ratio"] < 1:
        items.append(t("cox_down", language, term=term_label(down["covariate"], down["level"],
                                                             language), hr=_hr(down, language)))
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
    return t("participation", language, assoc=assoc, hr=_hr(tv, language), truth=truth,
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


def _driver_word(name: str, language: str) -> str:
    return SUMMARY.t("tenure", language) if name == "tenure" else word(name, language,
                                                                       escape=escape_md)


def _risk_line(report: ChurnReport, language: str) -> str | None:
    st = report.settings
    within = number(st.risk_active_within_days, 0)
    risk = report.risk
    if risk is None:
        return None
    scored = risk.dropna(subset=["churn_risk"])
    if scored.empty:
        return SUMMARY.t("risk_none", language, within=within)
    values = dict(n=count(len(scored)), within=within, horizon=number(st.risk_horizon_days, 0),
                  median=pct(scored["churn_risk"].median()),
                  high=count(int((scored["churn_risk"] >= 0.3).sum())))
    top = scored.head(20)
    firsts = []
    for _, r in top.iterrows():
        d = r["main_driver"]
        if d:
            level = r.get(d) if d in top.columns else None
            firsts.append((d, level if isinstance(level, str) else None))
    if not firsts:
        return SUMMARY.t("risk_nodriver", language, **values)
    (driver, level), n = pd.Series(firsts).value_counts().index[0], \
        int(pd.Series(firsts).value_counts().iloc[0])
    text = _driver_word(driver, language) if level is None else \
        term_label(driver, level, language)
    return SUMMARY.t("risk", language, **values, driver=text, driver_n=count(n),
                     top=count(len(top)))


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
        terms = sep.join(_terms(bad, language))
        if report.cox_stratified is not None:
            remedy = t("ph_stratified", language, covariates=sep.join(
                word(c, language, escape=escape_md) for c in report.cox_stratified.strata))
        else:
            remedy = t("ph_average", language)
        out.append(t("ph", language, terms=terms, remedy=remedy))
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


# ----------------------------------------------------------------------------- reader tables
def reader_table(report: ChurnReport, name: str, language: str = "zh") -> pd.DataFrame:
    """A table for reviewers: worded headers, numbers as text (%, days, "not reached").

    ``name``: status, survival, censoring, rmst, logrank, pairs, cox, ph, stratified, landmark,
    participation, truth, risk. An empty frame when the section was skipped (see
    :func:`render_note`). Data strings are left as written (``plots.show_table`` escapes them).
    """
    check_language(language)
    return _TABLES[name](report, language)


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
        _h("difference", language): [_signed(v) for v in rm["difference"]],
        _h("ci", language): [f"{_signed(lo)} – {_signed(hi)}" for lo, hi in
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
        _h("p_adj", language, method=_METHODS[language].get(lr.method, lr.method)):
            [pvalue(p) for p in pw["p_adjusted"]],
        _h("differs", language): [yes if s else no for s in pw["significant"]],
    })


def _hr_table(model, language):
    if model is None:
        return pd.DataFrame()
    hr = model.hazard_ratios
    return pd.DataFrame({_h("term", language): _terms(hr, language, escape=str),
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
    return pd.DataFrame({_h("term", language): _terms(m, language, escape=str),
                         _h("statistic", language): [f"{v:.2f}" for v in m["statistic"]],
                         _h("ph_p", language): [pvalue(p) for p in m["p_value"]],
                         _h("violated", language): [yes if v else no for v in m["violated"]]})


def _model_label(model: str, adjusted: bool, language: str, landmark_days: int) -> str:
    if model.startswith("naive"):
        text = WORDS.t("model_naive", language)
    elif model.startswith("landmark"):
        day = model.rsplit(" ", 1)[-1]
        text = WORDS.t("model_landmark", language, day=day if day.isdigit() else landmark_days)
    else:
        text = WORDS.t("model_tv", language)
    return text + (WORDS.t("adjusted", language) if adjusted else "")


def _participation(report, language):
    p = report.participation
    if p is None:
        return pd.DataFrame()
    out = pd.DataFrame({
        _h("model", language): [_model_label(m, a, language, 14) for m, a in
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
    return pd.DataFrame({_h("term", language): _terms(m, language, escape=str),
                         _h("hr", language): [number(v, 2) for v in m["hazard_ratio"]],
                         _h("ci", language): [f"{number(lo, 2)} – {number(hi, 2)}" for lo, hi in
                                              zip(m["ci_low"], m["ci_high"])],
                         _h("truth", language): [number(v, 2) for v in m["truth"]],
                         _h("covered", language): [yes if v else no for v in m["covers_truth"]]})


def _risk(report, language):
    risk = report.risk
    if risk is None or risk.empty:
        return pd.DataFrame()
    yes, no = WORDS.t("yes", language), WORDS.t("no", language)
    sep = "; " if language == "en" else "；"

    def reasons(row):
        parts = []
        for n, f in zip(row["drivers"][:2], row["driver_factors"][:2]):
            text = _driver_word_plain(n, language)
            value = row.get(n) if n in risk.columns else None
            if isinstance(value, str):
                text = f"{text}{WORDS.t('level_sep', language)}{value}"
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


def _driver_word_plain(name: str, language: str) -> str:
    return SUMMARY.t("tenure", language) if name == "tenure" else word(name, language)


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
        return pd.DataFrame({"label": _terms(hr, language, escape=str),  # plot_forest escapes
                             "hazard_ratio": hr["hazard_ratio"].to_numpy(),
                             "ci_low": hr["ci_low"].to_numpy(),
                             "ci_high": hr["ci_high"].to_numpy()})
    p = report.participation
    if p is None:
        return pd.DataFrame(columns=["label", "hazard_ratio", "ci_low", "ci_high"])
    out = pd.DataFrame({"label": [_model_label(m, a, language, 14) for m, a in
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
                      baseline=_baseline(report, model, language, escape=plot_escape))
        else:
            title = w("cox_title_plain", language)
        return dict(title=title, **common)
    p = report.participation
    n = 0 if p is None else p["model"].nunique()
    both = p is not None and p["adjusted"].nunique() == 2 and bool(report.covariates)
    title = w("part_title" if both else "part_title_one", language, n=n)
    return dict(title=title, **common)
