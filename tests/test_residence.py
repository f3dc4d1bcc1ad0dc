"""Where people live: a town after a residence cue or a postcode, postcodes by label or shape."""

from __future__ import annotations

import re

import pytest

from proxy.detection import residence
from proxy.detection.labelled_ids import first_letter_alternation
from proxy.detection.residence import residences


def _found(text: str) -> list[tuple[str, str]]:
    return sorted({(f.entity, text[f.start : f.end]) for f in residences(text)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my aunt lives alone in Whakatāne and needs help", [("RESIDENCE", "Whakatāne")]),
        ("Der Mieter wohnt seit 2019 in Gelsenkirchen.", [("RESIDENCE", "Gelsenkirchen")]),
        ("Elle habite à Saint-Étienne depuis mars", [("RESIDENCE", "Saint-Étienne")]),
        ("El cliente reside en Valladolid con su familia", [("RESIDENCE", "Valladolid")]),
        ("la paziente abita a Civitavecchia", [("RESIDENCE", "Civitavecchia")]),
        ("hij woont in Apeldoorn sinds vorig jaar", [("RESIDENCE", "Apeldoorn")]),
        ("hon bor i Umeå med sin man", [("RESIDENCE", "Umeå")]),
        ("ship to 04109 Leipzig please", [("POSTCODE", "04109"), ("RESIDENCE", "Leipzig")]),
        ("adres: Kerkstraat 4, 3511 LX Utrecht", [("POSTCODE", "3511 LX"), ("RESIDENCE", "Utrecht")]),
        ("billing postcode G12 8QQ", [("POSTCODE", "G12 8QQ")]),
        ("PLZ: 80997, Ort unbekannt", [("POSTCODE", "80997")]),
        ("mailing address ends Halifax, NS B3H 4R2", [("POSTCODE", "B3H 4R2")]),
        ("Surry Hills NSW 2010", [("POSTCODE", "2010")]),
        ("Springfield, IL 62704-1234", [("POSTCODE", "62704-1234")]),
        ("gedaagde P. van Dam, wonende te Zwolle, wordt", [("RESIDENCE", "Zwolle")]),
        ("Gewinner: Anna Kowal aus Jena, Fritz Meier aus Bamberg.", [("RESIDENCE", "Bamberg"), ("RESIDENCE", "Jena")]),
        ("c'est Kévin Dubois, de Roubaix, qui a gagné", [("RESIDENCE", "Roubaix")]),
        ("Piotr Nowak z Radomia zgłosił szkodę", [("RESIDENCE", "Radomia")]),
        ("Wohnort: Bamberg", [("RESIDENCE", "Bamberg")]),
        ("he was born 4 May 1979\nin Tralee and still lives there", [("RESIDENCE", "Tralee")]),
        ("my ex keeps texting. he lives in\nCarlow now. what is", [("RESIDENCE", "Carlow")]),
        ("her brother Darius in Winnipeg needs it too", [("RESIDENCE", "Winnipeg")]),
        ("mein Bruder Jonas in Hamburg hat angerufen", [("RESIDENCE", "Hamburg")]),
        ("mon frère Luc à Grenoble", [("RESIDENCE", "Grenoble")]),
        (
            "We live in Kormangala, Bengaluru 560034.",
            [("POSTCODE", "560034"), ("RESIDENCE", "Bengaluru"), ("RESIDENCE", "Kormangala")],
        ),
        ("sig. Omar Said, nato a Tripoli il 05/06/1979", [("RESIDENCE", "Tripoli")]),
        ("née le 12/03/1990 à Quimper", [("RESIDENCE", "Quimper")]),
        ("Val thuis in Lokeren, heupfractuur links", [("RESIDENCE", "Lokeren")]),  # at home in a town
        ("è nato nel 1931 a Siracusa e vive ancora lì da solo", [("RESIDENCE", "Siracusa")]),
        ("nació en Teruel y vive allí con su hija", [("RESIDENCE", "Teruel")]),
        ("Wohnort laut Meldebescheinigung: Bietigheim-Bissingen.", [("RESIDENCE", "Bietigheim-Bissingen")]),
        ("my Leeds-based cousin", [("RESIDENCE", "Leeds")]),
        ("I'm Bristol-based these days", [("RESIDENCE", "Bristol")]),
        ("Hoe is het in Utrecht, waar mijn zus nog steeds woont?", [("RESIDENCE", "Utrecht")]),
        ("she lives in New York with two cats", [("RESIDENCE", "New York")]),
        ("vive a Pescara da anni", [("RESIDENCE", "Pescara")]),
    ],
)
def test_a_home_town_or_postcode_is_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "What is the best time to visit Kyoto?",
        "The Berlin office moved to a new floor.",
        "We sold 12000 Units last quarter",
        "our team is based in the cloud",
        "Python 3.12 was released in October",
        "Die Lieferung aus Berlin kam spät",
        "Der Wein aus Spanien ist teuer",
        "Juan Carlos de Borbón visitó el museo",
        "the Paris agreement was signed in 2015",
        "my daughter Mia in French class",
        "my son Tom in Year 5",
        "a Berlin-based startup is hiring",
        "Mozart was born 27 January 1756 in Salzburg",
        "Is the train from Lisbon to Porto worth it? my friend in Porto says yes",
        "we are staying at Hotel Sacher, what should we see?",
        "room 12B is on the second floor",
    ],
)
def test_places_in_general_questions_and_numbers_are_not_findings(text: str) -> None:
    assert _found(text) == []


def test_the_patterns_skipped_in_a_text_without_a_digit_never_match_one() -> None:
    texts = [
        "PLZ: 10117, Postleitzahl 80331 München, zip code 90210, CAP 00184, code postal 75011 Paris",
        "London SW1A 1AA, Toronto M5V 3L9, 1012 AB Amsterdam, Austin, TX 78701, Sydney NSW 2000",
        "Geschäftsadresse: 10117 Berlin; nato a Bari il 03/04/1981, born on 4.5.1990 in Leeds",
        "eircode D02 X285, kod pocztowy 00-950, postnummer 114 55, pin code 560034",
    ]
    patterns = [pattern for why, pattern in residence._RESIDENCES if why in residence._DATED]
    patterns += [pattern for _, pattern, _ in residence._POSTCODES]
    assert any(pattern.search(text) for text in texts for pattern in patterns)
    for text in texts:
        digitless = re.sub(r"\d", "", text)
        assert not any(pattern.search(digitless) for pattern in patterns)


def test_cues_and_relatives_tried_by_first_letter_match_as_one_alternation_would() -> None:
    texts = [
        "She lives in Leeds, he moved to Cork; wohnt in Bonn, habite à Metz, vive en Lugo, abita a Bari",
        "LIVES NEAR York; Resides At Hull; woont te Zwolle; mora em Braga; bor i Malmö; mieszka w Radomiu",
        "my brother Kian in Leeds, ma sœur Léa à Lyon, mi hermana Ana en Vigo, SISTER Kate in Derby",
        "Wohnort: Bamberg, place of residence: Metz; grew up in Ipswich; ſettled in Bath (a long s)",
    ]
    for alternatives in (list(residence._CUES), residence._KIN.split("|")):
        plain = re.compile(rf"(?<![\w-])(?i:{'|'.join(alternatives)})")
        bucketed = re.compile(rf"(?<![\w-])(?i:{first_letter_alternation(alternatives)})")
        for text in texts:
            assert [m.span() for m in bucketed.finditer(text)] == [m.span() for m in plain.finditer(text)]
        assert any(plain.search(text) for text in texts)
