"""Fonts embedded in every page: subsets of Noto Sans CJK SC and DejaVu Sans as ``data:`` URIs,
so Chinese text renders without system fonts and without network."""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

from ._common import FONT_PLACEHOLDER

#: the family name of the embedded font subset (see ``templates/report.css``)
EMBEDDED_FONT_FAMILY = "Report Sans CJK"
SYMBOLS_FONT_FAMILY = "Report Symbols"


def _cjk_font_path_and_index() -> tuple[str, int]:
    """The packaged Noto Sans CJK collection and the index of its Simplified Chinese face."""
    from fontTools.ttLib import TTCollection
    from noto_cjk_sans_otc import FONT_PATH

    collection = TTCollection(str(FONT_PATH), lazy=True)
    for i, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return str(FONT_PATH), i
    return str(FONT_PATH), 2  # the documented position of the SC face


def _symbols_font_path() -> str:
    """DejaVu Sans, shipped with matplotlib: arrows, math and dingbats Noto Sans CJK lacks."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _subset_face(path: str, index: int, codepoints: set[int], family: str) -> str:
    """An ``@font-face`` rule with the glyphs of ``codepoints`` from one face, as a data: URI."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    # bounding boxes as in the full font: recomputing them from the outlines doubled the time
    font = TTFont(path, fontNumber=index, lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    options = subset.Options()
    options.hinting = False
    # horizontal text needs no OpenType layout or vertical metrics: half the size, twice as fast
    options.layout_features = []
    # FFTM (a FontForge timestamp in DejaVu) is dropped too: fontTools cannot subset it and
    # would print "FFTM NOT subset" for every page
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG", "FFTM"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    fmt = "opentype" if "CFF " in font else "truetype"
    return (f'@font-face{{font-family:"{family}";src:url(data:font/{"otf" if fmt == "opentype" else "ttf"};'
            f'base64,{data}) format("{fmt}");font-display:block;}}')


def _is_drawn(ch: str) -> bool:
    """Whether a character needs a glyph (not a control, space, or default-ignorable mark)."""
    import unicodedata

    return not (unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn")
                or 0xFE00 <= ord(ch) <= 0xFE0F)


def embedded_fonts(text: str) -> tuple[str, list[str]]:
    """``@font-face`` rules embedding the glyphs ``text`` uses, and the characters left without.

    Noto Sans CJK SC (the packaged font, ``Report Sans CJK``) draws Latin and Chinese; DejaVu
    Sans (shipped with matplotlib, ``Report Symbols``) draws arrows and symbols it lacks. Both
    are subset with fontTools to the characters of ``text`` (plus printable ASCII) and embedded
    as ``data:`` URIs, so the page needs no system font and no network.

    Returns
    -------
    (str, list of str)
        The CSS, and the characters neither font has (e.g. colour emoji such as ✅): they are
        drawn as boxes where the reader has no font for them.

    Examples
    --------
    >>> css, missing = embedded_fonts("留存率 ✅")
    >>> css.startswith('@font-face{font-family:"Report Sans CJK"'), missing
    (True, ['✅'])
    """
    path, index = _cjk_font_path_and_index()
    noto, dejavu = glyph_coverage()
    wanted = {ord(c) for c in text if ord(c) >= 0x80 and _is_drawn(c)}
    rest = wanted - noto
    rules = [_subset_face(path, index, (wanted - rest) | set(range(0x20, 0x7F)),
                         EMBEDDED_FONT_FAMILY)]
    if rest & dejavu:
        rules.append(_subset_face(_symbols_font_path(), 0, rest & dejavu, SYMBOLS_FONT_FAMILY))
    return "\n".join(rules), [chr(c) for c in sorted(rest - dejavu)]


@functools.cache
def glyph_coverage() -> tuple[frozenset[int], frozenset[int]]:
    """Code points of the two embedded fonts (Noto Sans CJK SC, DejaVu Sans)."""
    from fontTools.ttLib import TTFont

    path, index = _cjk_font_path_and_index()
    noto = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
    dejavu = TTFont(_symbols_font_path(), lazy=True).getBestCmap()
    return frozenset(noto), frozenset(dejavu)


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` that neither embedded font can draw (e.g. colour emoji).

    Examples
    --------
    >>> missing_glyphs("留存率 → ✅ ⚠️")
    ['✅']
    """
    noto, dejavu = glyph_coverage()
    return sorted({c for c in text if ord(c) >= 0x80 and _is_drawn(c)
                   and ord(c) not in noto and ord(c) not in dejavu})


def font_face_css(text: str) -> str:
    """The ``@font-face`` rules of :func:`embedded_fonts` (CSS only).

    Examples
    --------
    >>> font_face_css("留存率").startswith('@font-face{font-family:"Report Sans CJK"')
    True
    """
    return embedded_fonts(text)[0]


def embed_font(page: str) -> tuple[str, list[str]]:
    """Replace the font placeholder of a rendered page by subsets of the characters it uses.

    Returns the page and the characters no embedded font can draw.
    """
    css, missing = embedded_fonts(page)
    return page.replace(FONT_PLACEHOLDER, css, 1), missing

