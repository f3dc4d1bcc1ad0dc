"""A name beside a found name: joined to it by "and" or a comma, or in its column of a headerless list."""

from __future__ import annotations

import re

import pytest

from proxy.detection.siblings import siblings
from proxy.exchange import Finding, Slot

from .conftest import RunningProxy
from .mock_vendor import MockVendor


def _added(text: str, *names: str) -> list[str]:
    """The values `siblings` adds to PERSON findings on `names` in `text`."""
    found = [Finding(0, text.index(name), text.index(name) + len(name), "PERSON", 0.85) for name in names]
    return [text[f.start : f.end] for f in siblings([Slot(("m",), text)], found)[len(found) :]]


@pytest.mark.parametrize(
    ("text", "found", "added"),
    [
        (
            "In re Marriage of Oyinkansola Bright and Tomas Varga, Case No. 24FL01",
            "Tomas Varga",
            ["Oyinkansola Bright"],
        ),
        ("Mandanten sind Ilse Brandauer und Kemal Yıldırım.", "Ilse Brandauer", ["Kemal Yıldırım"]),
        ("invite Nkechi Obi, Farrukh Aliev and Signe Halvorsen", "Signe Halvorsen", ["Farrukh Aliev"]),
    ],
)
def test_a_name_joined_to_a_found_name_is_a_name(text: str, found: str, added: list[str]) -> None:
    assert _added(text, found) == added


def test_the_rows_of_a_headerless_list_name_one_person_each_in_the_column_of_a_found_name() -> None:
    """Each record holds a found date of birth; the header row holds nothing found and stays."""
    text = (
        "Make a table of these:\n"
        "Name - Born - Class\n"
        "Ousmane Kane - 02/09/2011 - 2e B\n"
        "Maëlys Perrin - 19/01/2012 - 2e B\n"
        "Ilyes Bensaid - 30/06/2011 - 2e C\n"
    )
    births = [(d, "DATE_OF_BIRTH") for d in ("02/09/2011", "19/01/2012", "30/06/2011")]
    found = [Finding(0, text.index(v), text.index(v) + len(v), kind, 0.85) for v, kind in births]
    found.append(Finding(0, text.index("Maëlys Perrin"), text.index("Maëlys Perrin") + 13, "PERSON", 0.85))
    added = siblings([Slot(("m",), text)], found)[len(found) :]
    assert [text[f.start : f.end] for f in added] == ["Ousmane Kane", "Ilyes Bensaid"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Patient Zofia Marek, DOB 12/03/1961, MRN 44817", "Zofia Marek"),  # a label and its value
        ("Send it to Anja Roth and Accounts Payable by Friday.", "Anja Roth"),  # common words
        ("Flights between Lagos and Tendai Moyo", "Tendai Moyo"),  # a town
        ("Ref: Bukola Ade, IBAN DE89 3704 0044 0532 0130 00", "Bukola Ade"),  # an acronym
        ("Compare how Satya Nadella and Oyelaran Bakre run their meetings", "Oyelaran Bakre"),  # a public figure
    ],
)
def test_a_label_common_words_a_town_or_an_acronym_beside_a_name_are_no_name(text: str, found: str) -> None:
    assert _added(text, found) == []


@pytest.mark.parametrize(
    ("text", "added"),
    [
        ("Bizum al 612 448 903 (Itziar) o transferencia", ["Itziar"]),
        ("call 0161 496 0000 (Mobile) or 0161 496 0001 (WhatsApp)", []),  # words, not owners
        ("phone 020 7946 0000 (UK), ext 4", []),  # an acronym
    ],
)
def test_a_name_in_brackets_after_a_phone_number_is_its_owner(text: str, added: list[str]) -> None:
    number = re.search(r"\d[\d ]{8,}\d", text)
    assert number is not None
    phone = [Finding(0, number.start(), number.end(), "PHONE_NUMBER", 0.7)]
    found = siblings([Slot(("m",), text)], phone)[1:]
    assert [text[f.start : f.end] for f in found] == added


def test_a_weak_finding_vouches_for_no_neighbour() -> None:
    text = "Ravi Menon and Kaito Mori"
    weak = [Finding(0, 0, 10, "PERSON", 0.3)]
    assert siblings([Slot(("m",), text)], weak) == weak


def test_the_live_proxy_keeps_a_name_joined_to_a_found_one_from_the_vendor(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    """Through the real pipeline with the OpenAI SDK: neither party of the case reaches the vendor."""
    proxy.client().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Draft a motion in re Marriage of Oyinkansola Bright and Tomas Varga."}],
    )
    sent = vendor.last["messages"][0]["content"]
    assert "Oyinkansola" not in sent and "Bright" not in sent and "Varga" not in sent
