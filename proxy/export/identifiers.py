"""Fake identifiers that pass their own format's checks: check digits (python-stdnum), phone
numbers valid for their country (phonenumbers).

A model trained on `BSN 123456789` learns that a BSN is any nine digits; the real ones carry an
11-test check digit, and so do the fakes here. Each is drawn from a seeded Faker, so one token
keeps one fake.
"""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
from faker import Faker
from stdnum import luhn, verhoeff
from stdnum.br import cpf
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel

Make = Callable[[Faker], str]
TRIES = 5000  # two check digits pass one draw in a hundred
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def valid(make: Make, is_valid: Callable[[str], bool]) -> Make:
    """Draw until the value passes `is_valid` (one check digit passes about one draw in ten)."""

    def draw(faker: Faker) -> str:
        for _ in range(TRIES):
            value = make(faker)
            if is_valid(value):
                return value
        raise RuntimeError("no valid identifier drawn")  # unreachable with these formats

    return draw


def _pesel(faker: Faker) -> str:
    born = faker.date_of_birth(minimum_age=18, maximum_age=99)
    month = born.month + (20 if born.year >= 2000 else 0)
    body = f"{born:%y}{month:02d}{born:%d}" + faker.numerify("####")
    return body + pesel.calc_check_digit(body)


def _nir(faker: Faker) -> str:
    born = faker.date_of_birth(minimum_age=18, maximum_age=99)
    body = faker.random_element("12") + f"{born:%y%m}" + faker.numerify("%#") + faker.numerify("######")
    return body + nir.calc_check_digits(body)


def _fiscal_code(faker: Faker) -> str:
    born = faker.date_of_birth(minimum_age=18, maximum_age=99)
    day = born.day + faker.random_element((0, 40))  # women's days count from 41
    body = (
        faker.lexify("??????", UPPER)
        + f"{born:%y}"
        + "ABCDEHLMPRST"[born.month - 1]
        + f"{day:02d}"
        + faker.random_element("ABCDEFGHILM")
        + faker.numerify("###")
    )
    return body + codicefiscale.calc_check_digit(body)


def _dni(faker: Faker) -> str:
    body = faker.numerify("########")
    return body + dni.calc_check_digit(body)


def _nie(faker: Faker) -> str:
    body = faker.random_element("XYZ") + faker.numerify("#######")
    return body + nie.calc_check_digit(body)


def _aadhaar(faker: Faker) -> str:
    body = faker.numerify("%##########")
    digits = body + verhoeff.calc_check_digit(body)
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"


def _credit_card(faker: Faker) -> str:
    body = "4" + faker.numerify("##############")
    return body + luhn.calc_check_digit(body)


def _pan(faker: Faker) -> str:
    return faker.lexify("???", UPPER) + faker.random_element("PCHFAT") + faker.bothify("?####?", UPPER)


def phone(region: str) -> Make:
    """A number valid for `region`, in its national format."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers knows no numbers of region {region!r}")
    length = len(str(example.national_number))

    def draw(faker: Faker) -> str:
        for _ in range(TRIES):
            number = phonenumbers.PhoneNumber(example.country_code, int(faker.numerify("%" + "#" * (length - 1))))
            if phonenumbers.is_valid_number_for_region(number, region):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)

    return draw


IDENTIFIERS: dict[str, Make] = {
    "CREDIT_CARD": _credit_card,
    "UK_NHS": valid(lambda f: f.numerify("### ### ####"), nhs.is_valid),
    "NL_BSN": valid(lambda f: f.numerify("%########"), bsn.is_valid),
    "BR_CPF": valid(lambda f: f.numerify("###.###.###-##"), cpf.is_valid),
    "DE_TAX_ID": valid(lambda f: f.numerify("%##########"), idnr.is_valid),
    "IN_PAN": valid(_pan, pan.is_valid),
    "IN_AADHAAR": valid(_aadhaar, aadhaar.is_valid),  # its first digit is 2 to 9
    "PL_PESEL": _pesel,
    "FR_NIR": _nir,
    "IT_FISCAL_CODE": _fiscal_code,
    "ES_NIF": _dni,
    "ES_NIE": _nie,
}
