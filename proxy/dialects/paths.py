"""Reading and writing text slots by path, so a dialect only has to say where text lives."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from proxy.exchange import JSONPath, KeyOf, Slot

#: top-level fields in which a client names its end user to the vendor, on every surface that has them
USER_IDS = frozenset({("user",), ("safety_identifier",), ("metadata", "user_id")})


class DuplicateKey(ValueError):
    """JSON with a key twice: parsers disagree on which copy counts, so a scanner that reads
    one copy while the vendor reads the other would let the unscanned one through."""


#: how deep a JSON document held in a string (tool arguments) is read as JSON; deeper, as text
EMBEDDED_DEPTH = 64


def loads_strict(raw: str | bytes, **options: Any) -> Any:
    """`json.loads` that refuses duplicate keys (`options` go to `json.loads`)."""
    return json.loads(raw, object_pairs_hook=_unique_keys, **options)


def nesting_depth(node: Any, limit: int) -> int:
    """How deeply objects and arrays nest in `node` (a scalar is 0), counted without recursion
    and only up to `limit + 1`: enough to say it is too deep."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


def get_at(obj: Any, path: JSONPath) -> Any:
    for part in path:
        obj = part.key if isinstance(part, KeyOf) else obj[part]
    return obj


def set_at(obj: Any, path: JSONPath, value: Any) -> None:
    parent, last = get_at(obj, path[:-1]), path[-1]
    if isinstance(last, KeyOf):  # rename the key, keeping its place
        items = list(parent.items())
        parent.clear()
        parent.update((value if key == last.key else key, item) for key, item in items)
    else:
        parent[last] = value


def text_slot(path: JSONPath, value: Any) -> list[Slot]:
    """A slot for `value` if it is non-empty text; nothing otherwise."""
    return [Slot(path, value)] if isinstance(value, str) and value else []


def tree_slots(path: JSONPath, node: Any, skip: frozenset[str] = frozenset(), *, keys: bool = False) -> list[Slot]:
    """A slot for every string in a JSON tree (unknown content parts, metadata, schemas),
    leaving out values under the keys in `skip` (structural words like a schema's `type`).
    With `keys`, dict keys and numbers are slots too (a tool's input object)."""
    return [Slot((*path, *pointer), text) for pointer, text in _leaves(node, (), skip, keys=keys) if text]


TEXT_TYPE = re.compile(r"text/|application/(?:[\w.+-]*\+)?(?:json|xml|yaml|javascript|x-www-form-urlencoded)\b", re.I)
SNIFF_CHARS = 4096  # base64 characters decoded to tell text from binary media
_PRINTABLE = 0.9


def media_slots(path: JSONPath, value: Any, media_type: str | None = None) -> list[Slot]:
    """A slot for text a media field carries: a URL the vendor fetches (its path and query are
    text the client wrote), or inline data that is text (`carries_text`). Binary media is not
    text: no slot, and `unscannable_parts` decides about it."""
    if not isinstance(value, str) or not value:
        return []
    if value[:8].lower().startswith(("http://", "https://")) or carries_text(value, media_type):
        return [Slot(path, value)]
    return []


def carries_text(value: Any, media_type: str | None = None) -> bool:
    """Whether inline media (a `data:` URL, or base64 data of `media_type`) holds text: a text
    type, or bytes that read as UTF-8 text whatever type is declared."""
    if not isinstance(value, str):
        return False
    payload = value
    if value[:5].lower() == "data:":
        header, _, payload = value.partition(",")
        media_type = header[5:].split(";", 1)[0]
        if ";base64" not in header.lower():
            return True  # percent-encoded characters: text by construction
    if media_type and TEXT_TYPE.match(media_type):
        return True
    head = payload[:SNIFF_CHARS].rstrip("=")
    head = head[: len(head) - len(head) % 4]
    try:
        data = base64.b64decode(head.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return _reads_as_text(data)


def _reads_as_text(data: bytes) -> bool:
    for cut in range(4):  # the sniffed head can end inside a multi-byte character
        try:
            text = data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return bool(text) and sum(c.isprintable() or c in "\n\r\t" for c in text) >= _PRINTABLE * len(text)
    return False


def other_slots(at: JSONPath, node: Any, handled: frozenset[str]) -> list[Slot]:
    """Every string under the keys of `node` that a dialect does not handle by name.

    Unknown fields pass through to the vendor, but not unscanned: a parameter added after this
    release is read like any text (and reaches the vendor untouched when nothing is found)."""
    if not isinstance(node, dict):
        return []
    slots = [slot for key, value in node.items() if key not in handled for slot in tree_slots((*at, key), value)]
    return [replace(slot, user_id=True) if slot.path in USER_IDS else slot for slot in slots]


def json_string_slots(path: JSONPath, raw: Any) -> list[Slot]:
    """Slots for each string, number and key of a JSON document held in a string (tool-call
    arguments), so detection sees decoded text and a restored value is re-escaped.

    Arguments that do not parse, or repeat a key, are scanned as one plain text."""
    if not isinstance(raw, str) or not raw:
        return []
    try:
        document = loads_strict(raw)
    except (ValueError, RecursionError):
        return [Slot(path, raw)]
    if nesting_depth(document, EMBEDDED_DEPTH) > EMBEDDED_DEPTH:  # read as text: no recursion limit
        return [Slot(path, raw)]
    return [Slot(path, text, pointer) for pointer, text in _leaves(document, (), frozenset(), keys=True) if text]


def _leaves(node: Any, pointer: JSONPath, skip: frozenset[str], keys: bool) -> Iterator[tuple[JSONPath, str]]:
    if isinstance(node, str):
        yield pointer, node
    elif isinstance(node, int | float) and not isinstance(node, bool) and keys:
        yield pointer, json.dumps(node)  # a card number sent as a number is still a card number
    elif isinstance(node, dict):
        for key, value in node.items():
            if keys:
                yield (*pointer, KeyOf(key)), key
            if key not in skip:
                yield from _leaves(value, (*pointer, key), skip, keys)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*pointer, index), skip, keys)


def _write_order(update: tuple[Slot, str]) -> tuple[bool, int]:
    """Values first, then key renames, deepest first: a rename changes the path by which
    everything below that key is reached."""
    pointer = update[0].pointer or ()
    is_rename = bool(pointer) and isinstance(pointer[-1], KeyOf)
    return is_rename, -len(pointer)


def write_slots(body: dict[str, Any], updates: list[tuple[Slot, str]]) -> dict[str, Any]:
    """A copy of `body` with each slot's text replaced; the original is left untouched."""
    result = copy.deepcopy(body)
    documents: dict[JSONPath, Any] = {}
    for slot, text in sorted(updates, key=_write_order):
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


def kind_of(node: Any) -> str | None:
    """A block's or part's `type`, when it is a string: client bodies can hold anything there."""
    kind = node.get("type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else None
