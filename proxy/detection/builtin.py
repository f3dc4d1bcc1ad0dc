"""The recognizers the proxy adds to Presidio's own for every request, whatever the policy says
(policies choose which of their entities to act on). Registered once, in `build_analyzer`."""

from __future__ import annotations

import re

import phonenumbers
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

from proxy.detection.addresses import StreetAddressRecognizer
from proxy.detection.birth_dates import DateOfBirthRecognizer
from proxy.detection.names import NameListRecognizer
from proxy.detection.national_ids import national_id_recognizers

# Presidio's phone recognizer parses numbers for US, GB, DE, FR, IL, IN, CA and BR; national
# formats of these countries are read too (a number is still checked as valid), in this order.
# Numbers written with their country code (+41 ...) are found for every country either way.
MORE_PHONE_REGIONS = ("ES", "IT", "NL", "PL", "JP", "AU")  # each region costs a pass of `phonenumbers` over the text
PHONE_REGIONS = (*PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, *MORE_PHONE_REGIONS)
# Mastercard's 2-series (2221-2720), missing from Presidio's card pattern; Luhn still applies.
MASTERCARD_2_SERIES = Pattern(
    "Mastercard 2-series", r"\b2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3
)


# Runs of digits and the separators phone numbers are written with; a run holding seven digits
# or more may be a phone number (noise.py drops shorter ones). Only these runs, with some text on
# either side for `phonenumbers` to judge where a number starts and ends, are parsed.
DIGIT_RUN = re.compile(r"\d(?:[ \t().\-/]{0,3}\d)+")
WINDOW_PAD = 12


class GatedPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer, run only around runs of seven digits or more, and for each run
    only until a region's format has covered it.

    `phonenumbers` makes a full pass over the text for every region: on a message with no number
    that was the costliest recognizer, and on one with a number most of the pass was spent on
    the words around it. A number found whole in one region's format is rarely read differently
    by the next, so the regions after it are skipped (tests/test_detection_speed.py checks the
    spans against Presidio's on the evaluation set)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for start, end, runs in phone_windows(text):
            window = text[start:end]
            for region in self.supported_regions:
                found = self._in_region(window, region, start)
                results += found
                if all(any(r.start <= run_start and run_end <= r.end for r in found) for run_start, run_end in runs):
                    break
        return EntityRecognizer.remove_duplicates(results)

    def _in_region(self, window: str, region: str, offset: int) -> list[RecognizerResult]:
        found = []
        assert self.leniency is not None, "Presidio's default is 1"
        for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=self.leniency):
            result = self._get_recognizer_result(match, window, region, None)  # type: ignore[no-untyped-call]
            result.start, result.end = result.start + offset, result.end + offset
            found.append(result)
        return found


def phone_windows(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Padded spans around each run of seven digits or more, overlapping ones merged, with the
    runs each holds."""
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for run in DIGIT_RUN.finditer(text):
        if sum(char.isdigit() for char in run.group()) < 7:
            continue
        start, end = max(0, run.start() - WINDOW_PAD), min(len(text), run.end() + WINDOW_PAD)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end, [*windows[-1][2], run.span()])
        else:
            windows.append((start, end, [run.span()]))
    return windows


def builtin_recognizers(language: str) -> list[EntityRecognizer]:
    """Ours, registered beside Presidio's; `GatedPhoneRecognizer` replaces Presidio's own."""
    return [
        NameListRecognizer(language),
        StreetAddressRecognizer(language),
        DateOfBirthRecognizer(language),
        GatedPhoneRecognizer(supported_language=language, supported_regions=PHONE_REGIONS, name="PhoneRecognizer"),
        CreditCardRecognizer(supported_language=language, patterns=[MASTERCARD_2_SERIES], name="CreditCard2Series"),
        *national_id_recognizers(language),
    ]
