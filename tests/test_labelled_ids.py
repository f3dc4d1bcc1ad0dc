"""Identifiers that their label makes personal, in six languages; check digits raise the score."""

from __future__ import annotations

import re

import pytest

from proxy.detection import DetectionEngine
from proxy.detection.labelled_ids import (
    _LABEL,
    _LABEL_ENTITY,
    CHECKED_SCORE,
    LABELS,
    _wrappable,
    find_labelled_ids,
    identifier_shaped,
)


def _found(text: str) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start : f.end]) for f in find_labelled_ids(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pt seen today, MRN 55120874, follow-up in 2 weeks", ("MEDICAL_RECORD_NUMBER", "55120874")),
        ("Patientennummer: P-773019 bitte im Brief ergänzen", ("MEDICAL_RECORD_NUMBER", "P-773019")),
        ("member ID on the back of the card: HMX-5528-1104", ("INSURANCE_ID", "HMX-5528-1104")),
        ("Versichertennummer K229104857, Kasse AOK", ("INSURANCE_ID", "K229104857")),
        ("numéro de police 88-4410-2291 pour le sinistre", ("INSURANCE_ID", "88-4410-2291")),
        ("The claim number is CL-20411983, please chase", ("CASE_NUMBER", "CL-20411983")),
        ("Aktenzeichen 7 O 221/23 beim Landgericht", ("CASE_NUMBER", "7 O 221/23")),
        ("número de expediente 1187/2024 del juzgado", ("CASE_NUMBER", "1187/2024")),
        ("Kundennummer 30118842, bitte kündigen", ("ACCOUNT_NUMBER", "30118842")),
        ("rekeningnummer 449120773 staat op de factuur", ("ACCOUNT_NUMBER", "449120773")),
        ("Steuernummer 143/226/71109 für die Erklärung", ("TAX_ID", "143/226/71109")),
        ("partita IVA 04417250961 della ditta", ("TAX_ID", "04417250961")),
        ("driver's licence number D1187-44290-00912 expired", ("DRIVER_LICENSE", "D1187-44290-00912")),
        ("rijbewijsnummer 5530112847 kwijt", ("DRIVER_LICENSE", "5530112847")),
        ("passport no. X40917723, issued 2019", ("PASSPORT_NUMBER", "X40917723")),
        ("carta d'identità CA41192KX scaduta", ("NATIONAL_ID", "CA41192KX")),
        ("his SSN 212449031 is on the form", ("US_SSN", "212449031")),
        ("Personalnummer 48815 in der Lohnabrechnung", ("EMPLOYEE_ID", "48815")),
        ("incidencia nº QRT-2031-554102 abierta ayer", ("CASE_NUMBER", "QRT-2031-554102")),
        ("Référence unique du mandat : ZXC-2030-44120.", ("CASE_NUMBER", "ZXC-2030-44120")),
        ("Szkoda nr ABC/2029/554433 zgłoszona", ("CASE_NUMBER", "ABC/2029/554433")),
        ("polisa OC 881200443322 ważna", ("INSURANCE_ID", "881200443322")),
        ("Sinistro n. 2031/MI/554120 aperto", ("CASE_NUMBER", "2031/MI/554120")),
        ("receipt number WAC1234567890 from the agency", ("CASE_NUMBER", "WAC1234567890")),
        ("Zaaknummer C/13/998877 / HA ZA 25-101 loopt", ("CASE_NUMBER", "C/13/998877 / HA ZA 25-101")),
        ("klantnr 4411-2290 graag vermelden", ("ACCOUNT_NUMBER", "4411-2290")),
        ("hospital no. KLM-771204, ward 3", ("MEDICAL_RECORD_NUMBER", "KLM-771204")),
        ("tarjeta sanitaria QWER 1122 3344 5566 caducada", ("INSURANCE_ID", "QWER 1122 3344 5566")),
        ("whānau of the patient (NHI ABC1234)", ("MEDICAL_RECORD_NUMBER", "ABC1234")),
        ("insurance Bupa Gold 22-771-9921-B, on CPAP", ("INSURANCE_ID", "22-771-9921-B")),
        ("beneficiary's A-number A 098 765 432", ("NATIONAL_ID", "A 098 765 432")),
        ("número de contribuinte 245771903 na fatura", ("TAX_ID", "245771903")),
        ("nr dowodu ABX551204 zgubiony", ("NATIONAL_ID", "ABX551204")),
        ("her NHS no. is 485 777 3456", ("NATIONAL_ID", "485 777 3456")),
        ("n° de sécurité sociale 2 91 05 13 055 208 31", ("NATIONAL_ID", "2 91 05 13 055 208 31")),
        ("RG n° 26/01187 du tribunal judiciaire", ("CASE_NUMBER", "26/01187")),
        ("numero di protocollo 2031/0005512", ("CASE_NUMBER", "2031/0005512")),
        ("sygn. akt II K 4411/25 w sądzie", ("CASE_NUMBER", "II K 4411/25")),
        ("case no. 2:25-cv-01187 in the district court", ("CASE_NUMBER", "2:25-cv-01187")),
        ("Versicherungsnr. 7719-330-118 der Kasse", ("INSURANCE_ID", "7719-330-118")),
        ("Ward 4C   Hosp No: QKT5520917", ("MEDICAL_RECORD_NUMBER", "QKT5520917")),
        ("his UHID 1911-KA-33104 is on the card", ("MEDICAL_RECORD_NUMBER", "1911-KA-33104")),
        ("su CIP es MRTZ550312998 y toma", ("INSURANCE_ID", "MRTZ550312998")),
        ("il numero della tessera\nsanitaria è 80111222333344445555.", ("INSURANCE_ID", "80111222333344445555")),
        ("Ihre AHV-Nummer; die\nangegebene 756.1234.5678.90 fehlt", ("NATIONAL_ID", "756.1234.5678.90")),
        ("soy Juan, DNI 27.118.904, gracias", ("NATIONAL_ID", "27.118.904")),
        ("CBU 2850590940090418135201 de mi cuenta", ("ACCOUNT_NUMBER", "2850590940090418135201")),
        ("CLABE 002010077777777771", ("ACCOUNT_NUMBER", "002010077777777771")),
        ("his CURP\nPEGJ900512HDFRRN05, and", ("NATIONAL_ID", "PEGJ900512HDFRRN05")),
        ("RFC PEGJ900512AB1 para la factura", ("TAX_ID", "PEGJ900512AB1")),
        ("the ref for my membership was\nZQ-55120.", ("INSURANCE_ID", "ZQ-55120")),
        ("Il numero della denuncia ai carabinieri è 1182/2031.", ("CASE_NUMBER", "1182/2031")),
        ("BRP ZR1122334 on file", ("NATIONAL_ID", "ZR1122334")),
        ("Rentenversicherungsnummer 65 170839 J 003 liegt vor", ("NATIONAL_ID", "65 170839 J 003")),
        ("su carnet de\nconducir (n.º 55120874-K)", ("DRIVER_LICENSE", "55120874-K")),
        ("Vertragskonto 4400112233 laut Rechnung", ("ACCOUNT_NUMBER", "4400112233")),
        ("carta de despido, número de empleado 4471, por faltas", ("EMPLOYEE_ID", "4471")),  # four digits
        ("Mika Laine (emp 50331) missed the deadline", ("EMPLOYEE_ID", "50331")),
        ("Her tax ref is 0733912458.", ("TAX_ID", "0733912458")),
        ("una multa, verbale n. 2025/PM/220184. Sono", ("CASE_NUMBER", "2025/PM/220184")),
        ("boete van het CJIB, beschikkingsnummer 6203 9911 4472 0081, maar", ("CASE_NUMBER", "6203 9911 4472 0081")),
        ("Fallnummer 2024118837, Vers.-Nr. M551203846 (TK)", ("INSURANCE_ID", "M551203846")),
    ],
)
def test_an_identifier_after_its_label_is_found_as_the_type_the_label_names(
    text: str, expected: tuple[str, str]
) -> None:
    assert expected in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "my account has 12 items and was opened in 2019",
        "claim your free trial before 31/12/2025",
        "the passport office opens at 9",
        "account balance 12,400.50 after the refund",
        "Customer asks whether the case fits the Pixel 8",
        "a teaching case of a fictional 67-year-old man with heart failure",
        "the insurance covers 3-day stays",
        "Case closed.\nOrder 55120874 ships tomorrow",
        "stuck in a rut since 2019",
        "la denuncia di ieri",
        "the contract is worth 1.500.000 pesos",
        "we have a staff of 1200 people",  # four digits after a bare label
        "the temp file is 20481 bytes",  # "emp" inside a word
    ],
)
def test_labels_without_an_identifier_after_them_find_nothing(text: str) -> None:
    assert _found(text) == []


def test_shapes_that_are_dates_years_or_amounts_are_not_identifiers() -> None:
    assert not identifier_shaped("2019") and not identifier_shaped("12/03/2024") and not identifier_shaped("1.250,00")
    assert identifier_shaped("44120") and identifier_shaped("AB-4471") and not identifier_shaped("AB-4")


def test_a_value_failing_its_check_digit_is_still_the_kind_its_label_names() -> None:
    (valid,) = find_labelled_ids("AHV-Nr. 756.9217.0769.85")  # a well-formed Swiss AHV number
    (mistyped,) = find_labelled_ids("AHV-Nr. 756.9217.0769.86")
    assert valid.entity == mistyped.entity == "NATIONAL_ID" and valid.score == CHECKED_SCORE > mistyped.score


def test_a_value_passing_its_standard_check_scores_higher() -> None:
    (valid,) = find_labelled_ids("VAT number DE136695976")  # a well-formed German VAT id (stdnum checks it)
    (other,) = find_labelled_ids("VAT number DE136695975")
    assert valid.score == CHECKED_SCORE > other.score


def test_the_analyzer_reports_labelled_ids(detector: DetectionEngine) -> None:
    text = "Schaden gemeldet, Schadennummer S-2024-88123, Policennummer 7712-0093-44"
    results = detector.analyzer.analyze(text=text, language="en", entities=["CASE_NUMBER", "INSURANCE_ID"])
    assert sorted((r.entity_type, text[r.start : r.end]) for r in results) == [
        ("CASE_NUMBER", "S-2024-88123"),
        ("INSURANCE_ID", "7712-0093-44"),
    ]


def test_labels_bucketed_by_first_letter_match_as_one_plain_alternation_would() -> None:
    # the reference: every label in one alternation, one named group per entity type (slow, exact)
    plain = re.compile(
        "|".join(
            rf"(?P<{entity}>(?<![\w-])(?:{'|'.join(map(_wrappable, labels))})(?!\w))"
            for entity, labels in LABELS.items()
        ),
        re.IGNORECASE,
    )
    labels = [label.replace("\\", "") for labels in LABELS.values() for label in labels]
    texts = [
        "Case number 4471, claim no. 88-12, Policennummer 7712-0093-44 and the MRN: 00482913.",
        "NÚMERO DE POLIZA 1234, numero di protocollo 55/2024, n° de rôle 12, plainte 8812, Nr. pacjenta 9",
        "carta d\u2019identità CA41192KX, \u212aontonummer 30118842 (a Kelvin sign), \u017fsn 1 (a long s)",
        "カルテ番号 12345 と 旅券番号 TK1234567, رقم الهوية 784, passport\nnumber X40917723, tax-id 5",
        "encased tinsel ticketing, pre-case x-ticket sin_tax account# rg- r.g. 44 a/c 1 p. iva 2 ss# 3",
        " ".join(labels),
        "\n".join(label.upper() for label in labels),
    ]
    for text in texts:
        expected = [(m.span(), m.lastgroup) for m in plain.finditer(text)]
        assert [(m.span(), _LABEL_ENTITY[m.lastgroup or ""]) for m in _LABEL.finditer(text)] == expected
