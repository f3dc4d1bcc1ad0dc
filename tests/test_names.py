"""Names the small spaCy model misses: case, order, titles, cultures; and common words that are not names."""

from __future__ import annotations

import asyncio

import pytest

from proxy.detection import DetectionEngine
from proxy.detection.names import LONE_NAME_SCORE, NameListRecognizer
from proxy.detection.script_names import script_names
from proxy.exchange import Slot


def _people(detector: DetectionEngine, text: str) -> list[str]:
    findings = asyncio.run(detector.detect([Slot(("m",), text)], {"PERSON"}, []))
    return sorted(text[f.start : f.end] for f in findings if f.score >= 0.4)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hey its maria gonzalez again, still no refund", "maria gonzalez"),
        ("Escalate to KIMBERLY BURNS before noon", "KIMBERLY BURNS"),
        ("Reviewer: Kowalczyk, Anna; status open", "Kowalczyk, Anna"),
        ("Please ask Dr. Adeyemi about the results", "Adeyemi"),
        ("Schreiben Sie an Frau Weißmüller bitte", "Weißmüller"),
        ("The tenant Ignacy Mosur signed the lease", "Ignacy Mosur"),
        ("Landlord Gamrat, Antoni signed as well", "Gamrat, Antoni"),
    ],
)
def test_when_a_name_is_written_the_way_people_write_it_then_it_is_found(
    detector: DetectionEngine, text: str, name: str
) -> None:
    assert any(name in found for found in _people(detector, text))


@pytest.mark.parametrize(
    "text",
    [
        "Convert this JSON to a table please",
        "Salary adjustment from 1 April",
        "will you mark the green items as done",
        '{"order_id": "A-88213", "status": "shipped"}',
        "2024-03-02T10:14:22Z INFO Mar 02 login ok",
    ],
)
def test_when_words_are_common_or_identifiers_then_no_person_is_found(detector: DetectionEngine, text: str) -> None:
    assert _people(detector, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please copy Jansen on the reply.", ["Jansen"]),
        ("The form was signed by Nguyen and returned.", ["Nguyen"]),
        ("Jansen signed the form.", []),  # a sentence start: any word is capitalised there
        ("Forward the invoice to Adeyemi before Friday.", []),  # spaCy calls it a place: left to other rules
    ],
)
def test_a_lone_known_name_mid_sentence_counts_unless_spacy_calls_it_a_place(
    detector: DetectionEngine, text: str, expected: list[str]
) -> None:
    _, artifacts = next(detector.analyzer.nlp_engine.process_batch([text], language="en"))
    found = NameListRecognizer().analyze(text, ["PERSON"], artifacts)
    assert [text[r.start : r.end] for r in found if r.score == LONE_NAME_SCORE] == expected


@pytest.mark.parametrize(
    ("text", "name", "score"),
    [
        ("The tenant is Lucía Fernández Quilapán, see the lease.", "Lucía Fernández Quilapán", 0.85),
        ("Forward it to Ciara Ní Fhlannagáin today.", "Ciara Ní Fhlannagáin", 0.85),
        ("Ring Ryota Yamaguchi at noon", "Ryota Yamaguchi", 0.6),
        ("Ring Oluwadamilare Adeyemi at noon", "Oluwadamilare Adeyemi", 0.6),
        ("CLIENT: NWACHUKWU-BELL, Chidera. Hearing next week.", "NWACHUKWU-BELL, Chidera", 0.6),
        ("Log it: Will Faleolo-Tuala phoned in sick.", "Will Faleolo-Tuala", 0.6),  # a short form, then a rare word
    ],
)
def test_a_family_name_no_list_holds_still_completes_a_name(text: str, name: str, score: float) -> None:
    """After a full name or a particle a rare capitalised word is part of it; a rare word before a
    listed family name is a given name."""
    found = [(text[r.start : r.end], r.score) for r in NameListRecognizer().analyze(text, ["PERSON"], None)]
    assert (name, score) in found


def test_a_rare_word_before_a_common_word_family_name_is_no_name() -> None:
    text = "Our Scrum Master runs the retro on Fridays."
    assert NameListRecognizer().analyze(text, ["PERSON"], None) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("best man speech draft: the groom is 최민준, keep it short", ["최민준"]),
        ("cc 刘洋 and 佐藤 美咲 on the thread", ["佐藤 美咲", "刘洋"]),
        ("invoice for Игорь Соколов, paid in full", ["Игорь Соколов"]),
        ("translate 谢谢 and 你好 into English", []),
        ("what does 사랑해 mean in this song?", []),
        ("东京 and 大阪 are both big cities", []),
    ],
)
def test_a_name_in_another_script_than_the_prompt_is_a_person(text: str, expected: list[str]) -> None:
    assert sorted(text[f.start : f.end] for f in script_names(text)) == sorted(expected)


def test_a_prompt_written_in_that_script_is_left_to_the_other_recognizers() -> None:
    assert list(script_names("王先生今天去北京开会，李女士明天回来。")) == []
