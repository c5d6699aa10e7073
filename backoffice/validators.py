"""Validation of Chinese identity numbers and unified social credit codes.

* 公民身份号码 (GB 11643-1999): 17 digits + a check character (ISO 7064 MOD 11-2),
  with the birth date in positions 7–14.
* 统一社会信用代码 (GB 32100-2015): 18 characters of the alphabet
  ``0-9 A-H J-N P-R T-U W-Y`` with a MOD 31 check character.
"""

from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

ID_NUMBER_INVALID = "身份证号非法"
CREDIT_CODE_INVALID = "统一社会信用代码不正确"


def id_check_char(first17):
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def id_birth_date(id_number):
    """The birth date encoded in an 18-character ID number, or None."""
    if not isinstance(id_number, str) or len(id_number) < 14 or not _digits(id_number[6:14]):
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except (ValueError, IndexError):
        return None


def _digits(value):
    """ASCII digits only (``str.isdigit`` accepts '²' and other digits ``int`` refuses)."""
    return value.isascii() and value.isdigit()


def id_gender(id_number):
    """'male' or 'female' from the 17th digit (odd = male); None when there is none."""
    if not isinstance(id_number, str) or len(id_number) < 17 or not _digits(id_number[16]):
        return None
    return "male" if int(id_number[16]) % 2 else "female"


def is_valid_id_number(value):
    if not isinstance(value, str) or len(value) != 18:
        return False
    value = value.upper()
    first17 = value[:17]
    if not _digits(first17) or not (_digits(value[17]) or value[17] == "X"):
        return False
    birth = id_birth_date(value)
    if birth is None or birth.year < 1900 or birth > date.today():
        return False
    return id_check_char(first17) == value[17]


def normalise_id_number(value):
    return (value or "").strip().upper()


def credit_check_char(first17):
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value):
    if not isinstance(value, str) or len(value) != 18:
        return False
    value = value.upper()
    if any(c not in CREDIT_ALPHABET for c in value):
        return False
    # Positions 3–8 are the administrative division code: digits only.
    if not _digits(value[2:8]):
        return False
    return credit_check_char(value[:17]) == value[17]


def make_id_number(region_code, birth, sequence):
    """Build a valid ID number (demo data and tests): region, birth date, 3-digit sequence."""
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def make_credit_code(region_code, serial, prefix="91"):
    """Build a valid credit code (demo data and tests)."""
    body = f"{prefix}{region_code}{serial:09d}"
    body = body[:17]
    return body + credit_check_char(body)


class IdNumber:
    """WTForms validator: a valid 18-character ID number (身份证号非法 otherwise)."""

    def __init__(self, message=ID_NUMBER_INVALID):
        self.message = message

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        if field.data:
            field.data = normalise_id_number(field.data)
        if not is_valid_id_number(field.data or ""):
            raise ValidationError(self.message)


class CreditCode:
    """WTForms validator: a valid unified social credit code."""

    def __init__(self, message=CREDIT_CODE_INVALID):
        self.message = message

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        if field.data:
            field.data = field.data.strip().upper()
        if not is_valid_credit_code(field.data or ""):
            raise ValidationError(self.message)
