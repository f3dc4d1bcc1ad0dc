"""Token counts (`--tokenizer FILE`): per row, a length histogram and a fine-tuning cost estimate.

Trainers bill and truncate by tokens, not characters. The tokenizer is a local Hugging Face
`tokenizer.json` (the one of the model to be trained), read with the `tokenizers` library, so
nothing is downloaded; a batch of rows is encoded in one call. The count covers every text a
format writes (contents and tool-call arguments), not a chat template's own markup.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

BUCKETS = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)


class TokenCounter:
    """Counts tokens with a local tokenizer and keeps the export's totals."""

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer  # an optional dependency: `pip install privacy-proxy[tokens]`
        except ImportError:
            raise ValueError("--tokenizer needs the tokenizers package: pip install 'privacy-proxy[tokens]'") from None
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception:  # the library raises its own Exception for a file it cannot read
            raise ValueError(f"--tokenizer: {path} is not a tokenizer.json the tokenizers library reads") from None
        self.name = path.name
        self.rows = 0
        self.total = 0
        self.longest = 0
        self.histogram: Counter[str] = Counter()

    def count(self, texts: list[str]) -> list[int]:
        """Tokens of each text, all encoded in one call."""
        if not texts:
            return []
        return [len(encoding.ids) for encoding in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

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
