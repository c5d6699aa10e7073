"""ID numbers (GB 11643) and unified social credit codes (GB 32100), and the config guard."""

from datetime import date

import pytest

from backoffice.validators import (
    id_birth_date,
    id_gender,
    is_valid_credit_code,
    is_valid_id_number,
    make_credit_code,
    make_id_number,
)

# The example of GB 11643-1999 and commonly published valid codes.
VALID_CREDIT_CODES = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"]


def test_valid_id_number_of_the_standard():
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")


def test_check_digit_right_but_born_before_1900_refused():
    # A published example with a correct check digit, born 1880: not a working professional.
    assert not is_valid_id_number("440524188001010014")


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "11010519491331002X",  # month 13
        "11010519490230002X",  # 30 February
        "1101051949123100",  # too short
        "11010519491231002Y",  # bad check character
        "A1010519491231002X",
        "",
        "110105" + "2999" + "0101" + "0012",  # born in the future
    ],
)
def test_invalid_id_numbers(value):
    assert not is_valid_id_number(value)


def test_every_single_digit_change_is_caught():
    base = "11010519491231002X"
    for i in range(17):
        for d in "0123456789":
            if d == base[i]:
                continue
            changed = base[:i] + d + base[i + 1:]
            assert not is_valid_id_number(changed) or id_birth_date(changed) is None, changed


def test_birth_date_and_gender():
    assert id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert id_gender("11010519491231002X") == "female"
    made = make_id_number("410105", date(1985, 3, 4), 13)
    assert is_valid_id_number(made) and id_gender(made) == "male"


@pytest.mark.parametrize("value", VALID_CREDIT_CODES)
def test_valid_credit_codes(value):
    assert is_valid_credit_code(value)


@pytest.mark.parametrize(
    "value",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # too short
        "91350100M000100I43",  # I is not in the alphabet
        "9135A100M000100Y43",  # division code must be digits
        "",
    ],
)
def test_invalid_credit_codes(value):
    assert not is_valid_credit_code(value)


def test_generated_credit_codes_are_valid():
    for serial in range(1, 200):
        assert is_valid_credit_code(make_credit_code("410105", serial))


def test_production_refuses_the_default_secret(monkeypatch):
    from backoffice import create_app
    from backoffice.config import TestConfig

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(TestConfig, PRODUCTION=True, SQLALCHEMY_DATABASE_URI="sqlite://")
    app = create_app(TestConfig, PRODUCTION=True, SECRET_KEY="a-real-secret", SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SECRET_KEY"] == "a-real-secret"
