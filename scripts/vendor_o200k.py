"""Rebuild proxy/export/data/o200k_base.tiktoken.gz, the vocabulary `export` counts tokens with.

tiktoken downloads o200k_base from openaipublic.blob.core.windows.net, which many networks do not
reach. The npm package js-tiktoken (MIT, registry.npmjs.org) ships the same ranks in a compressed
text form: `dist/ranks/o200k_base.js` is `export default {...}` whose `bpe_ranks` holds lines of
`<ignored> <offset> <b64token> <b64token> ...`, token i of a line having rank offset + i (js-tiktoken's
own loader reads them so). This script writes them in tiktoken's `.tiktoken` form (one line per
token: base64 token, a space, its rank, by rank) and refuses to write unless the SHA-256 is the one
tiktoken itself expects for o200k_base.tiktoken: a match means the file is byte-identical to OpenAI's.
The file is gzipped without a name or time stamp, so a rebuild gives the same bytes.

    .venv/bin/python scripts/vendor_o200k.py                      # runs `npm pack js-tiktoken@1.0.21`
    .venv/bin/python scripts/vendor_o200k.py --tarball js-tiktoken-1.0.21.tgz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "js-tiktoken@1.0.21"
MEMBER = "package/dist/ranks/o200k_base.js"
SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # tiktoken_ext.openai_public
OUT = Path(__file__).resolve().parent.parent / "proxy" / "export" / "data" / "o200k_base.tiktoken.gz"


def tiktoken_text(module: str) -> bytes:
    """js-tiktoken's ranks module as the text of o200k_base.tiktoken."""
    prefix = "export default "
    if not module.startswith(prefix):
        raise ValueError(f"{MEMBER} does not start with {prefix!r}: the package's layout changed")
    ranks: dict[str, int] = {}
    for line in json.loads(module[len(prefix) :].rstrip().rstrip(";"))["bpe_ranks"].split("\n"):
        if not line:
            continue
        _, offset, *tokens = line.split(" ")
        for i, token in enumerate(tokens):
            ranks[token] = int(offset) + i
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise ValueError("the ranks are not 0..n-1 without gaps")
    return "".join(f"{token} {rank}\n" for token, rank in sorted(ranks.items(), key=lambda item: item[1])).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tarball", type=Path, help=f"an `npm pack {PACKAGE}` tarball (default: run npm pack)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tarball = args.tarball
        if tarball is None:
            name = subprocess.run(
                ["npm", "pack", PACKAGE], cwd=scratch, check=True, capture_output=True, text=True
            ).stdout.split()[-1]
            tarball = Path(scratch) / name
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                sys.exit(f"{tarball} holds no {MEMBER}")
            text = tiktoken_text(member.read().decode("utf-8"))
    digest = hashlib.sha256(text).hexdigest()
    if digest != SHA256:
        sys.exit(f"sha256 {digest} is not o200k_base's {SHA256}: not writing")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    tokens = len(text.splitlines())
    print(f"{args.out}: {tokens} tokens, sha256 {digest} (matches tiktoken's), {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
