"""Message catalogs for reviewer text: one catalog per renderer, one entry per sentence.

A renderer declares its catalog as a dict ``{"en": {key: template}, "zh": {key: template}}`` and
wraps it in :class:`Catalog`; ``cat.t(key, language, **values)`` fills ``str.format`` fields.
Values that come from the data must already be escaped (``_format.escape_md``) by the renderer.
A missing Chinese entry falls back to English only outside tests: :func:`Catalog.check` (called
by the tests for every catalog) fails when the two languages do not have the same keys and fields.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from ._format import LANGUAGES, check_language


class Catalog:
    """The messages of one renderer in every language.

    Examples
    --------
    >>> cat = Catalog({"en": {"hi": "{n:,} members"}, "zh": {"hi": "{n:,} 名成员"}})
    >>> cat.t("hi", "zh", n=1200)
    '1,200 名成员'
    """

    def __init__(self, messages: Mapping[str, Mapping[str, str]], name: str = ""):
        self.messages = {lang: dict(messages.get(lang, {})) for lang in LANGUAGES}
        self.name = name

    def t(self, key: str, language: str = "en", /, **values) -> str:
        """The message ``key`` in ``language`` with ``values`` filled in."""
        check_language(language)
        table = self.messages[language]
        template = table.get(key, self.messages["en"].get(key))
        if template is None:
            raise KeyError(f"no message {key!r} in catalog {self.name or '(unnamed)'}")
        return template.format(**values) if values else template

    def keys(self, language: str = "en") -> set[str]:
        return set(self.messages[language])

    def check(self) -> list[str]:
        """Problems: keys present in one language only, or different placeholder fields."""
        problems = []
        en, zh = self.messages["en"], self.messages["zh"]
        for k in sorted(set(en) ^ set(zh)):
            problems.append(f"{self.name}: {k!r} only in {'en' if k in en else 'zh'}")
        for k in sorted(set(en) & set(zh)):
            if _fields(en[k]) != _fields(zh[k]):
                problems.append(f"{self.name}: {k!r} has fields {_fields(en[k])} in en, "
                                f"{_fields(zh[k])} in zh")
        return problems


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


class Note(str):
    """A caveat or reason as data: a catalog message and its values, usable as plain text.

    The ``str`` value is the English text (what an analyst sees in ``warnings`` and what
    ``in``/``join`` work on); a renderer calls :meth:`text` for the report's language. Values:
    a ``str`` is a name from the data (escaped by :meth:`text` with ``escape``), a number is
    formatted by the template, a callable ``f(language) -> str`` is text the code wrote itself
    (a formatted interval, a translated label) and is not escaped; a list or tuple is several
    of these, joined with ", " (en) or "、" (zh).

    Examples
    --------
    >>> cat = Catalog({"en": {"k": "arm {arm} has {n:,} members"},
    ...                "zh": {"k": "{arm} 组有 {n:,} 名成员"}})
    >>> n = Note(cat, "k", arm="<b>", n=1200)
    >>> str(n), n.text("zh", escape=lambda s: s.replace("<", "&lt;"))
    ('arm <b> has 1,200 members', '&lt;b> 组有 1,200 名成员')
    """

    def __new__(cls, catalog: Catalog, key: str, /, **values):
        self = super().__new__(cls, catalog.t(key, "en", **_filled(values, "en", None)))
        self.catalog, self.key, self.values = catalog, key, values
        return self

    def __getnewargs_ex__(self):
        return (self.catalog, self.key), self.values

    def text(self, language: str = "en", escape=None) -> str:
        """The message in ``language``; data strings passed through ``escape`` when given."""
        return self.catalog.t(self.key, language, **_filled(self.values, language, escape))


def _filled(values: Mapping, language: str, escape) -> dict:
    def one(v):
        if callable(v):
            return v(language)
        if isinstance(v, str) and escape is not None:
            return escape(v)
        return v

    sep = "、" if language == "zh" else ", "
    out = {}
    for k, v in values.items():
        # several names (a list or tuple): each escaped, joined with the language's separator
        out[k] = sep.join(str(one(i)) for i in v) if isinstance(v, (list, tuple)) else one(v)
    return out
