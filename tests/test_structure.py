"""Values under keys and column headers that name personal data, in tables, JSON, XML and logs."""

from __future__ import annotations

import pytest

from proxy.detection import DetectionEngine
from proxy.detection.field_names import field_type, normalise
from proxy.detection.structure import structured_values


def _found(text: str) -> list[tuple[str, str]]:
    return [(v.entity, text[v.start : v.end]) for v in structured_values(text)]


def test_keys_are_compared_normalised_and_by_their_ending() -> None:
    assert normalise("birthDate") == normalise("birth_date") == normalise("Birth-Date") == "birthdate"
    assert field_type("Geburtsdatum") == ("DATE_OF_BIRTH", False)
    assert field_type("patient_dob") == ("DATE_OF_BIRTH", False)
    assert field_type("PLZ") == ("POSTCODE", False)
    assert field_type("name") == ("PERSON", True)
    assert field_type("protein") is None and field_type("hotel") is None and field_type("mac_address") is None


def test_a_tsv_of_patients_makes_every_value_under_a_named_column_a_finding() -> None:
    text = "mrn\tname\tdob\tpostcode\n0041\tTeodora Vasquez-Lind\t3/9/61\tBT7 1NN\n0042\tOsei Boakye\t1959\tCF10 3AT"
    assert _found(text) == [
        ("MEDICAL_RECORD_NUMBER", "0041"),
        ("PERSON", "Teodora Vasquez-Lind"),
        ("DATE_OF_BIRTH", "3/9/61"),
        ("POSTCODE", "BT7 1NN"),
        ("MEDICAL_RECORD_NUMBER", "0042"),
        ("PERSON", "Osei Boakye"),
        ("DATE_OF_BIRTH", "1959"),
        ("POSTCODE", "CF10 3AT"),
    ]


def test_markdown_and_semicolon_tables_are_read_under_their_headers() -> None:
    markdown = "| Name | Wohnort | Rolle |\n|:---|---|---|\n| Ilka Brandhorst | Bielefeld | QA |"
    assert _found(markdown) == [("PERSON", "Ilka Brandhorst"), ("RESIDENCE", "Bielefeld")]
    csv = "Nom;Ville;Téléphone\nRoussel;Nantes;02 40 11 22 33"
    assert _found(csv) == [("PERSON", "Roussel"), ("RESIDENCE", "Nantes"), ("PHONE_NUMBER", "02 40 11 22 33")]


def test_json_xml_and_key_value_lines_report_the_value_of_a_named_key() -> None:
    json_text = '{"full_name": "Radu Ionescu", "birthDate": "1987-02-14", "address": {"zip": 80331, "city": "Munich"}}'
    assert _found(json_text) == [
        ("PERSON", "Radu Ionescu"),
        ("DATE_OF_BIRTH", "1987-02-14"),
        ("POSTCODE", "80331"),
        ("RESIDENCE", "Munich"),
    ]
    xml = "<patient><mrn>H-88120</mrn><birthDate>1990-01-31</birthDate></patient>"
    assert _found(xml) == [("MEDICAL_RECORD_NUMBER", "H-88120"), ("DATE_OF_BIRTH", "1990-01-31")]
    log = "2026-11-02T10:00:01Z login ok user=m.okonjo src_ip=81.2.69.160 session_id=1"
    assert ("PERSON", "m.okonjo") in _found(log) and ("IP_ADDRESS", "81.2.69.160") in _found(log)
    prose = "Name: Pilar Echeverría | Postcode: LS2 9JT | DOB: 30/06/1994"
    assert _found(prose) == [("PERSON", "Pilar Echeverría"), ("POSTCODE", "LS2 9JT"), ("DATE_OF_BIRTH", "30/06/1994")]


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "checkout-service", "version": "2.4.1", "private": true}',
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: payments\n  namespace: prod",
        "| City | Population |\n|---|---|\n| Lagos | 15 million |",
        '{"dob": null, "email": "", "phone": "n/a"}',
        "PWD=/home/build\nOLDPWD=/tmp\npassword=${DB_PASSWORD}",
    ],
)
def test_generic_keys_alone_empty_values_and_placeholders_are_not_findings(text: str) -> None:
    assert _found(text) == []


def test_the_analyzer_reports_keyed_values(detector: DetectionEngine) -> None:
    text = 'payload = {"passport_no": "P22871930", "nationality": "GH"}'
    results = detector.analyzer.analyze(text=text, language="en", entities=["PASSPORT_NUMBER"])
    assert [(r.entity_type, text[r.start : r.end]) for r in results] == [("PASSPORT_NUMBER", "P22871930")]
