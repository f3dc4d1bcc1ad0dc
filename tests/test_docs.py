"""Docs that cannot drift: every config key and policy field has an entry, and no link points nowhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from proxy.config import Config
from proxy.policy.schema import Policy

from .conftest import REPO


def _fields(model: type[BaseModel], prefix: str = "", lists: bool = True) -> Iterator[str]:
    for field_name, field in model.model_fields.items():
        name = field.alias or field_name
        yield prefix + name
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        is_list = getattr(annotation, "__origin__", None) is list
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            yield from _fields(inner, f"{prefix}{name}{'[]' if is_list else ''}.")


def test_every_config_key_is_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    missing = [key for key in _fields(Config) if f"| `{key}` |" not in text]
    assert missing == []


def test_every_policy_field_is_documented() -> None:
    """Each field appears, at its place, in the annotated example file of policies/README.md."""
    text = (REPO / "policies" / "README.md").read_text()
    example = yaml.safe_load(text.split("```yaml")[1].split("```")[0])
    documented = set(_paths(example))
    missing = [key for key in _fields(Policy) if key not in documented]
    assert missing == []


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + key
            yield from _paths(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for item in node:
            yield from _paths(item, prefix[:-1] + "[].")


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MENTIONED_DOC = re.compile(r"\bdocs/[\w.-]+\.md\b")


def _pages() -> list[Path]:
    return sorted([*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), REPO / "policies" / "README.md"])


def test_every_relative_link_in_the_docs_points_to_a_file() -> None:
    links = [(page, target) for page in _pages() for target in LINK.findall(page.read_text())]
    relative = [(page, target) for page, target in links if not re.match(r"[a-z]+:|#", target)]
    assert len(relative) > 20  # the links were really found
    broken = [f"{page.relative_to(REPO)}: {target}" for page, target in relative if not _exists(page, target)]
    assert broken == []


def test_every_docs_page_the_code_mentions_exists() -> None:
    mentioned = {m for path in (REPO / "proxy").rglob("*.py") for m in MENTIONED_DOC.findall(path.read_text())}
    assert mentioned  # the code does point readers at the docs
    assert sorted(m for m in mentioned if not (REPO / m).exists()) == []


def _exists(page: Path, target: str) -> bool:
    return (page.parent / target.split("#")[0]).exists()
