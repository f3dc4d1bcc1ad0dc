"""What an evaluation case is: a chat request, where its personal values sit, and what kind they are.

A case is stored as one JSON line. Gold spans point into `body.messages[message].content` by
character offsets, so a scorer can say exactly which value leaked; `load_cases` refuses a file
whose offsets do not cut out the recorded value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

DATA = Path(__file__).parent / "data"
GENERATED = DATA / "eval_set.jsonl"
HANDWRITTEN = DATA / "handwritten.yaml"
#: hand-written independently of the recognizers, in natural phrasing (issue #15): `dev` may be read
#: and tuned on; `holdout` is scored only when named and its misses are never listed
DEV = DATA / "handwritten_dev.yaml"
HOLDOUT = DATA / "handwritten_holdout.yaml"
#: a second hand-written holdout, written later by someone else; sealed like the first
HOLDOUT2 = DATA / "handwritten_holdout2.yaml"
#: a third set by a third writer, split in two at random: `dev3` may be read and tuned on, `holdout3` is sealed
DEV3 = DATA / "handwritten_dev3.yaml"
HOLDOUT3 = DATA / "handwritten_holdout3.yaml"
#: a fourth writer's set in six languages, 41% hard negatives, split the same way
DEV4 = DATA / "handwritten_dev4.yaml"
HOLDOUT4 = DATA / "handwritten_holdout4.yaml"
#: a fifth writer's set (201 cases, 42% hard negatives), split the same way; holdout5 was first scored
#: before any change made from dev5
DEV5 = DATA / "handwritten_dev5.yaml"
HOLDOUT5 = DATA / "handwritten_holdout5.yaml"
#: a sixth writer's set of ordinary workplace prompts (205 cases), sealed whole: no half was tuned on
HOLDOUT6 = DATA / "handwritten_holdout6.yaml"
SETS = {
    "generated": GENERATED, "handwritten": HANDWRITTEN, "dev": DEV, "holdout": HOLDOUT, "holdout2": HOLDOUT2,
    "dev3": DEV3, "holdout3": HOLDOUT3, "dev4": DEV4, "holdout4": HOLDOUT4,
    "dev5": DEV5, "holdout5": HOLDOUT5, "holdout6": HOLDOUT6,
}  # fmt: skip
SEALED = frozenset({"holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6"})

#: Gold types the targets group as structured identifiers (leak <= 1%) and as free text (<= 5%).
STRUCTURED = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "NATIONAL_ID", "IP_ADDRESS", "SECRET",
    "EMPLOYEE_ID",
)  # fmt: skip
FREE_TEXT = ("PERSON", "STREET_ADDRESS")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(_Model):
    """One personal value: `body.messages[message].content[start:end] == value`."""

    message: int
    start: int
    end: int
    type: str
    value: str


class Case(_Model):
    id: str
    category: str
    locale: str = "en_US"
    #: no personal data at all: every change the proxy makes to it is a false alarm
    hard_negative: bool = False
    body: dict[str, Any]
    spans: list[Span] = []

    def text(self, message: int) -> str:
        content = self.body["messages"][message]["content"]
        assert isinstance(content, str)
        return content


def bad_spans(case: Case) -> list[str]:
    """Spans whose offsets do not cut out their value (empty when the case is sound)."""
    return [
        f"{case.id}: message {s.message} [{s.start}:{s.end}] is not {s.value!r}"
        for s in case.spans
        if case.text(s.message)[s.start : s.end] != s.value
    ]


def load_cases(generated: Path = GENERATED, handwritten: Path = HANDWRITTEN) -> list[Case]:
    """The repository's own set: the generated file, then the first hand-written cases."""
    return load_set(generated) + load_set(handwritten)


def load_set(path: Path) -> list[Case]:
    """One labelled set: JSON lines with offsets (`.jsonl`), else hand-written YAML naming values."""
    if path.suffix == ".jsonl":
        cases = [Case.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        cases = list(_handwritten(path))
    problems = [problem for case in cases for problem in bad_spans(case)]
    if problems:
        raise ValueError(f"{path.name} has wrong gold offsets: " + "; ".join(problems[:5]))
    return cases


def _handwritten(path: Path) -> Iterator[Case]:
    """Hand-written cases name their values, not offsets: every whole-word occurrence of a value
    in its message is gold, so a person can write and review them without counting characters."""
    for raw in yaml.safe_load(path.read_text()) or []:
        messages = raw.get("messages") or [{"role": "user", "content": raw["text"]}]
        spans = []
        for item in raw.get("spans", []):
            index = item.get("message", len(messages) - 1)
            content = messages[index]["content"]
            hits = list(re.finditer(rf"(?<!\w){re.escape(item['value'])}(?!\w)", content))
            # a value glued to other word characters (a fixed-width column) is gold where it stands
            hits = hits or list(re.finditer(re.escape(item["value"]), content))
            if not hits:
                raise ValueError(f"{raw['id']}: {item['value']!r} is not in message {index}")
            spans += [Span(message=index, start=m.start(), end=m.end(), type=item["type"], value=m[0]) for m in hits]
        yield Case(
            id=raw["id"],
            category=raw["category"],
            locale=raw.get("locale", "en_US"),
            hard_negative=not spans,
            body={"model": "gpt-4o", "messages": messages},
            spans=spans,
        )


def dump_cases(cases: list[Case]) -> str:
    return "".join(json.dumps(case.model_dump(mode="json"), ensure_ascii=False) + "\n" for case in cases)
