"""Continuing-education certificates (继续教育证书) as PDF (SPEC §6).

Independent of Flask: the template is rendered with a plain Jinja2
environment on the project's ``templates/`` folder, and the PDF is made with
xhtml2pdf.  Public API::

    render_certificates(certs, *, verify_url_base) -> bytes
    render_certificates_to(fileobj, certs, *, verify_url_base, chunk=100,
                           progress=None) -> int          # pages written
    missing_glyphs(text) -> set[str]
    register_font() -> str                                # reportlab name

Each certificate is a mapping with the keys ``number``, ``verify_code``,
``name``, ``id_number_masked``, ``unit_name``, ``years``, ``public_hours``,
``professional_hours``, ``total_hours``, ``issuer``, ``issue_date`` (a date)
and ``verify_url`` (what the QR code encodes; when it is missing it is built
from ``verify_url_base``).  Names and unit names are untrusted: the template
autoescapes them and the resource callback only serves this module's own
images (see ``_AssetGate``).

The font is a TrueType subset of Noto Serif SC (see ``fonts/README.md``),
registered with ReportLab once per process.  Run ``python -m backoffice.pdf
sample.pdf`` to render a sample, ``python -m backoffice.pdf --assets`` to
redraw ``static/cert/border.png``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import logging
import math
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image, ImageDraw, ImageFont
from reportlab import rl_config
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
TEMPLATE_NAME = "certificate/certificate.html"
FONT_PATH = PACKAGE_DIR / "fonts" / "NotoSerifSC-Subset.ttf"
STATIC_CERT_DIR = PACKAGE_DIR / "static" / "cert"

#: ReportLab font name, and the CSS font-family the template uses.
FONT_NAME = "NotoSerifSC"
CSS_FAMILY = "notoserifsc"

DEFAULT_CHUNK = 100
SEAL_COLOUR = (200, 22, 29)

__all__ = [
    "FONT_NAME",
    "CertificateRenderError",
    "missing_glyphs",
    "register_font",
    "render_certificates",
    "render_certificates_to",
]

# ---------------------------------------------------------------------------
# Font
# ---------------------------------------------------------------------------

_font_lock = threading.Lock()
_font: TTFont | None = None
#: How many times the font file was read and registered: 1 per process.
font_registrations = 0


def register_font() -> str:
    """Register the embedded CJK font with ReportLab and xhtml2pdf, once.

    ReportLab gets a ``TTFont`` (embedded, subset per document); its bold and
    italic variants map to the same face, so ``<b>`` cannot fall back to a
    non-embedded font.  xhtml2pdf copies ``xhtml2pdf.default.DEFAULT_FONT``
    into every new document context, so adding the CSS family name there
    makes ``font-family: NotoSerifSC`` resolve without a per-document
    ``@font-face`` (which would re-read the 9 MB file on every render).
    """
    global _font, font_registrations
    if _font is not None:
        return FONT_NAME
    with _font_lock:
        if _font is None:
            font = TTFont(FONT_NAME, str(FONT_PATH))
            pdfmetrics.registerFont(font)
            for bold in (0, 1):
                for italic in (0, 1):
                    addMapping(FONT_NAME, bold, italic, FONT_NAME)
            # imported here: xhtml2pdf costs ~0.3 s and ~50 MB to import, so
            # importing this module stays cheap until a PDF is made
            from xhtml2pdf import default as x2p_default

            for alias in (CSS_FAMILY, "noto serif sc", "noto serif sc subset"):
                x2p_default.DEFAULT_FONT[alias] = FONT_NAME
            _extend_kinsoku()
            _keep_latin_runs_together()
            font_registrations += 1
            _font = font
    return FONT_NAME


#: Full-width punctuation that must not start a line (ReportLab's list
#: has the ideographic comma and full stop but not these).
_CANNOT_START_EXTRA = "，；：！？》〉」』”’）］｝〕〗】"


def _extend_kinsoku() -> None:
    """Teach xhtml2pdf's CJK line breaker not to start a line with a
    full-width comma etc. (it hangs the character in the margin instead)."""
    from xhtml2pdf import reportlab_paragraph as x2p_paragraph

    current = getattr(x2p_paragraph, "ALL_CANNOT_START", None)
    if isinstance(current, str):
        extra = "".join(ch for ch in _CANNOT_START_EXTRA if ch not in current)
        x2p_paragraph.ALL_CANNOT_START = current + extra


def _is_latin_word_char(ch: str) -> bool:
    """Digits, Latin letters and the marks inside a figure or code (17.5, 410105****0258)."""
    return ch.isascii() and (ch.isalnum() or ch in ".-*%")


def _cjk_frag_split(frags, maxWidths, calcBounds, encoding="utf8"):
    """xhtml2pdf's ``cjkFragSplit`` (one glyph at a time), except that a run of Latin
    letters and digits is not split across lines ("共计12 / 0学时"): the line ends
    before the run unless the run started the line. Full-width punctuation that
    cannot start a line still hangs in the margin as before."""
    from xhtml2pdf import reportlab_paragraph as rp

    glyphs = []
    for f in frags:
        text = f.text
        if not isinstance(text, str):
            text = text.decode(encoding)
        if text:
            glyphs.extend(rp.cjkU(t, f, encoding) for t in text)
        else:
            glyphs.append(rp.cjkU(text, f, encoding))

    lines = []
    start = 0
    used = 0.0
    max_width = maxWidths[0]
    i = 0
    while i < len(glyphs):
        u = glyphs[i]
        used += u.width
        if hasattr(u.frag, "lineBreak") or not (used > max_width + rp._FUZZ and used > 0):
            i += 1
            continue
        if u in rp.ALL_CANNOT_START:
            brk = i + 1  # hang it in the margin
        else:
            brk = i
            while brk > start and _is_latin_word_char(glyphs[brk]) and _is_latin_word_char(glyphs[brk - 1]):
                brk -= 1
            if brk == start:  # one run wider than the line: split it after all
                brk = i
        if brk == start:  # never an empty line
            brk = start + 1
        line_width = sum(g.width for g in glyphs[start:brk])
        lines.append(rp.makeCJKParaLine(glyphs[start:brk], max_width - line_width, calcBounds))
        try:
            max_width = maxWidths[len(lines)]
        except IndexError:
            max_width = maxWidths[-1]
        start = brk
        used = sum(g.width for g in glyphs[start:i + 1])
        i += 1
    if start < len(glyphs):
        line_width = sum(g.width for g in glyphs[start:])
        lines.append(rp.makeCJKParaLine(glyphs[start:], max_width - line_width, calcBounds))
    return rp.ParaLines(kind=1, lines=lines)


def _keep_latin_runs_together() -> None:
    from xhtml2pdf import reportlab_paragraph as x2p_paragraph

    x2p_paragraph.cjkFragSplit = _cjk_frag_split


def _font_cmap() -> Mapping[int, int]:
    register_font()
    assert _font is not None
    return _font.face.charToGlyph


def missing_glyphs(text: str) -> set[str]:
    """The characters of ``text`` the embedded font cannot draw.

    White space and invisible format/control characters are not reported.
    Works from ReportLab's parse of the font's cmap (no fontTools needed).
    """
    cmap = _font_cmap()
    return {
        ch
        for ch in set(text)
        if ord(ch) not in cmap and not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
    }


# ---------------------------------------------------------------------------
# Images: seal, QR code, border
# ---------------------------------------------------------------------------


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@lru_cache(maxsize=1)
def _blank_png_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGBA", (1, 1), (255, 255, 255, 0)).save(buf, "PNG")
    return _png_data_uri(buf.getvalue())


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


@lru_cache(maxsize=256)
def seal_png(issuer: str, size: int = 600) -> bytes:
    """A red round official-seal style stamp: ring, star, issuer on an arc.

    Drawn with Pillow in the embedded font; cached per issuer, so it is
    drawn once per process for each issuing authority.
    """
    scale = 2  # supersample, then reduce, for smooth edges
    s = size * scale
    img = Image.new("L", (s, s), 0)  # coverage mask
    draw = ImageDraw.Draw(img)
    c = s / 2
    ring = s * 0.035
    draw.ellipse((ring / 2, ring / 2, s - ring / 2, s - ring / 2), outline=255, width=round(ring))
    draw.polygon(_star(c, c, s * 0.17), fill=255)

    text = [ch for ch in issuer.strip() if not ch.isspace()][:24]
    if text:
        n = len(text)
        span = min(250.0, max(110.0, 19.0 * n))  # degrees of arc covered
        step = span / n
        font_px = s * 0.12
        for _ in range(4):  # size the characters to the arc they sit on
            radius = s / 2 - ring * 1.7 - font_px * 0.55
            font_px = min(s * 0.125, radius * math.radians(step) * 0.95)
        font = ImageFont.truetype(str(FONT_PATH), round(font_px))
        box = round(font_px * 1.6)
        for i, ch in enumerate(text):
            angle = -span / 2 + step * (i + 0.5)  # 0 = top, clockwise
            tile = Image.new("L", (box, box), 0)
            ImageDraw.Draw(tile).text(
                (box / 2, box / 2),
                ch,
                font=font,
                fill=255,
                anchor="mm",
                stroke_width=max(1, round(font_px / 30)),
                stroke_fill=255,
            )
            # seal lettering is tall and narrow
            narrow = round(box * 0.84)
            tile = tile.resize((narrow, box), Image.Resampling.LANCZOS)
            tile = tile.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
            rad = math.radians(angle)
            x = c + radius * math.sin(rad) - tile.width / 2
            y = c - radius * math.cos(rad) - tile.height / 2
            img.paste(255, (round(x), round(y)), tile)

    mask = img.resize((size, size), Image.Resampling.LANCZOS)
    mask = mask.point(lambda v: round(v * 0.88))  # a little ink translucency
    out = Image.new("RGBA", (size, size), (*SEAL_COLOUR, 0))
    out.putalpha(mask)
    buf = io.BytesIO()
    # ReportLab decodes and recompresses it anyway: favour speed
    out.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def qr_png_uri(url: str) -> str:
    """The QR code (error correction M) of ``url`` as a PNG data URI."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=0, dark="#1a1a1a")


def draw_border_png(width_pt: int = 842, height_pt: int = 595, px_per_pt: int = 2) -> bytes:
    """The decorative page border (static asset ``static/cert/border.png``)."""
    k = px_per_pt * 2  # supersampled
    w, h = width_pt * k, height_pt * k
    red, gold = (150, 28, 30), (186, 142, 62)
    paper = (255, 253, 247)
    img = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(img)

    def rect(inset: float, colour, width: float) -> None:
        i = inset * k
        d.rectangle((i, i, w - i, h - i), outline=colour, width=round(width * k))

    # faint guilloche in the field
    field = (60 * k, 60 * k, w - 60 * k, h - 60 * k)
    tint = (246, 236, 214)
    for j in range(14):
        pts = []
        for xi in range(field[0], field[2] + 1, 4):
            t = (xi - field[0]) / (field[2] - field[0])
            y = field[1] + (field[3] - field[1]) * (j + 0.5) / 14 + 9 * k * math.sin(2 * math.pi * (t * 6 + j * 0.15))
            pts.append((xi, y))
        d.line(pts, fill=tint, width=k // 2 or 1)

    rect(14, red, 4)
    rect(21, gold, 1)
    rect(44, gold, 1)
    rect(49, red, 1.5)

    # 回 motifs along the band between 21pt and 44pt
    band_in, band_out = 21.5, 43.5
    motif = band_out - band_in
    for side in ("top", "bottom", "left", "right"):
        length = (width_pt if side in ("top", "bottom") else height_pt) - 2 * band_out
        count = max(1, round(length / (motif * 1.25)))
        pitch = length / count
        for m in range(count):
            a = band_out + m * pitch + (pitch - motif * 0.8) / 2
            b = band_in + motif * 0.1
            size = motif * 0.8
            if side == "top":
                x0, y0 = a, b
            elif side == "bottom":
                x0, y0 = a, height_pt - b - size
            elif side == "left":
                x0, y0 = b, a
            else:
                x0, y0 = width_pt - b - size, a
            for f, wdt in ((0.0, 1.2), (0.3, 1.0)):
                inset = size * f
                d.rectangle(
                    ((x0 + inset) * k, (y0 + inset) * k, (x0 + size - inset) * k, (y0 + size - inset) * k),
                    outline=gold,
                    width=round(wdt * k),
                )
    # corner blocks
    for cx, cy in (
        (band_in, band_in),
        (width_pt - band_out, band_in),
        (band_in, height_pt - band_out),
        (width_pt - band_out, height_pt - band_out),
    ):
        d.rectangle((cx * k, cy * k, (cx + motif) * k, (cy + motif) * k), fill=red)
        mid = motif / 2
        d.polygon(
            [
                ((cx + mid) * k, (cy + 4) * k),
                ((cx + motif - 4) * k, (cy + mid) * k),
                ((cx + mid) * k, (cy + motif - 4) * k),
                ((cx + 4) * k, (cy + mid) * k),
            ],
            fill=gold,
        )

    img = img.resize((width_pt * px_per_pt, height_pt * px_per_pt), Image.Resampling.LANCZOS)
    img = img.quantize(colors=24, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Resource gate
# ---------------------------------------------------------------------------

_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.(?:png|jpg|jpeg)$")


class _AssetGate:
    """The xhtml2pdf ``link_callback`` of one render.

    Serves only (a) data: URIs this module produced for the render (QR codes,
    the seal) and (b) plain file names of files directly in
    ``backoffice/static/cert/``.  Anything else -- file:, http(s):, absolute
    or relative paths, ``..``, data: URIs from elsewhere -- is replaced by a
    transparent 1x1 PNG and logged.  A restrictive ``ResourceAccessPolicy``
    (no network, local reads confined to ``static/cert``) backs this up.
    """

    def __init__(self) -> None:
        self.allowed: set[str] = {_blank_png_uri()}
        self.refused: list[str] = []

    def allow(self, uri: str) -> str:
        self.allowed.add(uri)
        return uri

    def __call__(self, uri: Any, rel: Any = None) -> str:
        uri = str(uri or "")
        if uri in self.allowed:
            return uri
        if _ASSET_NAME.match(uri):
            path = (STATIC_CERT_DIR / uri).resolve()
            if path.parent == STATIC_CERT_DIR.resolve() and path.is_file():
                return str(path)
        self.refused.append(uri[:80])
        log.warning("certificate PDF: refused resource %r", uri[:80])
        return _blank_png_uri()


def _policy():
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    return ResourceAccessPolicy.server(
        STATIC_CERT_DIR,
        allow_remote=False,
        max_render_seconds=600,
        max_document_bytes=64 * 1024 * 1024,
    )


# ---------------------------------------------------------------------------
# Template
# ---------------------------------------------------------------------------


def _fmt_hours(value: Any) -> str:
    if value is None or value == "":
        return "0"
    if isinstance(value, (int, Decimal, float)):
        d = Decimal(str(value)).normalize()
        return format(d.quantize(Decimal(1)) if d == d.to_integral() else d, "f")
    return str(value)


def _fmt_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, str):
        try:
            return _fmt_date(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return str(value or "")


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _verify_url(cert: Mapping[str, Any], base: str) -> str:
    url = cert.get("verify_url")
    if url:
        return str(url)
    query = urlencode({"number": cert["number"], "code": cert["verify_code"]})
    return f"{base}{'&' if '?' in base else '?'}{query}"


def _text(value: Any) -> str:
    """A field as one line of text (None prints as nothing, not "None")."""
    return "" if value is None else " ".join(str(value).split())


def _prepare(cert: Mapping[str, Any], base: str, gate: _AssetGate) -> dict[str, Any]:
    url = _verify_url(cert, base)
    return {
        "number": _text(cert["number"]),
        "verify_code": _text(cert["verify_code"]),
        "name": _text(cert["name"]),
        "id_number_masked": _text(cert["id_number_masked"]),
        "unit_name": _text(cert["unit_name"]),
        "years": _text(cert["years"]),
        "public_hours": _fmt_hours(cert["public_hours"]),
        "professional_hours": _fmt_hours(cert["professional_hours"]),
        "total_hours": _fmt_hours(cert["total_hours"]),
        "issuer": _text(cert["issuer"]),
        "issue_date": _fmt_date(cert["issue_date"]),
        "verify_url": url,
        "qr_src": gate.allow(qr_png_uri(url)),
    }


_USER_FIELDS = ("name", "id_number_masked", "unit_name", "years", "issuer", "number", "verify_code")


def _warn_missing(prepared: list[dict[str, Any]]) -> set[str]:
    text = "".join(c[f] for c in prepared for f in _USER_FIELDS)
    missing = missing_glyphs(text)
    if missing:
        who = sorted({c["number"] for c in prepared if missing.intersection("".join(c[f] for f in _USER_FIELDS))})
        log.warning(
            "certificate PDF: the embedded font has no glyph for %s; they print blank (certificates %s)",
            ", ".join(f"{ch!r} U+{ord(ch):04X}" for ch in sorted(missing)),
            ", ".join(who[:10]) + (" ..." if len(who) > 10 else ""),
        )
    return missing


def render_html(certs: list[Mapping[str, Any]], *, verify_url_base: str, gate: _AssetGate | None = None) -> str:
    """The xhtml2pdf source (HTML) for ``certs``: one page each."""
    gate = gate or _AssetGate()
    prepared = [_prepare(c, verify_url_base, gate) for c in certs]
    _warn_missing(prepared)
    # one @page template per issuer: its seal is static page furniture
    seals: dict[str, dict[str, str]] = {}
    for c in prepared:
        seal = seals.get(c["issuer"])
        if seal is None:
            i = len(seals)
            seal = seals[c["issuer"]] = {
                "id": f"seal-{i}",
                "template": "body" if i == 0 else f"issuer{i}",
                "src": gate.allow(_png_data_uri(seal_png(c["issuer"]))),
            }
        c["template"] = seal["template"]
    return (
        _env()
        .get_template(TEMPLATE_NAME)
        .render(
            certs=prepared,
            seals=list(seals.values()),
            border_src="border.png",
            verify_url_base=verify_url_base,
            font_family=CSS_FAMILY,
        )
    )


class CertificateRenderError(RuntimeError):
    """xhtml2pdf reported errors while rendering certificates."""


@contextlib.contextmanager
def _render_settings():
    """ReportLab settings for the length of one certificate render.

    * Keep Helvetica out of the PDF: ReportLab opens every page with the
      canvas's initial font (``rl_config.canvas_basefontname``) selected,
      and xhtml2pdf hard-codes "Helvetica" for the text run that carries an
      inline ``<img>``.  No character is drawn in either, but each would
      leave an unembedded Helvetica in the font list, so the initial font
      is ours and the name "Helvetica" resolves to our font too.
    * ``useA85 = 0``: binary image streams instead of ASCII85, which
      ReportLab encodes in pure Python -- 15 % smaller, ~15 ms faster.

    xhtml2pdf serialises renders with its (reentrant) render lock; holding
    it here means no other xhtml2pdf render in the process sees these.
    """
    from xhtml2pdf import document as x2p_document

    with getattr(x2p_document, "_RENDER_LOCK", contextlib.nullcontext()):
        saved = rl_config.canvas_basefontname, rl_config.useA85
        saved_helv = pdfmetrics._fonts.get("Helvetica")
        rl_config.canvas_basefontname, rl_config.useA85 = FONT_NAME, 0
        pdfmetrics._fonts["Helvetica"] = _font
        try:
            yield
        finally:
            rl_config.canvas_basefontname, rl_config.useA85 = saved
            if saved_helv is None:
                pdfmetrics._fonts.pop("Helvetica", None)
            else:
                pdfmetrics._fonts["Helvetica"] = saved_helv


def _render_chunk(certs: list[Mapping[str, Any]], verify_url_base: str) -> bytes:
    from xhtml2pdf import pisa

    register_font()
    gate = _AssetGate()
    html = render_html(certs, verify_url_base=verify_url_base, gate=gate)
    out = io.BytesIO()
    with _render_settings():
        result = pisa.CreatePDF(
            html,
            dest=out,
            link_callback=gate,
            resource_policy=_policy(),
            encoding="utf-8",
            context_meta={
                "title": "继续教育证书",
                "author": certs[0]["issuer"] if certs else "",
                "subject": "河南省专业技术人员继续教育证书",
            },
        )
    if result.err:
        raise CertificateRenderError(f"xhtml2pdf reported {result.err} error(s)")
    return out.getvalue()


def _chunks(certs: Iterable[Mapping[str, Any]], size: int):
    run: list[Mapping[str, Any]] = []
    for cert in certs:
        run.append(cert)
        if len(run) >= size:
            yield run
            run = []
    if run:
        yield run


def render_certificates_to(
    fileobj: IO[bytes],
    certs: Iterable[Mapping[str, Any]],
    *,
    verify_url_base: str,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Render ``certs`` (any iterable) into one PDF written to ``fileobj``.

    Certificates are laid out ``chunk`` at a time and each chunk's pages are
    appended to
    ``fileobj`` as soon as it is rendered (see ``_PdfConcatenator``), so
    memory holds one chunk, not the document; ``fileobj`` only needs
    ``write``.  ``progress(done, total)`` is called after each chunk,
    ``total`` being ``len(certs)``, or None when ``certs`` has no length.
    Returns the number of pages (= certificates).
    """
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    total = len(certs) if hasattr(certs, "__len__") else None  # type: ignore[arg-type]
    done = 0
    first: bytes | None = None
    joiner: _PdfConcatenator | None = None
    for run in _chunks(certs, chunk):
        pdf = _render_chunk(run, verify_url_base)
        done += len(run)
        if first is None:
            first = pdf  # written as is if it turns out to be the only one
        else:
            if joiner is None:
                joiner = _PdfConcatenator(fileobj)
                joiner.add(first)
                first = b""
            joiner.add(pdf)
        if progress is not None:
            progress(done, total)
    if first is None:
        raise ValueError("no certificates to render")
    if joiner is None:
        fileobj.write(first)
        return done
    return joiner.close(info={"/Title": "继续教育证书", "/Subject": "河南省专业技术人员继续教育证书"})


class _PdfConcatenator:
    """Append the pages of several PDFs to one output PDF, streaming.

    Each added PDF is parsed with pypdf, the objects its pages reach are
    renumbered and written out at once; only their byte offsets, the page
    list and the hashes of reference-free streams (images, so the border
    and seal of every chunk are stored once) stay in memory.  Finally the
    page tree, catalogue, cross-reference table and trailer are written.
    """

    _INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.pos = 0
        self.offsets: list[int] = [0, 0, 0]  # 1: catalogue, 2: page tree
        self.kids: list[int] = []
        self.leaf_streams: dict[bytes, int] = {}
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _alloc(self) -> int:
        self.offsets.append(0)
        return len(self.offsets) - 1

    def _emit(self, num: int, obj) -> None:
        buf = io.BytesIO()
        buf.write(b"%d 0 obj\n" % num)
        obj.write_to_stream(buf)
        buf.write(b"\nendobj\n")
        self.offsets[num] = self.pos
        self._write(buf.getvalue())

    def add(self, pdf: bytes) -> None:
        from pypdf import PdfReader
        from pypdf.generic import (
            ArrayObject,
            DictionaryObject,
            IndirectObject,
            NameObject,
            StreamObject,
        )

        reader = PdfReader(io.BytesIO(pdf))
        mapping: dict[tuple[int, int], int] = {}
        pending: list[tuple[int, Any]] = []

        def has_refs(obj) -> bool:
            if isinstance(obj, IndirectObject):
                return True
            if isinstance(obj, DictionaryObject):
                return any(has_refs(v) for v in obj.values())
            if isinstance(obj, ArrayObject):
                return any(has_refs(v) for v in obj)
            return False

        def copy_stream(src, dict_items) -> StreamObject:
            new = StreamObject()
            for k, v in dict_items:
                if k != "/Length":
                    new[NameObject(k)] = v
            new.set_data(StreamObject.get_data(src))  # raw, still encoded
            return new

        def ref(obj: IndirectObject) -> IndirectObject:
            key = (obj.idnum, obj.generation)
            num = mapping.get(key)
            if num is None:
                target = obj.get_object()
                if isinstance(target, StreamObject) and not has_refs(target):
                    leaf = copy_stream(target, target.items())
                    buf = io.BytesIO()
                    leaf.write_to_stream(buf)
                    digest = hashlib.sha256(buf.getvalue()).digest()
                    num = self.leaf_streams.get(digest)
                    if num is None:
                        num = self.leaf_streams[digest] = self._alloc()
                        self._emit(num, leaf)
                else:
                    num = self._alloc()
                    pending.append((num, target))
                mapping[key] = num
            return IndirectObject(num, 0, None)

        def remap(obj):
            if isinstance(obj, IndirectObject):
                return ref(obj)
            if isinstance(obj, StreamObject):
                return copy_stream(obj, [(k, remap(v)) for k, v in obj.items()])
            if isinstance(obj, DictionaryObject):
                new = DictionaryObject()
                for k, v in obj.items():
                    new[NameObject(k)] = remap(v)
                return new
            if isinstance(obj, ArrayObject):
                return ArrayObject(remap(v) for v in obj)
            return obj

        pages = list(reader.pages)
        page_nums = []
        for page in pages:  # numbered first, so links to a page find it
            ref_ = page.indirect_reference
            num = self._alloc()
            mapping[(ref_.idnum, ref_.generation)] = num
            page_nums.append(num)
        self.kids.extend(page_nums)
        for page, num in zip(pages, page_nums, strict=True):
            page_dict = DictionaryObject()
            for key in self._INHERITED:  # resolve inherited attributes
                node = page
                while key not in node and "/Parent" in node:
                    node = node["/Parent"].get_object()
                if key in node:
                    page_dict[NameObject(key)] = node.raw_get(key)
            for key in list(page.keys()):
                if key != "/Parent":
                    page_dict[NameObject(key)] = page.raw_get(key)
            new = remap(page_dict)
            new[NameObject("/Parent")] = IndirectObject(2, 0, None)
            self._emit(num, new)
            while pending:
                n, target = pending.pop()
                self._emit(n, remap(target))

    def close(self, info: Mapping[str, str] | None = None) -> int:
        from pypdf.generic import (
            ArrayObject,
            DictionaryObject,
            IndirectObject,
            NameObject,
            NumberObject,
            TextStringObject,
        )

        tree = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): ArrayObject(IndirectObject(k, 0, None) for k in self.kids),
                NameObject("/Count"): NumberObject(len(self.kids)),
            }
        )
        self._emit(2, tree)
        self._emit(
            1,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Catalog"),
                    NameObject("/Pages"): IndirectObject(2, 0, None),
                }
            ),
        )
        info_dict = DictionaryObject({NameObject(k): TextStringObject(v) for k, v in (info or {}).items()})
        info_dict[NameObject("/Producer")] = TextStringObject("xhtml2pdf; backoffice.pdf")
        info_num = self._alloc()
        self._emit(info_num, info_dict)

        xref = self.pos
        size = len(self.offsets)
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        lines += [b"%010d 00000 n \n" % off for off in self.offsets[1:]]
        self._write(b"".join(lines))
        doc_id = uuid.uuid4().hex
        self._write(
            (
                f"trailer\n<< /Size {size} /Root 1 0 R /Info {info_num} 0 R "
                f"/ID [<{doc_id}> <{doc_id}>] >>\nstartxref\n{xref}\n%%EOF\n"
            ).encode("ascii")
        )
        return len(self.kids)


def render_certificates(certs: list[Mapping[str, Any]], *, verify_url_base: str) -> bytes:
    """One PDF, A4 landscape, one page per certificate, in the given order."""
    out = io.BytesIO()
    render_certificates_to(out, certs, verify_url_base=verify_url_base)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Command line: sample PDF / redraw static assets
# ---------------------------------------------------------------------------

SAMPLE_CERT: dict[str, Any] = {
    "number": "JXJY-2024-000001",
    "verify_code": "7KQ3-M9XD",
    "name": "朱镕基喆堃玥",
    "id_number_masked": "410102********1234",
    "unit_name": "郑州市第一人民医院",
    "years": "2024",
    "public_hours": 30,
    "professional_hours": 60,
    "total_hours": 90,
    "issuer": "河南省人力资源和社会保障厅",
    "issue_date": dt.date(2024, 12, 31),
    "verify_url": "https://jxjy.example.gov.cn/cert/verify?number=JXJY-2024-000001&code=7KQ3-M9XD",
}


def _main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="certificate PDF tools")
    ap.add_argument("out", nargs="?", help="write a sample certificate PDF here")
    ap.add_argument("--assets", action="store_true", help="redraw backoffice/static/cert/border.png")
    args = ap.parse_args(argv)
    if args.assets:
        STATIC_CERT_DIR.mkdir(parents=True, exist_ok=True)
        (STATIC_CERT_DIR / "border.png").write_bytes(draw_border_png())
    if args.out:
        Path(args.out).write_bytes(
            render_certificates([SAMPLE_CERT], verify_url_base="https://jxjy.example.gov.cn/cert/verify")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
