"""Wording shared by the survival renderers (summary and reader views): model terms in words,
signed numbers, p-values, baselines, method names. Internal to ``helpers.survival``."""

from __future__ import annotations

import pandas as pd

from .._format import escape_md, interval, is_missing, number, pvalue
from ._messages import SUMMARY, WORDS, word

METHODS = {"en": {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"},
            "zh": {"holm": "Holm", "bh": "BH", "none": "不做"}}


def plot_escape(text) -> str:
    """A data string as literal matplotlib text (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def signed(v, digits: int = 1) -> str:
    s = f"{float(v):+.{digits}f}"
    return s.replace("-0.0", "0.0").replace("+0.0", "0.0") if float(f"{v:.{digits}f}") == 0 else s


def p_text(p, language: str) -> str:
    text = pvalue(p, language)
    return text if text[:1] in "<>" else f"= {text}"


def ci_label(language: str) -> str:
    return "95% CI" if language == "en" else "95% 置信区间"


def term_label(covariate, level, language: str = "en", escape=escape_md) -> str:
    """A model term in words: 'Channel: 社交广告', '经邀请入群' (never ``channel[社交广告]``)."""
    name = word(covariate, language, escape=escape)
    if level is None or is_missing(level):
        return name
    return f"{name}{WORDS.t('level_sep', language)}{escape(level)}"


def terms(table: pd.DataFrame, language: str, escape=escape_md) -> list[str]:
    return [term_label(c, lev, language, escape) for c, lev in
            table[["covariate", "level"]].itertuples(index=False)]


def hr_text(r, language: str) -> str:
    return interval(r["hazard_ratio"], r["ci_low"], r["ci_high"], number, language=language,
                    digits=2)


def baseline_text(report, model, language: str, escape=escape_md) -> str:
    levels = [SUMMARY.t("baseline_level", language, covariate=word(c, language, escape=escape),
                        level=escape(v)) for c, v in (model.baselines or {}).items()
              if c in model.covariates]
    if not levels:
        return SUMMARY.t("baseline_plain", language)
    sep = "; " if language == "en" else "；"
    return SUMMARY.t("baseline_levels", language, levels=sep.join(levels))


def model_label(model: str, adjusted: bool, language: str, landmark_days: int) -> str:
    if model.startswith("naive"):
        text = WORDS.t("model_naive", language)
    elif model.startswith("landmark"):
        day = model.rsplit(" ", 1)[-1]
        text = WORDS.t("model_landmark", language, day=day if day.isdigit() else landmark_days)
    else:
        text = WORDS.t("model_tv", language)
    return text + (WORDS.t("adjusted", language) if adjusted else "")


def driver_label(name: str, value, average, language: str, escape=None) -> str:
    """One risk driver in words, in the direction of the member's own value.

    A driver raises the member's risk against the average member, so its words follow the
    member's value: ``participated`` at 0 reads "has not taken part" (the term lowers the
    hazard, so not having taken part is what raises it), a 0/1 covariate at 1 reads as its
    name, a level as "Channel: 社交广告", any other number as above or below average.
    """
    if name == "tenure":
        return SUMMARY.t("tenure", language)
    plain = word(name, language, escape=escape)
    if isinstance(value, str):
        esc = escape if escape is not None else (lambda v: v)
        return f"{plain}{WORDS.t('level_sep', language)}{esc(value)}"
    if value is None or is_missing(value):
        return plain
    v = float(value)
    binary = v in (0.0, 1.0) and (average is None or 0.0 <= float(average) <= 1.0)
    if binary:
        low = v == 0.0
        if not low:
            return plain
    else:
        low = average is not None and v < float(average)
    key = f"{name}_{'low' if low else 'high'}"
    if key in WORDS.keys(language):
        return WORDS.t(key, language)
    return WORDS.t("below_average" if low else "above_average", language, term=plain)


def risk_averages(risk: pd.DataFrame, drivers) -> dict:
    """The scored members' mean of each numeric driver column (the risk list centres on it)."""
    out = {}
    for n in drivers:
        if n in risk.columns and n not in out:
            col = risk[n]
            if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
                out[n] = float(pd.to_numeric(col, errors="coerce").astype(float).mean())
    return out
