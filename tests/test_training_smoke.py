"""A training smoke test (#19): conversations recorded through the proxy, exported as the export
command writes them, loaded with Hugging Face `datasets` and fine-tuned on for a few steps by a tiny
randomly initialised model on CPU. Nothing is downloaded: the model is built here in plain PyTorch
and the text is tokenized with the vendored o200k_base. The loss must fall, which shows the rows are
in a shape a trainer reads and their assistant turns carry something to learn.

torch and datasets (`pip install 'privacy-proxy[train]'`) are imported inside the test, so the rest
of the suite neither waits for nor shares their import."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proxy.export.run import ExportOptions, run
from proxy.export.source import Filters
from proxy.export.tokens import VOCABULARY, o200k_base

from .conftest import StartProxy
from .mock_vendor import MockVendor

TAG = "training-smoke"
SYSTEM = "You are the support desk of a parcel company. Answer in one sentence."
TOPICS = ["refund", "invoice", "delivery", "return label", "password reset", "opening hours"]
ANSWERS = {
    "refund": "Refunds are paid within 14 days of the return arriving.",
    "invoice": "Invoices are in your account under Orders, as a PDF.",
    "delivery": "Parcels arrive within 3 working days of dispatch.",
    "return label": "Print the return label from the link in your confirmation mail.",
    "password reset": "Use Forgot password on the sign-in page to reset it.",
    "opening hours": "The desk is open Monday to Friday from 8 to 18.",
}
ROLES = {"system": 0, "user": 1, "assistant": 2}  # ids of the role markers in the model's vocabulary
STEPS = 40


@pytest.fixture(scope="module")
def exported(start_proxy: StartProxy, session_vendor: MockVendor, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per format, written by the export's own code path from exchanges recorded by the
    proxy: single questions (with and without a system prompt) and two-turn conversations."""
    out = tmp_path_factory.mktemp("training")
    session_vendor.reset()
    with start_proxy() as running:
        client = running.client()

        def ask(messages: list[dict[str, str]], answer: str) -> None:
            session_vendor.script.reply = answer
            try:
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=messages,  # type: ignore[arg-type]
                    extra_headers={"X-Proxy-Tags": TAG},
                )
            finally:
                session_vendor.script.reply = None

        for n, topic in enumerate(TOPICS):
            ask([{"role": "user", "content": f"Question about my {topic}, please?"}], ANSWERS[topic])
            ask(
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"How does {topic} work?"}],
                ANSWERS[topic],
            )
            follow_up = TOPICS[(n + 1) % len(TOPICS)]
            history = [
                {"role": "user", "content": f"Tell me about {topic}."},
                {"role": "assistant", "content": ANSWERS[topic]},
                {"role": "user", "content": f"And the {follow_up}?"},
            ]
            ask(history, ANSWERS[follow_up])
        running.services.recorder.flush()
        engine, sealer = running.services.recorder.engine, running.services.sealer
        for format_ in ("openai-jsonl", "sharegpt"):
            options = ExportOptions(format=format_, out=out / format_, filters=Filters(tags=(TAG,)), dedupe="off")
            manifest = run(engine, sealer, options)
            assert manifest.counts.exported == 3 * len(TOPICS), manifest.counts
    session_vendor.reset()
    return out


@pytest.fixture
def one_thread() -> Iterator[Any]:
    torch = pytest.importorskip("torch", reason="the training smoke test needs pip install 'privacy-proxy[train]'")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(threads)


def _load(path: Path, cache: Path) -> Any:
    datasets = pytest.importorskip(
        "datasets", reason="the training smoke test needs pip install 'privacy-proxy[train]'"
    )
    datasets.disable_progress_bars()
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


def test_datasets_loads_the_export_with_the_roles_it_promises(exported: Path, tmp_path: Path) -> None:
    rows = _load(exported / "openai-jsonl" / "train.jsonl", tmp_path)
    assert rows.num_rows == 3 * len(TOPICS)
    assert [row["messages"][-1]["role"] for row in rows] == ["assistant"] * rows.num_rows
    shapes = sorted({tuple(m["role"] for m in row["messages"]) for row in rows})
    assert shapes == [
        ("system", "user", "assistant"),
        ("user", "assistant"),
        ("user", "assistant", "user", "assistant"),
    ]
    assert {row["messages"][-1]["content"] for row in rows} == set(ANSWERS.values())
    ids = (exported / "openai-jsonl" / "train.ids").read_text().split()
    assert len(ids) == rows.num_rows == len(set(ids))

    shared = _load(exported / "sharegpt" / "train.jsonl", tmp_path)
    assert shared.num_rows == rows.num_rows
    for row in shared:
        speakers = [turn["from"] for turn in row["conversations"]]
        assert speakers[-1] == "gpt" and set(speakers) == {"human", "gpt"}
    assert sum(row["system"] == SYSTEM for row in shared) == len(TOPICS)


def test_a_tiny_model_fine_tuned_on_the_export_lowers_its_loss(exported: Path, tmp_path: Path, one_thread: Any) -> None:
    torch = one_thread
    started = time.perf_counter()
    rows = _load(exported / "openai-jsonl" / "train.jsonl", tmp_path)
    encoding = o200k_base(VOCABULARY)
    sequences, targets = [], []  # a role marker before each turn; the loss only on assistant tokens
    for row in rows:
        ids, trained = [], []
        for message in row["messages"]:
            tokens = encoding.encode_ordinary(message["content"])
            ids += [-1 - ROLES[message["role"]], *tokens]
            trained += [False] + [message["role"] == "assistant"] * len(tokens)
        sequences.append(ids)
        targets.append(trained)
    seen = sorted({i for ids in sequences for i in ids if i >= 0})  # o200k ids become 3.. in a small vocabulary
    vocabulary = {**{-1 - r: r for r in ROLES.values()}, **{token: len(ROLES) + n for n, token in enumerate(seen)}}
    size, pad = len(vocabulary), -100
    length = max(len(ids) for ids in sequences)
    inputs = torch.zeros((len(sequences), length), dtype=torch.long)
    labels = torch.full((len(sequences), length), pad, dtype=torch.long)
    for n, (ids, trained) in enumerate(zip(sequences, targets, strict=True)):
        inputs[n, : len(ids)] = torch.tensor([vocabulary[i] for i in ids])
        for position in range(1, len(ids)):  # predict token t from the tokens before it
            if trained[position]:
                labels[n, position - 1] = vocabulary[ids[position]]

    torch.manual_seed(0)

    class Tiny(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(size, 12)
            self.gru = torch.nn.GRU(12, 16, batch_first=True)
            self.head = torch.nn.Linear(16, size)

        def forward(self, ids: Any) -> Any:
            return self.head(self.gru(self.embed(ids))[0])

    model = Tiny()
    parameters = sum(p.numel() for p in model.parameters())
    assert 1_000 < parameters < 10_000, parameters  # a few thousand
    optimiser = torch.optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(STEPS):
        optimiser.zero_grad()
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, size), labels.reshape(-1), ignore_index=pad)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    elapsed = time.perf_counter() - started
    report = {"parameters": parameters, "vocabulary": size, "first": round(first, 3), "last": round(last, 3)}
    print(json.dumps({**report, "seconds": round(elapsed, 2)}))  # noqa: T201 - shown with pytest -s
    assert last < 0.8 * first, losses
    assert elapsed < 30, elapsed  # a few seconds on a quiet machine; generous for a loaded CI runner
