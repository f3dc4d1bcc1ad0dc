"""Names found by the words around them, personal URLs, and the English model's slips on other
languages."""

from __future__ import annotations

import pytest

from proxy.detection.language import language_of
from proxy.detection.noise import without_noise
from proxy.detection.person_cues import cued_names
from proxy.detection.personal_urls import personal_urls
from proxy.exchange import Finding


def _names(text: str) -> list[str]:
    return sorted({text[f.start : f.end] for f in cued_names(text)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quick q - talked to siobhan about the rota", ["siobhan"]),
        ("the customer says marek from billing never rang back", ["marek"]),
        ("hey, it's tunde here, locked out again", ["tunde"]),
        ("bed 4 is oluwaseun adeyemi-clarke, 71F, post hip op", ["oluwaseun adeyemi-clarke"]),
        ("Please wire it to beneficiary Ngaio Te Rangi today", ["Ngaio Te Rangi"]),
        ("The policy is in the name of Ikaika Kealoha, renewal due", ["Ikaika Kealoha"]),
        ("send the draft to Halvard Sørli (halvard@fjord.no)", ["Halvard Sørli"]),
        ("Kündigung für Radoslav Petković (Personalnummer 40118) vorbereiten", ["Radoslav Petković"]),
        ("紹介状：山本 花子 様へ", ["山本 花子"]),
        ("sshd[811]: Accepted publickey for ingrid.haug from 81.2.69.160 port 5022", ["ingrid.haug"]),
        ("clone https://tpham:Xq9-stub-77@git.internal/repo.git fails", ["tpham"]),
        ("Next of kin: son Kawika, same address.", ["Kawika"]),
        ("Summary: the claimant is Oyelowo Fashola and the hearing is set.", ["Oyelowo Fashola"]),
        ("Please fill it in for Tsholofelo Mabaso, she starts Monday", ["Tsholofelo Mabaso"]),
        ("leave the croft to my niece Ailsa Mhairi Drummond and the boat", ["Ailsa Mhairi Drummond"]),
        ("it's for my uncle tahir, he can't read small print", ["tahir"]),
        ("mi abuela Eulalia vive sola", ["Eulalia"]),
        ("Bins go out Friday. Sign it from Obiageli.", ["Obiageli"]),
        ("Kind regards,\nMaelle Quéméneur-Riou\nAccounts team", ["Maelle Quéméneur-Riou"]),
        ("my dad is confused, he's Venkataraman Subramaniam, born in 1941", ["Venkataraman Subramaniam"]),
        ("she says Chidinma's mum will pick her up", ["Chidinma"]),
        ("team lead, Faith from payroll says the form is wrong", ["Faith"]),
        ("Hi Joy,\nthanks for reaching out about the role", ["Joy"]),  # a given name that is a word
        ("i'm in flat 2, sign it from Hope", ["Hope"]),
        ('schreib: "bin heute krank, danke. lg Ottilie"', ["Ottilie"]),  # a chat's closing mid-line
        ("IBAN FR76 1234, titulaire Aurèle-Benoît Mvondo. merci", ["Aurèle-Benoît Mvondo"]),
        ("il suo responsabile, Gianluca, vorrebbe confermarla", ["Gianluca"]),
        ("la carta de un empleado, Unai Arrieta Zubizarreta, por faltas", ["Unai Arrieta Zubizarreta"]),
        ("ok so ask oluwakemi whether she can cover. and remind tadeusz that it's at 3", ["oluwakemi", "tadeusz"]),
        ("my great-grandmother was Áile Ristenna Gaup, born 1899", ["Áile Ristenna Gaup"]),
        ("user locked out (username tbakare7) after the reset", ["tbakare7"]),
        ('10.2.3.4 - jnowak [11/Mar/2025:02:14:09 +0000] "GET /admin/ HTTP/1.1" 302', ["jnowak"]),  # access log
        ("Benutzername: hkoenig, Passwort vergessen", ["hkoenig"]),
        ("plan the seating. also kofi is vegetarian", ["kofi"]),  # a chat's lower-case subject
        ("bed 9 - hope mcgarrigle (b. 3 Feb 1948) MRN 7735108", ["hope mcgarrigle"]),  # a given name that is a word
        ("lieve groet, femke gaat verhuizen", ["femke"]),
    ],
)
def test_a_name_next_to_a_person_cue_is_found(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hello team, ask about the invoice before Friday",
        "The patient is stable and the app says 401",
        "Manager Operations signs off the budget",
        "Postgres says syntax error near VALUES",
        "sshd: Accepted publickey for root from 10.0.0.2; clone https://git:tok3n@git.internal/x",
        "env: {name: DB_PASSWORD, value: x}",
        "Peter Parker lives here",  # the name is the model's and the lists' to find; "lives" is no name
    ],
)
def test_cue_words_without_a_name_find_nothing(text: str) -> None:
    assert _names(text) == []


def test_profile_links_and_links_carrying_an_e_mail_are_personal_urls() -> None:
    text = (
        "see https://www.linkedin.com/in/aroha-ngata-dev/ and https://github.com/tkowalczyk, "
        "unsubscribe https://mail.shop.test/u?e=ana%40mail.pt&l=2 — not https://github.com/psf/requests"
    )
    assert [text[f.start : f.end] for f in personal_urls(text)] == [
        "https://www.linkedin.com/in/aroha-ngata-dev/",
        "https://github.com/tkowalczyk",
        "https://mail.shop.test/u?e=ana%40mail.pt&l=2",
    ]


def test_the_language_of_a_text_is_told_by_its_function_words() -> None:
    assert language_of("Bitte schreib dem Kunden, dass die Lieferung sich verzögert und wir uns melden.") == "de"
    assert language_of("Peux-tu résumer ce dossier pour la réunion de demain ?") == "fr"
    assert language_of("Can you summarise this for the meeting tomorrow?") == "en"
    assert language_of("ok") == "en"


def _person(text: str, value: str, recognizer: str = "SpacyRecognizer") -> Finding:
    start = text.index(value)
    return Finding(0, start, start + len(value), "PERSON", 0.85, recognizer)


def test_the_english_models_persons_in_another_language_need_a_listed_name() -> None:
    text = "Bitte schreib eine Abmahnung für Herrn Günther Oberholzer wegen der Verspätung."
    slip, name = _person(text, "Abmahnung"), _person(text, "Günther Oberholzer")
    assert without_noise([slip, name], text) == [name]


def test_model_slips_and_eponyms_are_not_persons() -> None:
    text = "Explain Hodgkin lymphoma to my mum; the DB is down."
    findings = [_person(text, "Hodgkin"), _person(text, "mum"), _person(text, "DB")]
    assert without_noise(findings, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Revenue from sales grew 4% this quarter.",
        "Die Beklagte Versicherung verweigert die Zahlung aus der Police, und wir sind nicht einverstanden.",
        "Die Kontrolle im Fuhrpark: bitte bis Freitag.",
        "Das war nicht verfügbar, sagt sie.",
        "he's Italian and she's tired",
        "Best regards,\nThe Support Team",
        "my friend said the cafe is closed",
        "Hi Team, the release is out",  # a greeting before a word that is no given name
        "please sign off by Friday",
        "I loved it. Love Actually is great",  # a closing word before a title and a verb
        "scrivimi un biglietto per il nonno che compie 95 anni",  # Italian function and common words
        "tell kubectl to apply it, then ask chatgpt",  # a command and an assistant are no people
        "login failed twice; username: admin; the login page is slow",  # words and a service account
        "max is 5 minutes, the kafka is down and kubectl is broken",  # a word, a tool, a command before "is"
        "PersNr\tName\tAbteilung\tIBAN\tBrutto",  # a table's header row: the cells after "Name" are no name
        "INSERT INTO users (id, full_name, email, dob, postcode) VALUES",  # a list after a cue word's comma
        '203.0.113.7 - - [11/Mar/2025:02:14:07 +0000] "POST /xmlrpc.php HTTP/1.1" 405',  # no user in the log
        "Ich bin Pflegefachkraft im dritten Ausbildungsjahr und brauche Merksätze.",  # a German noun's ending
        "Pedir el número de pedido (formato PED-0048812) y verificar",  # Spanish words before a label
    ],
)
def test_a_cue_before_a_sentences_first_word_a_noun_or_common_words_finds_no_name(text: str) -> None:
    assert _names(text) == []
