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


def test_a_csv_with_first_and_last_name_columns_and_a_patient_id_column() -> None:
    text = "pt_id,first,last,dob\nP-5530,Ihaia,Waititi-Moana,2/14/1979\nP-5531,Nkechi,Obi,7/1/1990"
    assert _found(text) == [
        ("MEDICAL_RECORD_NUMBER", "P-5530"), ("PERSON", "Ihaia"), ("PERSON", "Waititi-Moana"),
        ("DATE_OF_BIRTH", "2/14/1979"), ("MEDICAL_RECORD_NUMBER", "P-5531"), ("PERSON", "Nkechi"),
        ("PERSON", "Obi"), ("DATE_OF_BIRTH", "7/1/1990"),
    ]  # fmt: skip
    assert _found("first,last\nalpha,omega") == []  # generic columns alone: a list of anything


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
        "INSERT INTO sites (label, address, postcode) VALUES ('Depot', '1 Quay Road, Portree', 'IV51 9DB');",
        "NAME                      READY   STATUS    RESTARTS   AGE\npayments-7d9f8b-xk2lp     1/1     Running   0   3d",
        "Proto Recv-Q Send-Q Local Address      Foreign Address    State\ntcp   0   0 0.0.0.0:22    0.0.0.0:*   LISTEN",
    ],
)
def test_generic_keys_alone_empty_values_and_placeholders_are_not_findings(text: str) -> None:
    assert _found(text) == []


def test_the_analyzer_reports_keyed_values(detector: DetectionEngine) -> None:
    text = 'payload = {"passport_no": "P22871930", "nationality": "GH"}'
    results = detector.analyzer.analyze(text=text, language="en", entities=["PASSPORT_NUMBER"])
    assert [(r.entity_type, text[r.start : r.end]) for r in results] == [("PASSPORT_NUMBER", "P22871930")]


def test_a_quoted_csv_cell_may_hold_the_delimiter() -> None:
    text = 'ref,name,mail\nS-301,"Lindqvist, Maja",m.l@ex.org\nS-302,"Adeyemi, ""Tunde""",t.a@ex.org'
    found = _found(text)
    assert ("PERSON", "Lindqvist, Maja") in found and ("EMAIL_ADDRESS", "t.a@ex.org") in found
    assert [entity for entity, _ in found] == ["PERSON", "EMAIL_ADDRESS"] * 2


@pytest.mark.parametrize(
    "text",
    [
        "policy_ref   | insured_name     | zip   | birth_date\n"
        "-------------+------------------+-------+-----------\n"
        "PX-2231009   | Halvard Rønning  | 90210 | 1961-04-17\n(1 row)",
        "+------------+------------------+-------+------------+\n"
        "| policy_ref | insured_name     | zip   | birth_date |\n"
        "+------------+------------------+-------+------------+\n"
        "| PX-2231009 | Halvard Rønning  | 90210 | 1961-04-17 |\n"
        "+------------+------------------+-------+------------+\n1 row in set (0.00 sec)",
        "MRN         Insured Name      Zip    Birth Date\n"
        "----------  ----------------  -----  ----------\n"
        "PX-2231009  Halvard Rønning   90210  1961-04-17\n\nTotal  one  row",
    ],
    ids=["psql", "mysql", "fixed-width"],
)
def test_query_results_and_fixed_width_tables_are_read_under_their_headers(text: str) -> None:
    values = [value for _, value in _found(text)]
    assert values == ["PX-2231009", "Halvard Rønning", "90210", "1961-04-17"]


def test_a_fixed_width_row_whose_text_crosses_a_column_start_ends_the_table() -> None:
    text = "Name          Email\nIlse Vermeulen ilse@ex.org\nWout Claes    wout@ex.org"
    assert _found(text) == []


def test_sql_insert_values_are_mapped_to_their_columns_by_position() -> None:
    text = (
        "INSERT INTO `clients` (`id`, `nombre_cliente`, fecha_nac, notes) VALUES\n"
        "(7, 'Ó''Súilleabháin, Áine', '1970-02-03', NULL),\n"
        "(8, 'Tane Wiremu', DATE('1988-08-08'), 'call, later')\n"  # a missing comma does not end it
        "(9, 'Zofia Nowak', '1999-09-09');"
    )
    assert _found(text) == [
        ("PERSON", "Ó''Súilleabháin, Áine"),
        ("DATE_OF_BIRTH", "1970-02-03"),
        ("PERSON", "Tane Wiremu"),
        ("DATE_OF_BIRTH", "DATE('1988-08-08')"),
    ]
    assert _found("UPDATE users SET email = 'jo@ex.org' WHERE ssn = '123-45-6789'") == [
        ("EMAIL_ADDRESS", "jo@ex.org"),
        ("US_SSN", "123-45-6789"),
    ]


@pytest.mark.parametrize(
    ("key", "entity"),
    [
        ("holder_name", "PERSON"), ("policyholderName", "PERSON"), ("primary_driver_name", "PERSON"),
        ("Kundenname", "PERSON"), ("nom_client", "PERSON"), ("nombre_paciente", "PERSON"), ("naam_klant", "PERSON"),
        ("Nominativo", "PERSON"), ("cc_number", "CREDIT_CARD"), ("card", "CREDIT_CARD"), ("PAN", "CREDIT_CARD"),
        ("loyalty_id", "ACCOUNT_NUMBER"), ("Mitgliedsnummer", "ACCOUNT_NUMBER"), ("DNI/NIE", "NATIONAL_ID"),
        ("Phone/Mobile", "PHONE_NUMBER"), ("Expediente", "CASE_NUMBER"), ("N° dossier", "CASE_NUMBER"),
        ("Schadennummer", "CASE_NUMBER"), ("Zaaknummer", "CASE_NUMBER"), ("numero_sinistro", "CASE_NUMBER"),
        ("claim", "CASE_NUMBER"), ("Fecha nac.", "DATE_OF_BIRTH"), ("Codice postale", "POSTCODE"),
        ("Straße", "STREET_ADDRESS"), ("Kontoinhaber", "PERSON"), ("Titular de la cuenta", "PERSON"),
        ("Cognome e nome", "PERSON"), ("N° de sécurité sociale", "NATIONAL_ID"), ("Carta d'identità", "NATIONAL_ID"),
        ("Führerscheinnummer", "DRIVER_LICENSE"), ("Rijbewijsnummer", "DRIVER_LICENSE"),
        ("Numero passaporto", "PASSPORT_NUMBER"), ("Personeelsnummer", "EMPLOYEE_ID"), ("N° client", "ACCOUNT_NUMBER"),
    ],
)  # fmt: skip
def test_headers_for_roles_cards_memberships_and_case_files_in_six_languages(key: str, entity: str) -> None:
    assert field_type(key) == (entity, False)


@pytest.mark.parametrize("key", ["Cliente", "Kunde", "Klant", "Paziente", "Mitarbeiter", "Patient"])
def test_a_bare_role_header_names_a_person_only_beside_a_sure_column(key: str) -> None:
    assert field_type(key) == ("PERSON", True)
    assert _found(f"{key};Stadt\nJonas Weber;Kiel") != []  # two kinds of column
    assert _found(f"{key};Status\nJonas Weber;open") == []


@pytest.mark.parametrize(
    "key", ["package_name", "file_name", "host_name", "parent_name", "Local Address", "caller_name", "node_name"]
)
def test_names_of_things_stay_generic_or_nothing(key: str) -> None:
    assert field_type(key) is None


def test_json_records_in_an_array_across_lines_are_read_key_by_key() -> None:
    text = (
        "tidy this up:\n[\n"
        '  {"name": "Oskar Jansen", "city": "Tromsø", "card": "4111 1111 1111 1111", "membership_no": "M-2291"},\n'
        '  {"name": "Lea Fink", "city": "Graz"}\n]'
    )
    assert _found(text) == [
        ("PERSON", "Oskar Jansen"),
        ("RESIDENCE", "Tromsø"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("ACCOUNT_NUMBER", "M-2291"),
        ("PERSON", "Lea Fink"),
        ("RESIDENCE", "Graz"),
    ]


def test_a_staff_location_is_a_site_not_a_residence() -> None:
    assert _found("emp_no,location,start\nE-17,Rotterdam,2024-01-02") == [("EMPLOYEE_ID", "E-17")]


def test_a_user_beside_a_password_alone_is_a_service_account() -> None:
    text = 'db = connect(host="db.lan", user="etl_batch", password="K3ep!Out-2026")'
    assert _found(text) == [("PASSWORD", "K3ep!Out-2026")]
    assert ("PERSON", "Ines Duarte") in _found('{"name": "Ines Duarte", "password": "x9!Tq-7", "email": "i@d.pt"}')


def test_an_address_under_its_key_keeps_its_commas() -> None:
    yaml = 'client:\n  name: Saoirse Whelan\n  phone: 087 123 4567\n  address: "4 Elm Row, Leith, EH6 4BS"\n'
    assert ("STREET_ADDRESS", "4 Elm Row, Leith, EH6 4BS") in _found(yaml)
    plain = "Email: f.m@ex.ie\nAddress: 12 Quay Street, Galway H91 X2Y7\nNotes: none"
    assert ("STREET_ADDRESS", "12 Quay Street, Galway H91 X2Y7") in _found(plain)
    assert ("STREET_ADDRESS", "4 Elm Row") in _found("Email: a@b.ie | Street: 4 Elm Row, Town: Leith")


def test_a_recipient_and_a_ship_to_in_a_tool_result_are_read() -> None:
    text = '{"order": "Z-1", "ship_to": "9 Dock Lane, Cobh, P24 XK70", "phone": "021 481 0000", "recipient": "Aoife Ní Bhriain"}'
    assert _found(text) == [
        ("STREET_ADDRESS", "9 Dock Lane, Cobh, P24 XK70"),
        ("PHONE_NUMBER", "021 481 0000"),
        ("PERSON", "Aoife Ní Bhriain"),
    ]


def test_html_table_cells_are_read_under_their_th_headers() -> None:
    text = (
        "<table><tr><th>Patient</th><th>Geburtsdatum</th><th>Station</th></tr>\n"
        "<tr><td>Henrike Mäkinen</td><td>02.11.1957</td><td>4B</td></tr>\n"
        "<tr><td>Aziz Rahmani</td><td>19.06.1983</td><td>2A</td></tr></table>"
    )
    assert _found(text) == [
        ("PERSON", "Henrike Mäkinen"),
        ("DATE_OF_BIRTH", "02.11.1957"),
        ("PERSON", "Aziz Rahmani"),
        ("DATE_OF_BIRTH", "19.06.1983"),
    ]
    assert _found("<tr><th>Product</th><th>Owner team</th></tr><tr><td>Kafka</td><td>Data</td></tr>") == []


def test_a_secret_key_holds_a_secret_unless_it_holds_words_or_a_setting() -> None:
    text = '{"refresh_token": "rT8xk2LqPz", "sessionid": "k2j4h5g6f7d8s9a0q1w2", "secret": "prod-db-secret"}'
    assert _found(text) == [("GENERIC_SECRET", "rT8xk2LqPz"), ("GENERIC_SECRET", "k2j4h5g6f7d8s9a0q1w2")]


@pytest.mark.parametrize(
    "text",
    [
        '{"cookie": "consent=yes", "token": "abcd", "session_id": "12", "credentials": "include"}',
        "sid=main_sid token=prod-read-only cookie_name=session",
        "<token>expiredtoken</token>",
    ],
)
def test_a_key_like_secret_key_needs_a_key_shaped_value(text: str) -> None:
    assert _found(text) == []
