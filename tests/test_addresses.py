"""Street addresses in several countries' orders, with their postcode and town."""

from __future__ import annotations

import asyncio
import re

import pytest
from presidio_analyzer import PatternRecognizer

from proxy.detection import DetectionEngine
from proxy.detection.addresses import StreetAddressRecognizer
from proxy.exchange import Slot


def _addresses(detector: DetectionEngine, text: str) -> list[str]:
    findings = asyncio.run(detector.detect([Slot(("m",), text)], {"STREET_ADDRESS"}, []))
    return [text[f.start : f.end] for f in findings]


ADDRESSES = [
    "47B Aldwick Street, London NW1 6XE",  # (221B Baker Street is fiction: noise.py drops it)
    "391 Johnson Burg Apt. 636, New Jeffreymouth, FL 95639",
    "Lindenstraße 23, 10969 Berlin",
    "Karl-Marx-Allee 7, 10178 Berlin",
    "20, avenue Jean Robert, 05444 Pagesboeuf",
    "Calle de Ema Abril 44, 39741 Guadalajara",
    "Via Roma, 5, 00184 Roma",
    "ul. Pocztowa 867, 29-399 Jasło",
    "Evibaan 743, 1500PI Abbekerk",
    "Rua das Flores, 12, 50008-063 Recife",
    "via Garibaldi 41, 20121 Milano",
    "corso Vercelli 12, 10152 Torino",
    "Avda. de la Libertad 22, 4ºB, 28004 Madrid",
    "Calle Mayor 9, 2º dcha, 31001 Pamplona",
    "ul. Długa 15 m. 7, 80-831 Gdańsk",
    "Van Eeghenstraat 91-3, 1071 GG Amsterdam",
    "22 Foxglove Close, Attleborough, NR17 2AB",
    "8 Primrose Crescent, Leeds LS6 2AB",
    "Prinsengracht 233-II, 1015 DT Amsterdam",
    "Flat 2, 14 Elm Grove Road, Leeds LS6 2AB",
    "Calle de Lope 5 Puerta 3 , 28014 Madrid",
    "Av. Reforma Norte 210, Col. Guerrero Centro, 06300 CDMX",
    "Rua da Boavista 77, 1200-066 Lisboa",
    "17 Kilmore Terrace, Dublin 8, D08 X2Y3",
    "Rua Augusta 100, 2º Esq., 1100-053 Lisboa",
    "Keizersgracht 12 hs, 1015 CS Amsterdam",
    "appart 5B, 23 rue Oberkampf 75011 Paris",
    "Wohnung 3, Lindenstraße 23, 10969 Berlin",
    "Venloer Str. 241, 50823 Köln",
    "Lange Straße 5, 26122 Oldenburg",
    "Torino, Corso Francia 112, 10143",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_when_a_street_address_is_written_then_the_whole_of_it_is_found(
    detector: DetectionEngine, address: str
) -> None:
    assert _addresses(detector, f"Please ship it to {address}. Thanks") == [address]


@pytest.mark.parametrize(
    "text",
    [
        "Avenue Q is a musical",
        "the High Street was busy",
        "we met on Main Street",
        "version 2 of Street Fighter",
        "send it via email in 3 days",
        "in via di principio 3 casi",
        "room 12B is on the second floor",
        "Der Weg 12 ist lang",
        "Jeder Platz 3 zählt",
    ],
)
def test_when_a_street_word_has_no_house_number_then_it_is_not_an_address(detector: DetectionEngine, text: str) -> None:
    assert _addresses(detector, text) == []


def test_no_street_pattern_matches_a_text_without_a_digit_so_such_a_text_skips_them() -> None:
    recognizer = StreetAddressRecognizer()
    for address in ADDRESSES:
        text = re.sub(r"\d", "", f"Please ship it to {address}. Thanks")
        assert PatternRecognizer.analyze(recognizer, text, ["STREET_ADDRESS"]) == []
    assert recognizer.analyze("Please ship it to Lindenstraße 23, 10969 Berlin", ["STREET_ADDRESS"])
