"""Property-based tests (hypothesis): the validators never raise, and every public form
answers hostile strings, lengths and encodings with a Chinese message and writes nothing."""

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backoffice.extensions import db, limiter
from backoffice.models import Account, Membership, Org, PasswordResetUse, Person
from backoffice.validators import (
    credit_check_char,
    id_birth_date,
    id_check_char,
    id_gender,
    is_valid_credit_code,
    is_valid_id_number,
    make_credit_code,
    make_id_number,
)

from .conftest import Browser

FORM_EXAMPLES = 40
SETTINGS = settings(max_examples=FORM_EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HOSTILE = [
    "", " ", "0" * 18, "4" * 17 + "X", "41010519800101A01X", "41010519800101003²", "４１０１０５１９８００１０１００３３",
    "' OR '1'='1", "<script>alert(1)</script>", "\x00", "a\x00b", "\u202e" * 20, "𠀀" * 30, "😀" * 50, "%00%ff",
    "../../etc/passwd", "x" * 5000, "\r\n\r\n", "NaN", "-1", "99999999999999999999999", "1e309", "２０２４",
    "2024-02-30", "0000-00-00", "9999-12-31", "\\", "{{7*7}}", "${7*7}",
]
text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=200, max_size=2000),
)
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------- validators
@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
@example("41010519800101003²")
@example("4101051980010100３X")
def test_id_number_functions_never_raise(value):
    assert is_valid_id_number(value) in (True, False)
    id_gender(value)
    birth = id_birth_date(value)
    assert birth is None or isinstance(birth, date)
    if is_valid_id_number(value):
        assert value[:17].isascii() and id_check_char(value[:17]) == value[17].upper()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date.today()), st.integers(0, 999))
@settings(max_examples=100, deadline=None)
def test_made_id_numbers_are_valid_and_decode(birth, sequence):
    number = make_id_number("410105", birth, sequence)
    assert is_valid_id_number(number)
    assert id_birth_date(number) == birth
    assert id_gender(number) == ("male" if sequence % 2 else "female")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert not is_valid_id_number(wrong)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
@example("91410105MA9ＸＸＸＸＸ1")
def test_credit_code_validator_never_raises(value):
    assert is_valid_credit_code(value) in (True, False)


@given(st.integers(0, 10 ** 9 - 1))
@settings(max_examples=100, deadline=None)
def test_made_credit_codes_are_valid(serial):
    code = make_credit_code("410105", serial)
    assert is_valid_credit_code(code) and credit_check_char(code[:17]) == code[17]


# --------------------------------------------------------------------------- public forms
def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in
                 (Account, Membership, Org, Person, PasswordResetUse))


@pytest.fixture
def public(app, ctx, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", False)
    browser = Browser(app.test_client())
    return browser


def _answers_in_chinese(response):
    assert response.status_code in (200, 302, 400, 404), response.status_code
    if response.status_code != 302:
        assert CJK.search(response.get_data(as_text=True))


def _post(browser, url, data, form_url=None):
    token = browser.csrf(form_url or url)
    return browser._request("post", url, data={**data, "csrf_token": token})


@SETTINGS
@given(id_number=text, name=text, password=text, phone=text, email=text, birth=text, gender=text, unit=text)
def test_register_form(public, id_number, name, password, phone, email, birth, gender, unit):
    before = _counts()
    response = _post(public, "/register", {
        "id_number": id_number, "name": name, "password": password, "confirm": password, "phone": phone,
        "email": email, "birth_date": birth, "gender": gender, "unit_id": unit, "ethnicity": "汉族",
        "major_id": unit, "title_series_id": unit, "title_level": gender, "region": unit, "department_id": unit})
    _answers_in_chinese(response)
    assert response.status_code != 302 and _counts() == before


@SETTINGS
@given(kind=st.sampled_from(["unit", "institution", "industry_dept", "city_hrss", "x"]), name=text, code=text,
       id_number=text, password=text, parent=text)
def test_org_register_form(public, kind, name, code, id_number, password, parent):
    before = _counts()
    url = f"/register/org/{kind}"
    if public.get(url).status_code == 404:
        return
    response = _post(public, url, {
        "name": name, "code": code, "id_number": id_number, "admin_name": name, "password": password,
        "confirm": password, "city": parent, "county": parent, "competent": parent, "phone": code, "email": code})
    _answers_in_chinese(response)
    assert response.status_code != 302 and _counts() == before


@SETTINGS
@given(role=st.one_of(st.sampled_from(["person", "unit", "sysadmin"]), text), id_number=text, password=text,
       org_code=text, captcha=text)
def test_login_form(public, role, id_number, password, org_code, captcha):
    before = _counts()
    response = _post(public, "/login", {"role_type": role, "id_number": id_number, "password": password,
                                        "org_code": org_code, "captcha": captcha})
    _answers_in_chinese(response)
    assert response.status_code != 302 and _counts() == before


@SETTINGS
@given(id_number=text, contact=text)
def test_forgot_password_form(public, id_number, contact):
    before = _counts()
    response = _post(public, "/password/forgot", {"id_number": id_number, "contact": contact})
    _answers_in_chinese(response)
    assert _counts() == before


@SETTINGS
@given(token=text, password=text)
def test_reset_password_form(public, token, password):
    from urllib.parse import quote

    before = _counts()
    url = "/password/reset/" + (quote(token, safe="") or "x")
    response = public._request("post", url, data={"new_password": password, "confirm": password,
                                                  "csrf_token": public.csrf("/login")})
    _answers_in_chinese(response)
    assert _counts() == before


@SETTINGS
@given(mode=st.sampled_from(["person", "number", ""]), name=text, id_number=text, year=text, number=text, code=text)
def test_certificate_query_form(public, mode, name, id_number, year, number, code):
    from backoffice.models import Certificate

    before = _counts(), db.session.scalar(select(func.count()).select_from(Certificate))
    response = _post(public, "/certificates/query", {"mode": mode, "name": name, "id_number": id_number,
                                                     "year": year, "number": number, "code": code})
    _answers_in_chinese(response)
    response = public.get("/certificates/query", query_string={"number": number, "code": code})
    _answers_in_chinese(response)
    assert (_counts(), db.session.scalar(select(func.count()).select_from(Certificate))) == before


@SETTINGS
@given(name=text, id_number=text, password=text, membership=text)
def test_registration_progress_form(public, name, id_number, password, membership):
    before = _counts()
    response = _post(public, "/register/status", {"name": name, "id_number": id_number})
    _answers_in_chinese(response)
    response = _post(public, "/register/status/withdraw", {"name": name, "id_number": id_number,
                                                           "password": password, "membership_id": membership},
                     form_url="/register/status")
    _answers_in_chinese(response)
    assert _counts() == before


def test_invalid_utf8_and_odd_encodings_are_not_a_500(public):
    token = public.csrf("/register")
    for body in (b"id_number=%FF%FE%FD&gender=male&name=%C0%AF", b"id_number=" + b"%E4%B8" * 300,
                 "id_number=４１０１０５&name=张".encode("gb18030")):
        response = public._request("post", "/register", data=body + f"&csrf_token={token}".encode(),
                                   content_type="application/x-www-form-urlencoded")
        _answers_in_chinese(response)
