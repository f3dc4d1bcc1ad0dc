"""National identifiers, each with its country's check digits: a number that fails the check is
not reported, so order numbers and amounts of the same length pass untouched.

Presidio ships recognizers for several countries but registers them for their own language
only ("es", "it", ...); prompts about those people are written in English, so they are built
again here for the proxy's language. Presidio has none for France, the Netherlands, Brazil,
Switzerland and Mexico: those are below, in its own style (class-level patterns and context,
`validate_result`).
"""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern
from presidio_analyzer.predefined_recognizers import DeTaxIdRecognizer as PresidioDeTaxIdRecognizer
from presidio_analyzer.predefined_recognizers import EsNieRecognizer as PresidioEsNieRecognizer
from presidio_analyzer.predefined_recognizers import EsNifRecognizer as PresidioEsNifRecognizer
from presidio_analyzer.predefined_recognizers import InAadhaarRecognizer as PresidioInAadhaarRecognizer
from presidio_analyzer.predefined_recognizers import InPanRecognizer as PresidioInPanRecognizer
from presidio_analyzer.predefined_recognizers import ItFiscalCodeRecognizer as PresidioItFiscalCodeRecognizer
from presidio_analyzer.predefined_recognizers import PlPeselRecognizer as PresidioPlPeselRecognizer
from presidio_analyzer.predefined_recognizers import UkNinoRecognizer as PresidioUkNinoRecognizer
from stdnum.ch import ssn as ahv
from stdnum.mx import curp

from proxy.detection.found import GatedPatternRecognizer


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


class _Gated(GatedPatternRecognizer):
    """Runs its patterns only on a text where `NEEDS` finds something: mostly a run of digits that
    every match contains (most prompts have no run of seven digits at all). `NEEDS` is a `regex`
    pattern as Presidio's are, so `\\d` and `\\w` name the same characters."""

    NEEDS: ClassVar[regex.Pattern[str] | None] = None

    def may_match(self, text: str) -> bool:
        return self.NEEDS is None or self.NEEDS.search(text) is not None


class UkNinoRecognizer(_Gated, PresidioUkNinoRecognizer):
    NEEDS = regex.compile(r"\d\d ?\d\d ?\d\d")


class DeTaxIdRecognizer(_Gated, PresidioDeTaxIdRecognizer):
    NEEDS = regex.compile(r"\d{11}")


class EsNifRecognizer(_Gated, PresidioEsNifRecognizer):
    NEEDS = regex.compile(r"\d{7}")


class EsNieRecognizer(_Gated, PresidioEsNieRecognizer):
    NEEDS = regex.compile(r"\d{7}")


class PlPeselRecognizer(_Gated, PresidioPlPeselRecognizer):
    NEEDS = regex.compile(r"\d{11}")


class InAadhaarRecognizer(_Gated, PresidioInAadhaarRecognizer):
    NEEDS = regex.compile(r"\d{4}[- :]?\d{4}")


class _CheckedRecognizer(_Gated):
    """A pattern recognizer whose matches must pass `checksum` to count."""

    ENTITY: str
    PATTERNS: list[Pattern]
    CONTEXT: list[str]

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=supported_language,
            patterns=self.PATTERNS,
            context=self.CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return self.checksum(_digits(pattern_text))

    def checksum(self, digits: str) -> bool:
        raise NotImplementedError


class FrNirRecognizer(_CheckedRecognizer):
    """French social security number (NIR): 13 digits and a key, 97 - (number mod 97)."""

    ENTITY = "FR_NIR"
    NEEDS = regex.compile(r"\d{3} ?\d{3} ?\d{2}")
    PATTERNS = [
        Pattern(
            "NIR", r"\b[12][ ]?\d{2}[ ]?(?:0[1-9]|1[0-2]|[2-9]\d)[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}\b", 0.5
        )
    ]
    CONTEXT = ["sécurité sociale", "securite sociale", "nir", "insee", "social security", "numéro"]

    def validate_result(self, pattern_text: str) -> bool:
        compact = pattern_text.replace(" ", "").upper().replace("2A", "19").replace("2B", "18")
        return len(compact) == 15 and compact.isdigit() and 97 - int(compact[:13]) % 97 == int(compact[13:])


class NlBsnRecognizer(_CheckedRecognizer):
    """Dutch citizen service number (BSN): nine digits passing the "11-proof"."""

    ENTITY = "NL_BSN"
    NEEDS = regex.compile(r"\d{9}|\d{4}\.\d{2}")
    PATTERNS = [Pattern("BSN", r"\b\d{9}\b|\b\d{4}\.\d{2}\.\d{3}\b", 0.3)]
    CONTEXT = ["bsn", "burgerservicenummer", "sofinummer", "citizen service number"]

    def checksum(self, digits: str) -> bool:
        if len(digits) != 9 or digits == "000000000":
            return False
        total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
        return total % 11 == 0


class BrCpfRecognizer(_CheckedRecognizer):
    """Brazilian individual taxpayer number (CPF): nine digits and two check digits."""

    ENTITY = "BR_CPF"
    NEEDS = regex.compile(r"\d{3}\.\d{3}|\d{11}")
    PATTERNS = [Pattern("CPF", r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b", 0.6), Pattern("CPF digits", r"\b\d{11}\b", 0.2)]
    CONTEXT = ["cpf", "cadastro de pessoas físicas", "contribuinte"]

    def checksum(self, digits: str) -> bool:
        if len(digits) != 11 or len(set(digits)) == 1:
            return False
        for n in (9, 10):
            total = sum(int(d) * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True))
            if (total * 10 % 11) % 10 != int(digits[n]):
                return False
        return True


class ChAhvRecognizer(_CheckedRecognizer):
    """Swiss social security number (AHV/AVS): 756, nine digits and an EAN-13 check digit."""

    ENTITY = "CH_AHV"
    PATTERNS = [Pattern("AHV", r"\b756\.\d{4}\.\d{4}\.\d{2}\b|\b756\d{10}\b", 0.6)]
    CONTEXT = ["ahv", "avs", "sozialversicherungsnummer", "numéro avs", "social security"]

    def checksum(self, digits: str) -> bool:
        return bool(ahv.is_valid(digits))


class MxCurpRecognizer(_CheckedRecognizer):
    """Mexican population registry code (CURP): name letters, birth date, sex, state, a check digit."""

    ENTITY = "MX_CURP"
    NEEDS = regex.compile(r"\d{6}")
    PATTERNS = [Pattern("CURP", r"\b[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d\b", 0.6)]
    CONTEXT = ["curp", "clave única de registro de población"]

    def validate_result(self, pattern_text: str) -> bool:
        return bool(curp.is_valid(pattern_text))


class InPanRecognizer(_Gated, PresidioInPanRecognizer):
    """Presidio's Indian PAN, with its weakest pattern's lookaheads kept inside the candidate.
    Presidio's look from every word to the end of the text (`.*?` under DOTALL): that cost 0.7 ms
    of CPU on a 1.5 KB request, and let a digit anywhere later vouch for a ten-letter word. The
    lookahead for four digits comes first: most words fail it."""

    NEEDS = regex.compile(r"\d{4}")
    PATTERNS = [
        *PresidioInPanRecognizer.PATTERNS[:2],
        Pattern("PAN (Low)", r"\b(?=[\w@#$%^?~-]{0,6}[0-9]{4})(?=[\w@#$%^?~-]{0,9}[a-zA-Z])[\w@#$%^?~-]{10}\b", 0.01),
    ]


class ItFiscalCodeRecognizer(_Gated, PresidioItFiscalCodeRecognizer):
    """Presidio's Italian fiscal code, which every text with 16 letters or digits in a row is checked
    for: its pattern has no word boundary, so it is tried at every letter."""

    NEEDS = regex.compile(r"\w{16}")


class PassportNumberRecognizer(_Gated):
    """Passport numbers of the common two-letters-seven-digits shape (Japan and others). The shape
    alone is weak evidence, so only "passport" nearby lifts it over a policy's threshold."""

    NEEDS = regex.compile(r"\d{7}")

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="PASSPORT_NUMBER",
            name="PassportNumberRecognizer",
            supported_language=supported_language,
            patterns=[Pattern("passport", r"\b[A-Z]{2}\d{7}\b", 0.3)],
            context=["passport", "reisepass", "passeport", "pasaporte", "passaporto"],
        )


PRESIDIO_COUNTRY_RECOGNIZERS = (
    UkNinoRecognizer, DeTaxIdRecognizer, EsNifRecognizer, EsNieRecognizer, ItFiscalCodeRecognizer,
    PlPeselRecognizer, InAadhaarRecognizer, InPanRecognizer,
)  # fmt: skip
NATIONAL_ID_ENTITIES = (
    "UK_NINO", "DE_TAX_ID", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "PL_PESEL", "IN_AADHAAR", "IN_PAN", "FR_NIR",
    "NL_BSN", "BR_CPF", "CH_AHV", "MX_CURP", "PASSPORT_NUMBER",
)  # fmt: skip


def national_id_recognizers(language: str) -> list[EntityRecognizer]:
    ours: list[EntityRecognizer] = [
        FrNirRecognizer(language),
        NlBsnRecognizer(language),
        BrCpfRecognizer(language),
        ChAhvRecognizer(language),
        MxCurpRecognizer(language),
        PassportNumberRecognizer(language),
    ]
    return [*(cls(supported_language=language) for cls in PRESIDIO_COUNTRY_RECOGNIZERS), *ours]
