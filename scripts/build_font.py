#!/usr/bin/env python3
"""Build the subset TrueType font the certificate PDFs embed.

    python scripts/build_font.py SRC OUT.ttf [--font-number N] [--max-err E]
                                             [--ext-a]

SRC is Noto Serif SC / Noto Serif CJK (SIL OFL 1.1): either the single-face
``NotoSerifSC-Regular.otf`` / ``NotoSerifCJKsc-Regular.otf`` of the public
Noto CJK release (https://github.com/notofonts/noto-cjk), or the collection
``NotoSerifCJK-Regular.ttc`` that Debian ships in the ``fonts-noto-cjk``
package (the "Noto Serif CJK SC" face is picked automatically).

Why a conversion: ReportLab only embeds fonts with TrueType (``glyf``)
outlines, while Noto CJK is published with CFF outlines.  This script

1. subsets the font to the code points listed in ``RANGES`` below,
2. drops everything a PDF renderer does not need (hinting, layout tables,
   vertical metrics, glyph names),
3. converts the cubic CFF outlines into quadratic TrueType outlines with
   fontTools' cu2qu (the fontTools ``otf2ttf`` recipe),
4. renames the family to "Noto Serif SC Subset" (a Modified Version under
   the OFL) and writes OUT.

fontTools is needed only here, not at run time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

# (first, last) inclusive code point ranges kept in the subset.
RANGES: list[tuple[int, int]] = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement: · × ÷ ° § etc.
    (0x2010, 0x2027),  # general punctuation: — ‘ ’ “ ” … ‧ •
    (0x2030, 0x203B),  # ‰ ′ ″ ※
    (0x2103, 0x2103),  # ℃
    (0x2116, 0x2116),  # №
    (0x2160, 0x216B),  # Roman numerals Ⅰ-Ⅻ
    (0x2460, 0x2473),  # circled numbers ①-⑳
    (0x25A0, 0x25CF),  # ■ □ ▲ △ ○ ● etc.
    (0x2605, 0x2606),  # ★ ☆
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs (incl. U+4E00-U+9FA5)
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms
]

# Optional (--ext-a): CJK Extension A, 6,592 rare ideographs occasionally met
# in personal names; adds about 3 MB to the output.
EXT_A: tuple[int, int] = (0x3400, 0x4DBF)

FAMILY = "Noto Serif SC Subset"
PS_NAME = "NotoSerifSC-Subset"


def codepoints(*, ext_a: bool = False) -> set[int]:
    cps: set[int] = set()
    for first, last in RANGES + ([EXT_A] if ext_a else []):
        cps.update(range(first, last + 1))
    return cps


def open_source(path: str, font_number: int | None) -> TTFont:
    if path.lower().endswith((".ttc", ".otc")):
        if font_number is None:
            names = [f["name"].getDebugName(1) or "" for f in TTCollection(path, lazy=True).fonts]
            matches = [i for i, n in enumerate(names) if n.endswith(" SC")]
            if not matches:
                sys.exit(f"no SC face in {path}: {names}; pass --font-number")
            font_number = matches[0]
        return TTFont(path, fontNumber=font_number)
    return TTFont(path)


def subset_font(font: TTFont, cps: set[int]) -> None:
    options = subset.Options()
    options.layout_features = []  # ReportLab does no shaping
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG", "meta"]
    options.hinting = False
    options.desubroutinize = True
    options.glyph_names = False
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    options.name_languages = [0x409]
    options.prune_unicode_ranges = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=cps)
    sub.subset(font)


def cff_to_glyf(font: TTFont, max_err: float) -> None:
    """Replace CFF outlines by quadratic TrueType ones (fontTools otf2ttf)."""
    if "CFF " not in font:
        return
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, max_err, reverse_direction=True))
        glyphs[name] = tt_pen.glyph()

    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    glyf.compile(font)

    # left side bearings must equal xMin for TrueType outlines
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        advance = hmtx.metrics[name][0]
        hmtx.metrics[name] = (advance, getattr(glyph, "xMin", 0))

    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
    ):
        setattr(maxp, attr, 0)
    maxp.maxComponentElements = 0
    maxp.compile(font)

    post = font["post"]
    post.formatType = 3.0  # no glyph names: smaller, and unused by PDFs
    post.extraNames = []
    post.mapping = {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont) -> None:
    name = font["name"]
    version = name.getDebugName(5) or ""
    for rec in list(name.names):
        if rec.nameID in (1, 4, 16, 17, 21, 22):
            name.removeNames(nameID=rec.nameID)
    name.setName(FAMILY, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{version.split(';')[0]};{PS_NAME}", 3, 3, 1, 0x409)
    name.setName(FAMILY, 4, 3, 1, 0x409)
    name.setName(PS_NAME, 6, 3, 1, 0x409)
    name.setName(
        "Subset of Noto Serif CJK SC, CFF outlines converted to TrueType; built by scripts/build_font.py",
        10,
        3,
        1,
        0x409,
    )
    # Mac-platform records would only duplicate the above
    name.names = [r for r in name.names if r.platformID == 3]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="source Noto Serif SC / CJK .otf or .ttc")
    ap.add_argument("out", help="output .ttf")
    ap.add_argument("--font-number", type=int, default=None, help="face index in a .ttc (default: the SC face)")
    ap.add_argument("--max-err", type=float, default=1.0, help="cu2qu tolerance in font units (em = 1000)")
    ap.add_argument("--ext-a", action="store_true", help="also keep CJK Extension A (U+3400-U+4DBF)")
    args = ap.parse_args(argv)

    font = open_source(args.src, args.font_number)
    cps = codepoints(ext_a=args.ext_a)
    subset_font(font, cps)
    cff_to_glyf(font, args.max_err)
    rename(font)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # keep the source's date: reproducible output
    font.save(out)

    check = TTFont(out)
    cmap = check.getBestCmap()
    missing = sorted(c for c in range(0x4E00, 0x9FA6) if c not in cmap)
    print(
        f"{out}: {out.stat().st_size:,} bytes, {len(check.getGlyphOrder())} "
        f"glyphs, {len(cmap)} mapped code points; "
        f"U+4E00-U+9FA5 missing: {len(missing)}"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
