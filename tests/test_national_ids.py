"""National identifiers count only when their check digits are right; birth dates only after a birth word."""

from __future__ import annotations

import asyncio

import pytest
import regex
from presidio_analyzer import PatternRecognizer

from proxy.detection import DetectionEngine
from proxy.detection.groups import expand
from proxy.detection.national_ids import national_id_recognizers
from proxy.exchange import Slot


def _found(detector: DetectionEngine, text: str, entities: set[str]) -> list[tuple[str, str]]:
    findings = asyncio.run(detector.detect([Slot(("m",), text)], entities, []))
    return sorted((f.entity_type, text[f.start : f.end]) for f in findings if f.score >= 0.5)


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("CPF 275.851.974-70 do cliente", "BR_CPF", "275.851.974-70"),
        ("BSN 111222333 van de klant", "NL_BSN", "111222333"),
        ("numéro de sécurité sociale 255081416802538", "FR_NIR", "255081416802538"),
        ("Steuer-ID 86095742719 liegt vor", "DE_TAX_ID", "86095742719"),
        ("DNI 12345678Z del titular", "ES_NIF", "12345678Z"),
        ("Aadhaar 2345 6789 0124 on file", "IN_AADHAAR", "2345 6789 0124"),
        ("passport number TK1234567 expires soon", "PASSPORT_NUMBER", "TK1234567"),
        ("Versichertennr. 756.1234.5678.97 laut Ausweis", "CH_AHV", "756.1234.5678.97"),
        ("su clave PEGJ900512HDFRRN06 está en el acta", "MX_CURP", "PEGJ900512HDFRRN06"),
    ],
)
def test_when_a_national_id_has_valid_check_digits_then_it_is_found(
    detector: DetectionEngine, text: str, entity: str, value: str
) -> None:
    assert (entity, value) in _found(detector, text, expand(["group:government_ids"]))


@pytest.mark.parametrize(
    "text",
    [
        "CPF 275.851.974-71 do cliente",
        "BSN 111222334 van de klant",
        "numéro de sécurité sociale 255081416802539",
        "Versichertennr. 756.1234.5678.98 laut Ausweis",
        "su clave PEGJ900512HDFRRN07 está en el acta",
    ],
)
def test_when_the_check_digit_is_wrong_then_it_is_not_an_id(detector: DetectionEngine, text: str) -> None:
    assert _found(detector, text, {"BR_CPF", "NL_BSN", "FR_NIR", "CH_AHV", "MX_CURP"}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient DOB: 03/11/1958, admitted today", [("DATE_OF_BIRTH", "03/11/1958")]),
        ("She was born on July 4, 1990 in Ohio", [("DATE_OF_BIRTH", "July 4, 1990")]),
        ("The Moon landing was on July 20, 1969", []),
        ("Release 4.2.0 shipped on 2024-05-01", []),
        ("the audit is on the 3rd of March 2026, born in Leeds", []),
    ],
)
def test_a_date_is_a_birth_date_only_after_a_birth_word(
    detector: DetectionEngine, text: str, expected: list[tuple[str, str]]
) -> None:
    assert _found(detector, text, {"DATE_OF_BIRTH"}) == expected


def test_mastercard_2_series_and_national_phone_formats_are_found(detector: DetectionEngine) -> None:
    text = "card 2221 0000 0000 0009, móvil 696 863 602"
    findings = asyncio.run(detector.detect([Slot(("m",), text)], {"CREDIT_CARD", "PHONE_NUMBER"}, []))
    found = {(f.entity_type, text[f.start : f.end]) for f in findings}
    assert {("CREDIT_CARD", "2221 0000 0000 0009"), ("PHONE_NUMBER", "696 863 602")} <= found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mme Rivière, née le 3 février 1961, consulte pour", "3 février 1961"),
        ("fecha de nacimiento: 9 de octubre de 1974", "9 de octubre de 1974"),
        ("il signor Bassi, nato il 02/11/1950, chiede", "02/11/1950"),
        ("geboren op 14-08-1983 te Delft", "14-08-1983"),
        ("data de nascimento 1979-12-30, utente", "1979-12-30"),
        ("生年月日 1988年11月2日", "1988年11月2日"),
        ("poszkodowany Jan Kowal, ur. 3 października 1975, zgłasza", "3 października 1975"),
        ("urodzony w Poznaniu 12 lutego 1980", "12 lutego 1980"),
        ("he confirmed dob 2nd of april 1987 on the call", "2nd of april 1987"),
        ("il sig. Neri, nato a Bari il 12 marzo 1971, dichiara", "12 marzo 1971"),
        ("Mme Roux, née à Nantes le 1er mars 1972", "1er mars 1972"),
        ("nacida en Cádiz el 5 de mayo de 1988", "5 de mayo de 1988"),
        ("geboren in Zwolle op 3 mei 1991", "3 mei 1991"),
        ("nascido em Braga a 9 de junho de 1970", "9 de junho de 1970"),
        ("DOB 14-Feb-1962, allergic to penicillin", "14-Feb-1962"),
        ("data urodzenia: 1985.04.23, adres", "1985.04.23"),
        ("Geb.-Datum: 03.04.1961", "03.04.1961"),
        ("fødselsdato 1979-3-7", "1979-3-7"),
        ("my dob is 04/07/85, can you check", "04/07/85"),
        ("she was born on the 3rd of May, 1979", "3rd of May, 1979"),
        ("my mum is Aurelia Pinto, born\n11/02/1944, and she can't log in", "11/02/1944"),  # a wrapped line
        ("Pat.: Kessler, Hans-Dieter, * 12.05.1952\nAufnahme", "12.05.1952"),
        ("kamer 3 - Mevr. Peeters, Rita (°04/09/1941), valrisico", "04/09/1941"),
        ("Paz. ROSSETTI Franca, n. 08/03/1939, ricoverata", "08/03/1939"),
        ("mi tío Ramón nació el 2 de junio de 1950 en Jaén", "2 de junio de 1950"),
    ],
)
def test_birth_dates_in_other_languages_and_formats(detector: DetectionEngine, text: str, expected: str) -> None:
    assert _found(detector, text, {"DATE_OF_BIRTH"}) == [("DATE_OF_BIRTH", expected)]


@pytest.mark.parametrize(
    "text", ["* 2024-01-05 released v2 of the app", "- fattura n. 12/03/2024 da pagare", "° 12.05.2024 Wartung"]
)
def test_a_bullet_or_a_number_sign_before_a_date_is_no_birth(detector: DetectionEngine, text: str) -> None:
    assert _found(detector, text, {"DATE_OF_BIRTH"}) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # check digits off by one: the structure of a Spanish and a German IBAN all the same
        ("paga por transferencia a ES21 0081 7011 1900 0384 2291, gracias", "ES21 0081 7011 1900 0384 2291"),
        ("überweise bitte auf DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 01"),
        ("IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),  # a valid one, as before
    ],
)
def test_a_value_with_its_country_s_iban_structure_is_an_iban_whatever_its_check_digits(
    detector: DetectionEngine, text: str, value: str
) -> None:
    assert _found(detector, text, {"IBAN_CODE"}) == [("IBAN_CODE", value)]


@pytest.mark.parametrize(
    "text",
    [
        "order XX12 3456 7890 1234 shipped",  # no country has the code XX
        "part GB82 WEST 1234 5698 7654 3 is out of stock",  # one character short of a British IBAN
        "the US12 3456 7890 1234 5678 series",  # the United States have no IBAN
    ],
)
def test_an_iban_like_value_of_no_country_s_structure_is_not_an_iban(detector: DetectionEngine, text: str) -> None:
    assert _found(detector, text, {"IBAN_CODE"}) == []


GATED_SAMPLES = [
    "NINO AB 12 34 56 C, QQ123456C", "Steuer-ID 12345678901", "NIF 12345678Z, NIE X1234567L, Y-1234567-L",
    "PESEL 44051401359", "Aadhaar 1234 5678 9012, 1234-5678-9012, 123456789012", "PAN ABCPE1234F abcde1234f AB@#-1234x",
    "NIR 1 85 05 78 006 084 36, 2 85 2A 78 006 084 36, 285052A00608436", "BSN 123456782 and 1234.56.782",
    "CPF 123.456.789-09 and 12345678909", "CURP GOMA850101HDFRRN09", "passport TK1234567",
    "codice fiscale RSSMRA85T10A562S, rssmra85t10a56ns, glued xxRSSMRA85T10A562Sxx",
    "digits in other scripts: ١٢٣٤٥٦٧٨٩٠١ and ４４０５１４０１３５９ and 𞥐𞥑𞥒𞥓𞥔𞥕𞥖",
]  # fmt: skip


@pytest.mark.parametrize("text", GATED_SAMPLES)
def test_a_recognizer_gated_on_a_run_of_digits_finds_what_its_patterns_find(text: str) -> None:
    for recognizer in national_id_recognizers("en"):
        needs = getattr(recognizer, "NEEDS", None)
        if needs is None:
            continue
        entities = recognizer.supported_entities
        ungated = PatternRecognizer.analyze(recognizer, text, entities)
        gated = recognizer.analyze(text, entities)
        assert [(r.start, r.end, r.score) for r in gated] == [(r.start, r.end, r.score) for r in ungated]
        for pattern in recognizer.patterns:  # every match holds what the gate looks for
            for match in regex.finditer(pattern.regex, text, flags=recognizer.global_regex_flags):
                assert needs.search(match[0]), (recognizer.name, match[0])
