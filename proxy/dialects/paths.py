"""Reading and writing text slots by path, so a dialect only has to say where text lives."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from proxy.exchange import JSONPath, Slot


def get_at(obj: Any, path: JSONPath) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def set_at(obj: Any, path: JSONPath, value: Any) -> None:
    get_at(obj, path[:-1])[path[-1]] = value


def text_slot(path: JSONPath, value: Any) -> list[Slot]:
    """A slot for `value` if it is non-empty text; nothing otherwise."""
    return [Slot(path, value)] if isinstance(value, str) and value else []


def json_string_slots(path: JSONPath, raw: Any) -> list[Slot]:
    """Slots for each string leaf of a JSON document held in a string (tool-call arguments).

    Arguments that do not parse (a model can emit broken JSON) are scanned as plain text."""
    if not isinstance(raw, str) or not raw:
        return []
    try:
        document = json.loads(raw)
    except ValueError:
        return [Slot(path, raw)]
    return [Slot(path, text, pointer) for pointer, text in _string_leaves(document, ()) if text]


def _string_leaves(node: Any, pointer: JSONPath) -> Iterator[tuple[JSONPath, str]]:
    if isinstance(node, str):
        yield pointer, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _string_leaves(value, (*pointer, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _string_leaves(value, (*pointer, index))


def write_slots(body: dict[str, Any], updates: list[tuple[Slot, str]]) -> dict[str, Any]:
    """A copy of `body` with each slot's text replaced; the original is left untouched."""
    result = copy.deepcopy(body)
    documents: dict[JSONPath, Any] = {}
    for slot, text in updates:
        if slot.pointer is None:
            set_at(result, slot.path, text)
            continue
        if slot.path not in documents:
            documents[slot.path] = json.loads(get_at(result, slot.path))
        if slot.pointer:
            set_at(documents[slot.path], slot.pointer, text)
        else:
            documents[slot.path] = text
    for path, document in documents.items():
        set_at(result, path, json.dumps(document, ensure_ascii=False))
    return result
