"""The recognizers the proxy adds to Presidio's own for every request, whatever the policy says
(policies choose which of their entities to act on). Registered once, in `build_analyzer`."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, Pattern
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

from proxy.detection.addresses import StreetAddressRecognizer
from proxy.detection.birth_dates import DateOfBirthRecognizer
from proxy.detection.names import NameListRecognizer
from proxy.detection.national_ids import national_id_recognizers

# Presidio's phone recognizer parses numbers for US, GB, DE, FR, IL, IN, CA and BR; national
# formats of these countries are read by a second one (a number is still checked as valid).
# Numbers written with their country code (+41 ...) are found for every country either way.
MORE_PHONE_REGIONS = ("ES", "IT", "NL", "PL", "JP", "AU")  # each region costs a pass of `phonenumbers` over the text
# Mastercard's 2-series (2221-2720), missing from Presidio's card pattern; Luhn still applies.
MASTERCARD_2_SERIES = Pattern(
    "Mastercard 2-series", r"\b2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3
)


def builtin_recognizers(language: str) -> list[EntityRecognizer]:
    return [
        NameListRecognizer(language),
        StreetAddressRecognizer(language),
        DateOfBirthRecognizer(language),
        PhoneRecognizer(supported_language=language, supported_regions=MORE_PHONE_REGIONS, name="PhoneRecognizerMore"),
        CreditCardRecognizer(supported_language=language, patterns=[MASTERCARD_2_SERIES], name="CreditCard2Series"),
        *national_id_recognizers(language),
    ]
