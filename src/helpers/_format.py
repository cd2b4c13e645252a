"""Shared formatters for reviewer text: numbers, intervals, p-values, dates, and escaping.

Every renderer (the ``*_report`` modules' ``render_*`` functions, ``plots.show_table``, the
batch index) formats through these functions, so a number reads the same in every report and in
both languages, and every string that comes from the data is escaped in one place.

Conventions (GLOSSARY.zh.md): percentages with one decimal (38.9%); thousands separators
(12,345); p-values below 0.001 written "< 0.001"; probabilities above 99.9% written "> 99.9%";
intervals "38.9% (95% CI 36.1%–41.8%)"; infinite durations "not reached" / "未达到"; missing
values "n/a" / "无". Dates 2026-08-17 in tables, 2026年8月17日 in Chinese prose.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd

LANGUAGES: tuple[str, ...] = ("zh", "en")
_NA = {"en": "n/a", "zh": "无"}
_NOT_REACHED = {"en": "not reached", "zh": "未达到"}
_CI = {"en": "95% CI", "zh": "95% 置信区间"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~<>$])")


def check_language(language: str) -> str:
    """Return ``language`` or raise ParameterError unless it is "zh" or "en"."""
    if language not in LANGUAGES:
        from .errors import ParameterError

        raise ParameterError(f"language={language!r} is not available; use 'zh' (中文) or 'en'")
    return language


def is_missing(v) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- escaping
def escape_html(text) -> str:
    """Text from the data as HTML text (``<``, ``>``, ``&``, quotes escaped)."""
    return html.escape(str(text), quote=True)


def escape_md(text) -> str:
    """Text from the data as Markdown *and* HTML text: shown as written, never as markup.

    Markdown punctuation (``* _ | $ [ ]`` …) is backslash-escaped and ``< > &`` become
    entities, so a channel named ``<img onerror=…>`` or ``**VIP**`` displays as typed.
    Leading/trailing spaces are kept as non-breaking spaces.

    Examples
    --------
    >>> escape_md("<b>VIP</b>_1")
    '&lt;b&gt;VIP&lt;/b&gt;\\\\_1'
    """
    s = str(text)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace("&", "&amp;").replace("\\<", "&lt;").replace("\\>", "&gt;")
    s = s.replace('"', "&quot;")
    stripped = s.strip(" ")
    if stripped != s:
        lead = len(s) - len(s.lstrip(" "))
        trail = len(s) - len(s.rstrip(" "))
        s = "&nbsp;" * lead + stripped + "&nbsp;" * trail
    return s


# ----------------------------------------------------------------------------- numbers
def na(language: str = "en") -> str:
    return _NA[language]


def number(v, digits: int = 0, language: str = "en") -> str:
    """12,345 / 3.14; missing → n/a; infinite → not reached."""
    if is_missing(v):
        return _NA[language]
    v = float(v)
    if math.isinf(v):
        return _NOT_REACHED[language]
    if digits == 0:
        v = round(v)
        if v == 0:
            v = 0  # no "-0"
    return f"{v:,.{digits}f}"


def count(v, language: str = "en") -> str:
    """An integer count with thousands separators."""
    return number(v, 0, language)


def pct(v, digits: int = 1, language: str = "en", signed: bool = False) -> str:
    """A share in [0, 1] as a percentage: 0.389 → '38.9%'."""
    if is_missing(v):
        return _NA[language]
    v = float(v)
    if math.isinf(v):
        return _NOT_REACHED[language]
    s = f"{100 * v:+.{digits}f}%" if signed else f"{100 * v:.{digits}f}%"
    return s.replace("-0.0%", "0.0%").replace("+-", "-")


def pp(v, digits: int = 1, language: str = "en") -> str:
    """A difference of two shares in percentage points: 0.021 → '+2.1 pp' / '+2.1 个百分点'."""
    if is_missing(v):
        return _NA[language]
    unit = " pp" if language == "en" else " 个百分点"
    return f"{100 * float(v):+.{digits}f}{unit}"


def pvalue(p, language: str = "en") -> str:
    """p-values: '< 0.001' below 0.001, three decimals otherwise ('0.042')."""
    if is_missing(p):
        return _NA[language]
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    if p > 0.999:
        return "> 0.999"
    return f"{p:.3f}"


def probability(p, language: str = "en") -> str:
    """A probability as a percentage, clipped in words: '> 99.9%', '< 0.1%'."""
    if is_missing(p):
        return _NA[language]
    p = float(p)
    if p > 0.999:
        return "> 99.9%"
    if p < 0.001:
        return "< 0.1%"
    return f"{100 * p:.1f}%"


def days(v, digits: int = 1, language: str = "en") -> str:
    """A duration in days: '12.5 days' / '12.5 天'; infinite → not reached."""
    if is_missing(v):
        return _NA[language]
    if math.isinf(float(v)):
        return _NOT_REACHED[language]
    text = number(v, digits, language)
    if language == "zh":
        return f"{text} 天"
    return f"{text} day" if text == "1" else f"{text} days"


def interval(est, lo, hi, fmt=pct, *, language: str = "en", level: float = 0.95,
             label: bool = True, **kw) -> str:
    """An estimate with its interval: '38.9% (95% CI 36.1%–41.8%)'.

    ``fmt`` formats each of the three numbers (``pct``, ``number``, ``days`` …) with ``kw``.
    ``label=False`` is for table cells whose column header names the interval once
    ("Effect (95% CI)"): the bounds joined by a word, so signed bounds never meet a dash
    ('-0.6% (-4.6% to +3.3%)', '-0.6%（-4.6% 至 +3.3%）').

    Examples
    --------
    >>> interval(0.389, 0.361, 0.418)
    '38.9% (95% CI 36.1%–41.8%)'
    >>> interval(0.389, 0.361, 0.418, language="zh")
    '38.9%（95% 置信区间 36.1%–41.8%）'
    >>> interval(-0.006, -0.046, 0.033, language="zh", signed=True, label=False)
    '-0.6%（-4.6% 至 +3.3%）'
    """
    e = fmt(est, language=language, **kw)
    if is_missing(lo) or is_missing(hi):
        return e
    a, b = fmt(lo, language=language, **kw), fmt(hi, language=language, **kw)
    if not label:
        return f"{e}（{a} 至 {b}）" if language == "zh" else f"{e} ({a} to {b})"
    name = _CI[language] if abs(level - 0.95) < 1e-12 else (
        f"{level:.0%} CI" if language == "en" else f"{level:.0%} 置信区间")
    return f"{e}（{name} {a}–{b}）" if language == "zh" else f"{e} ({name} {a}–{b})"


def date(ts, language: str = "en", prose: bool = False) -> str:
    """A date: '2026-08-17' (tables), '2026年8月17日' in Chinese prose."""
    if is_missing(ts):
        return _NA[language]
    t = pd.Timestamp(ts)
    if prose and language == "zh":
        return f"{t.year}年{t.month}月{t.day}日"
    return f"{t:%Y-%m-%d}"


def overlap(lo_a, hi_a, lo_b, hi_b) -> bool:
    """True when two intervals overlap (then neither is called best)."""
    return not (hi_a < lo_b or hi_b < lo_a)


def finite_or_none(v):
    """A float, or None for missing/infinite values (for JSON-safe report objects)."""
    if is_missing(v):
        return None
    v = float(v)
    return None if not np.isfinite(v) else v
