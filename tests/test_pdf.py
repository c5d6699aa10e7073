"""Certificate PDFs (backoffice/pdf.py): fonts, escaping, layout, QR, chunking.

Needs no Flask app and no database.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging

import pytest
from PIL import Image
from pypdf import PdfReader

from backoffice import pdf

BASE = "https://jxjy.example.gov.cn/cert/verify"
HOSTILE_UNIT = '<img src="file:///etc/passwd">测试单位'


def make_cert(i: int = 1, **overrides) -> dict:
    number = f"JXJY-2024-{i:06d}"
    cert = {
        "number": number,
        "verify_code": f"K7Q{i:03d}XD",
        "name": "朱镕基喆堃玥",
        "id_number_masked": "410102********1234",
        "unit_name": HOSTILE_UNIT,
        "years": "2024",
        "public_hours": 30,
        "professional_hours": 60,
        "total_hours": 90,
        "issuer": "河南省人力资源和社会保障厅",
        "issue_date": dt.date(2024, 12, 31),
        "verify_url": f"{BASE}?number={number}&code=K7Q{i:03d}XD",
    }
    cert.update(overrides)
    return cert


@pytest.fixture(scope="module")
def one_pdf() -> bytes:
    return pdf.render_certificates([make_cert()], verify_url_base=BASE)


@pytest.fixture(scope="module")
def reader(one_pdf) -> PdfReader:
    return PdfReader(io.BytesIO(one_pdf))


def page_fonts(page) -> list:
    """Every font dictionary the page (and the forms it draws) uses."""
    found, stack, seen = [], [page["/Resources"]], set()
    while stack:
        res = stack.pop().get_object()
        for font in res.get("/Font", {}).values():
            found.append(font.get_object())
        for xobj in res.get("/XObject", {}).values():
            xobj = xobj.get_object()
            if xobj.get("/Subtype") == "/Form" and "/Resources" in xobj:
                if id(xobj) not in seen:
                    seen.add(id(xobj))
                    stack.append(xobj["/Resources"])
    return found


def test_text_has_name_and_literal_markup(reader):
    text = reader.pages[0].extract_text()
    flat = text.replace("\n", "")
    for ch in "朱镕基喆堃玥":
        assert ch in text
    assert "<img" in flat
    assert HOSTILE_UNIT in flat  # printed literally, not interpreted
    assert "root:x:0:0" not in text
    for fragment in (
        "继续教育证书",
        "河南省专业技术人员",
        "JXJY-2024-000001",
        "K7Q001XD",
        "410102********1234",
        "公需科目",
        "30",
        "专业科目",
        "60",
        "共计",
        "90",
        "河南省人力资源和社会保障厅",
        "2024年12月31日",
        "特发此证",
    ):
        assert fragment in flat, fragment


def test_no_file_content_or_foreign_image(one_pdf, reader):
    assert b"root:x:0:0" not in one_pdf
    # border, seal and QR code: nothing else was fetched
    assert len(reader.pages[0].images) == 3


def test_font_embedded_and_only_font(reader):
    fonts = page_fonts(reader.pages[0])
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/TrueType"
        assert font["/BaseFont"].endswith("+NotoSerifSC-Subset")
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000


def test_page_is_a4_landscape(reader):
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 842) < 1
    assert abs(float(box.height) - 595) < 1


def test_three_certificates_three_pages():
    certs = [make_cert(i, name=name) for i, name in enumerate(["张三", "李四", "王五"], start=1)]
    out = pdf.render_certificates(certs, verify_url_base=BASE)
    r = PdfReader(io.BytesIO(out))
    assert len(r.pages) == 3
    for page, cert in zip(r.pages, certs, strict=True):
        text = page.extract_text()
        assert cert["name"] in text
        assert cert["number"] in text


def test_missing_glyphs():
    assert pdf.missing_glyphs("镕喆堃玥") == set()
    assert pdf.missing_glyphs("朱镕基喆堃玥 同志（身份证号）、。：《》—“”×·") == set()
    assert pdf.missing_glyphs("\U00020000") == {"\U00020000"}  # Extension B
    assert pdf.missing_glyphs("张😀三") == {"😀"}
    assert pdf.missing_glyphs("a\tb\n\u200b") == set()  # not drawn anyway


def test_missing_glyph_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="backoffice.pdf"):
        pdf.render_certificates([make_cert(name="张\U00020000")], verify_url_base=BASE)
    assert any("U+20000" in rec.getMessage() for rec in caplog.records)


def test_font_registered_once(one_pdf):
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics

    before = rl_config.canvas_basefontname, rl_config.useA85
    pdf.render_certificates([make_cert(2)], verify_url_base=BASE)
    assert (rl_config.canvas_basefontname, rl_config.useA85) == before
    pdf.register_font()
    assert pdf.font_registrations == 1
    assert pdf.FONT_NAME in pdfmetrics.getRegisteredFontNames()
    # the render borrows the "Helvetica" slot only while it runs
    assert pdfmetrics.getFont("Helvetica").face.builtIn


def _qr_image(page) -> Image.Image:
    square = [im.image for im in page.images if im.image.width == im.image.height and im.image.mode != "RGBA"]
    assert len(square) == 1
    return square[0]


def test_qr_png_from_segno_is_embedded(reader):
    cert = make_cert()
    uri = pdf.qr_png_uri(cert["verify_url"])
    expected = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    got = _qr_image(reader.pages[0])
    assert got.size == expected.size

    def bits(img):
        return [v < 128 for v in img.convert("L").getdata()]

    assert bits(got) == bits(expected)


def _decode_qr(page) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    img = _qr_image(page).convert("L")
    padded = Image.new("L", (img.width + 40, img.height + 40), 255)  # quiet zone
    padded.paste(img, (20, 20))
    return [r.text for r in zxingcpp.read_barcodes(padded)]


def test_qr_decodes_to_verify_url(reader):
    assert _decode_qr(reader.pages[0]) == [make_cert()["verify_url"]]


def test_link_callback_serves_only_own_assets(tmp_path):
    gate = pdf._AssetGate()
    blank = pdf._blank_png_uri()
    own = gate.allow(pdf.qr_png_uri("https://example.org/x"))
    assert gate(own) == own
    border = gate("border.png")
    assert border == str((pdf.STATIC_CERT_DIR / "border.png").resolve())
    for bad in (
        "file:///etc/passwd",
        "/etc/passwd",
        "../pdf.py",
        "../../backoffice/pdf.py",
        "static/cert/border.png",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.png",
        "nonexistent.png",
        "data:image/png;base64,iVBORw0KGgo=",
        str(tmp_path / "x.png"),
        "",
        None,
    ):
        assert gate(bad) == blank, bad
    assert len(gate.refused) == 12


def test_chunks_merge_and_progress():
    certs = [make_cert(i, name=f"测试{i}") for i in range(1, 6)]
    certs[1]["issuer"] = certs[3]["issuer"] = "郑州市人力资源和社会保障局"
    calls = []
    out = io.BytesIO()
    pages = pdf.render_certificates_to(
        out, iter(certs), verify_url_base=BASE, chunk=2, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(2, None), (4, None), (5, None)]
    r = PdfReader(io.BytesIO(out.getvalue()), strict=True)
    assert pages == len(r.pages) == 5
    # the three chunks' identical border images are stored once
    assert out.getvalue().count(b"/Width 1684") == 1
    for page, cert in zip(r.pages, certs, strict=True):
        text = page.extract_text()
        assert cert["name"] in text
        assert cert["issuer"] in text

    calls.clear()
    pdf.render_certificates_to(
        io.BytesIO(), certs[:3], verify_url_base=BASE, chunk=2, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(2, 3), (3, 3)]


def test_each_page_has_its_issuers_seal():
    issuers = [
        "河南省人力资源和社会保障厅",
        "郑州市人力资源和社会保障局",
        "洛阳市人力资源和社会保障局",
        "河南省人力资源和社会保障厅",
    ]
    certs = [make_cert(i, issuer=issuer) for i, issuer in enumerate(issuers, 1)]
    out = pdf.render_certificates(certs, verify_url_base=BASE)  # one chunk
    r = PdfReader(io.BytesIO(out))
    assert len(r.pages) == 4
    for page, issuer in zip(r.pages, issuers, strict=True):
        assert issuer in page.extract_text()
        [seal] = [im.image for im in page.images if im.image.mode == "RGBA"]
        expected = Image.open(io.BytesIO(pdf.seal_png(issuer)))
        assert seal.getchannel("A").tobytes() == expected.getchannel("A").tobytes()


def test_years_range_hours_and_missing_verify_url():
    cert = make_cert(
        years="2020—2024",
        public_hours=30.5,
        professional_hours=60,
        total_hours=90.5,
        issue_date="2024-06-01",
        verify_url=None,
    )
    out = pdf.render_certificates([cert], verify_url_base=BASE)
    page = PdfReader(io.BytesIO(out)).pages[0]
    flat = page.extract_text().replace("\n", "")
    assert "2020—2024" in flat
    assert "30.5" in flat and "90.5" in flat
    assert "2024年6月1日" in flat
    # no verify_url: built from verify_url_base (QR check last, it may skip)
    assert _decode_qr(page) == [f"{BASE}?number=JXJY-2024-000001&code=K7Q001XD"]


def test_empty_input_rejected():
    with pytest.raises(ValueError):
        pdf.render_certificates([], verify_url_base=BASE)
