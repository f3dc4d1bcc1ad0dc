"""The recognizers the proxy adds to Presidio's own for every request, whatever the policy says
(policies choose which of their entities to act on). Registered once, in `build_analyzer`."""

from __future__ import annotations

import bisect
import re

import phonenumbers
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

from proxy.detection.addresses import StreetAddressRecognizer
from proxy.detection.birth_dates import DateOfBirthRecognizer
from proxy.detection.card_numbers import CardCueRecognizer
from proxy.detection.iban_shapes import IbanShapeRecognizer
from proxy.detection.labelled_ids import LabelledIdRecognizer
from proxy.detection.names import NameListRecognizer
from proxy.detection.national_ids import national_id_recognizers
from proxy.detection.person_cues import PersonCueRecognizer
from proxy.detection.personal_urls import PersonalUrlRecognizer
from proxy.detection.residence import ResidenceRecognizer
from proxy.detection.script_names import ScriptNameRecognizer
from proxy.detection.structure import StructureRecognizer

# Presidio's phone recognizer parses numbers for US, GB, DE, FR, IL, IN, CA and BR; national
# formats of these countries are read too (a number is still checked as valid), in this order.
# Numbers written with their country code (+41 ...) are found for every country either way.
MORE_PHONE_REGIONS = ("ES", "IT", "NL", "PL", "JP", "AU")  # each region costs a pass of `phonenumbers` over the text
PHONE_REGIONS = (*PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, *MORE_PHONE_REGIONS)
# Mastercard's 2-series (2221-2720), missing from Presidio's card pattern; Luhn still applies.
MASTERCARD_2_SERIES = Pattern(
    "Mastercard 2-series", r"\b2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3
)


# `phonenumbers` looks for numbers only inside the spans its own candidate pattern matches (digit
# blocks joined by up to four punctuation characters, an optional leading bracket or plus sign, an
# optional extension), and every number it finds lies inside one. So only candidates holding seven
# digits or more (noise.py drops shorter numbers), with some text on either side for it to judge
# where a number starts, are parsed. The pattern is a private name: tests/test_detection_speed.py
# checks the findings against Presidio's own recognizer, so an upgrade that changes it fails there.
PHONE_CANDIDATE: re.Pattern[str] = phonenumbers.phonenumbermatcher._PATTERN
WINDOW_PAD = 12
POSSIBLE_SCORE = 0.6
POSSIBLE_PHONE = "PossiblePhoneRecognizer"
PHONE_SHAPE = re.compile(r"\+?\(?\d[\d \t().-]{6,22}\d")
PHONE_CUE = re.compile(
    r"\b(?:tel|tél|phone|mobile|mob|cell|call|ring|text|whatsapp|fax|telefon|telefoon|telefono|teléfono|handy|móvil"
    r"|cellulare|portable|numéro|nummer|número|numero)\b[^\n\d]{0,16}$",
    re.I,
)
PRESIDIO_LENIENCY = 1  # Presidio's default for `PhoneRecognizer`


class GatedPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer, run only around candidates holding seven digits or more, and for
    each window only until one region's format has read every candidate in it whole.

    `phonenumbers` makes a full pass over the text for every region: on a message with no number
    that was the costliest recognizer, and on one with a number most of the pass was spent on
    the words around it. Another region can only find numbers inside a candidate, so once one
    number covers the whole candidate, what the remaining regions would find is contained in it
    and dropped as a duplicate anyway (tests/test_detection_speed.py checks the spans against
    Presidio's, on the evaluation set and on generated awkward layouts)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for start, end, candidates in phone_windows(text):
            window = text[start:end]
            for region in self.supported_regions:
                found = self._in_region(window, region, start)
                results += found
                if all(any(r.start <= first and last <= r.end for r in found) for first, last in candidates):
                    break
        return EntityRecognizer.remove_duplicates(results)

    def _in_region(self, window: str, region: str, offset: int) -> list[RecognizerResult]:
        found = []
        leniency = PRESIDIO_LENIENCY if self.leniency is None else self.leniency
        for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=leniency):
            result = self._get_recognizer_result(match, window, region, None)  # type: ignore[no-untyped-call]
            result.start, result.end = result.start + offset, result.end + offset
            found.append(result)
        return found


class PossiblePhoneRecognizer(EntityRecognizer):
    """A number a reader takes for a phone number though no one has it yet (`+44 7700 900123`, a
    range kept for drama) or that no numbering plan validates: possible by its length for its
    country, written only with digits, spaces and phone punctuation, and with its country code or
    after a phone word ("tel", "mobile", "call me on"). Scored below a valid number."""

    def __init__(self, supported_language: str = "en", regions: tuple[str, ...] = PHONE_REGIONS) -> None:
        super().__init__(["PHONE_NUMBER"], name=POSSIBLE_PHONE, supported_language=supported_language)
        self.regions = regions

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found = []
        for _, _, candidates in phone_windows(text):
            for first, last in candidates:
                if (result := self._possible(text, first, last)) is not None:
                    found.append(result)
        return found

    def _possible(self, text: str, first: int, last: int) -> RecognizerResult | None:
        candidate = text[first:last].strip()
        cued = bool(PHONE_CUE.search(text[max(0, first - 24) : first]))
        if not (candidate.startswith("+") or cued) or not PHONE_SHAPE.fullmatch(candidate):
            return None
        for region in (None,) if candidate.startswith("+") else self.regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(number):
                why = AnalysisExplanation(POSSIBLE_PHONE, POSSIBLE_SCORE, textual_explanation="a possible phone number")
                return RecognizerResult("PHONE_NUMBER", first, first + len(candidate), POSSIBLE_SCORE, why)
        return None


def phone_windows(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Padded spans around each phone-number candidate of seven digits or more, overlapping ones
    merged, with the candidates each holds. A pad never ends inside a shorter candidate: cut
    there, it would read differently in the window than in the whole text."""
    candidates = [match.span() for match in PHONE_CANDIDATE.finditer(text)]
    starts = [first for first, _ in candidates]
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for first, last in candidates:
        if sum(char.isdigit() for char in text[first:last]) < 7:
            continue
        start = _widen(max(0, first - WINDOW_PAD), candidates, starts, 0)
        end = _widen(min(len(text), last + WINDOW_PAD), candidates, starts, 1)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end, [*windows[-1][2], (first, last)])
        else:
            windows.append((start, end, [(first, last)]))
    return windows


def _widen(position: int, candidates: list[tuple[int, int]], starts: list[int], side: int) -> int:
    """`position`, or the start (side 0) or end (side 1) of the candidate it falls inside."""
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and candidates[index][0] < position < candidates[index][1]:
        return candidates[index][side]
    return position


def builtin_recognizers(language: str) -> list[EntityRecognizer]:
    """Ours, registered beside Presidio's; `GatedPhoneRecognizer` replaces Presidio's own."""
    return [
        NameListRecognizer(language),
        StreetAddressRecognizer(language),
        DateOfBirthRecognizer(language),
        LabelledIdRecognizer(language),
        StructureRecognizer(language),
        ResidenceRecognizer(language),
        PersonCueRecognizer(language),
        ScriptNameRecognizer(language),
        PersonalUrlRecognizer(language),
        GatedPhoneRecognizer(supported_language=language, supported_regions=PHONE_REGIONS, name="PhoneRecognizer"),
        PossiblePhoneRecognizer(language),
        CreditCardRecognizer(supported_language=language, patterns=[MASTERCARD_2_SERIES], name="CreditCard2Series"),
        CardCueRecognizer(language),
        IbanShapeRecognizer(language),
        *national_id_recognizers(language),
    ]
