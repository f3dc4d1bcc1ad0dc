"""Docs that cannot drift: every config key and policy field has an entry."""

from __future__ import annotations

from collections.abc import Iterator
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
