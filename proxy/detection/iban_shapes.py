"""IBANs a reader takes for one, whatever their check digits.

Presidio's IBAN recognizer requires the mod-97 check, which a real IBAN always passes. People
mistype a digit, and texts invent numbers: "transfer to ES21 0081 7011 1900 0384 2291" is
someone's account to any reader, and the vendor should not get it because its check digits are off.
A value with a country's IBAN structure (its length and the letters and digits where that country
puts them, python-stdnum's registry) is reported at a lower score than a valid one; a country code
that has no IBAN, or the wrong length for its country, is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban
from stdnum.exceptions import ValidationError

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.6
#: two letters, two digits, then groups of up to four letters or digits, printed or compact
_CANDIDATE = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![\w-])")


def iban_shaped(value: str) -> bool:
    """Whether `value` has its country's IBAN structure: valid once its check digits are recomputed."""
    number = iban.compact(value)
    try:
        iban.validate(number[:2] + iban.calc_check_digits(number) + number[4:], check_country=False)
    except ValidationError:
        return False
    return True


class IbanShapeRecognizer(SpanRecognizer):
    """IBAN_CODE by its country's structure (see the module docstring)."""

    NAME = "IbanShapeRecognizer"
    ENTITIES = ("IBAN_CODE",)

    def find(self, text: str) -> Iterator[Found]:
        for match in _CANDIDATE.finditer(text):
            if iban_shaped(match[0]):
                yield Found("IBAN_CODE", *match.span(), SCORE, "an IBAN's structure, its check digits aside")
