"""Token counts (`--tokens`, `--tokenizer`): per row, a length histogram and a fine-tuning cost estimate.

Trainers bill and truncate by tokens, not characters. The default tokenizer is OpenAI's
`o200k_base` (GPT-4o and later), counted with the `tiktoken` library from the vocabulary shipped in
this package, `data/o200k_base.tiktoken.gz`: tiktoken would download it from
openaipublic.blob.core.windows.net, which many networks do not reach, so it is never downloaded.
The vocabulary is OpenAI's (tiktoken, MIT licence), rebuilt from the npm package js-tiktoken by
`scripts/vendor_o200k.py`; its SHA-256 is checked against the one tiktoken itself expects for
o200k_base every time it is loaded, so the file is byte-identical to OpenAI's or refused.

Any other tokenizer is a local Hugging Face `tokenizer.json` (the model to be trained's), read with
the `tokenizers` library. A batch of rows is encoded in one call. The count covers every text a
format writes (contents and tool-call arguments), not a chat template's own markup; text that
looks like a special token (`<|endoftext|>`) is counted as the plain text it is.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tiktoken import Encoding

BUCKETS = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
O200K_BASE = "o200k_base"
VOCABULARY = Path(__file__).parent / "data" / "o200k_base.tiktoken.gz"
# what tiktoken_ext.openai_public expects of o200k_base.tiktoken
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# tiktoken_ext.openai_public.o200k_base's pattern and special tokens (a test compares them)
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


@functools.cache
def o200k_base(path: Path) -> Encoding:
    """OpenAI's o200k_base from the vendored vocabulary at `path`, its hash checked; never downloads.
    Loaded once per process (about half a second)."""
    try:
        import tiktoken  # an optional dependency: `pip install privacy-proxy[tokens]`
    except ImportError:
        raise ValueError("token counts need the tiktoken package: pip install 'privacy-proxy[tokens]'") from None
    try:
        text = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise ValueError(f"o200k_base: cannot read the vendored vocabulary {path}: {exc}") from None
    digest = hashlib.sha256(text).hexdigest()
    if digest != O200K_SHA256:
        raise ValueError(
            f"o200k_base: the vocabulary {path} is not OpenAI's (sha256 {digest}, expected {O200K_SHA256}); "
            "reinstall privacy-proxy or rebuild it with scripts/vendor_o200k.py"
        )
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in text.splitlines())}
    return tiktoken.Encoding(
        name=O200K_BASE, pat_str=O200K_PATTERN, mergeable_ranks=ranks, special_tokens=O200K_SPECIAL
    )


def _tiktoken_counter(encoding: Encoding) -> Callable[[list[str]], list[int]]:
    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in encoding.encode_ordinary_batch(texts)]

    return count


def _tokenizers_counter(path: Path) -> Callable[[list[str]], list[int]]:
    try:
        from tokenizers import Tokenizer  # an optional dependency: `pip install privacy-proxy[tokens]`
    except ImportError:
        raise ValueError("--tokenizer needs the tokenizers package: pip install 'privacy-proxy[tokens]'") from None
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception:  # the library raises its own Exception for a file it cannot read
        raise ValueError(f"--tokenizer: {path} is not a tokenizer.json the tokenizers library reads") from None

    def count(texts: list[str]) -> list[int]:
        return [len(encoding.ids) for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return count


class TokenCounter:
    """Counts tokens with a local tokenizer and keeps the export's totals."""

    def __init__(self, tokenizer: str | Path) -> None:
        """`tokenizer`: "o200k_base", or the path of a local tokenizer.json."""
        if tokenizer == O200K_BASE:
            self.name = O200K_BASE
            self._count = _tiktoken_counter(o200k_base(VOCABULARY))
        else:
            path = Path(tokenizer)
            self.name = path.name
            self._count = _tokenizers_counter(path)
        self.rows = 0
        self.total = 0
        self.longest = 0
        self.histogram: Counter[str] = Counter()

    def count(self, texts: list[str]) -> list[int]:
        """Tokens of each text, all encoded in one call."""
        return self._count(texts) if texts else []

    def written(self, tokens: int) -> None:
        """Count a row that was written."""
        self.rows += 1
        self.total += tokens
        self.longest = max(self.longest, tokens)
        self.histogram[_bucket(tokens)] += 1

    def summary(self, price_per_million: float | None) -> dict[str, Any]:
        """For the manifest: totals, a histogram by powers of two, and the cost of one epoch."""
        order = [f"<={limit}" for limit in BUCKETS] + [f">{BUCKETS[-1]}"]
        return {
            "tokenizer": self.name,
            "total": self.total,
            "mean": round(self.total / self.rows, 1) if self.rows else 0,
            "max": self.longest,
            "histogram": {bucket: self.histogram[bucket] for bucket in order if self.histogram[bucket]},
            "price_per_million": price_per_million,
            "cost_per_epoch": None if price_per_million is None else round(self.total * price_per_million / 1e6, 4),
        }


def _bucket(tokens: int) -> str:
    for limit in BUCKETS:
        if tokens <= limit:
            return f"<={limit}"
    return f">{BUCKETS[-1]}"
