"""Training opt-outs: `privacy-proxy subjects` records a subject's choice, exports read it, and
`privacy-proxy audit list` shows who changed it, naming the subject by keyed hash only."""

from __future__ import annotations

from pathlib import Path

from proxy.config import Config
from proxy.governance.consent import opted_out_subjects
from proxy.hashing import hasher_for
from proxy.store.database import make_engine, upgrade

from .stored import invoke


def test_opt_out_and_back_in_is_listed_read_by_exports_and_audited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    for args in (["opt-out", "user-9"], ["opt-out", "user-3"], ["opt-in", "user-9"]):
        invoke(["subjects", *args], url)

    listed = [line.split("\t")[:2] for line in invoke(["subjects", "list"], url).output.splitlines()]
    assert listed == [["user-3", "opted-out"], ["user-9", "opted-in"]]
    engine = make_engine(url)
    assert opted_out_subjects(engine) == {"user-3"}
    engine.dispose()

    digest = hasher_for(Config(database_url=url)).digest
    opt_outs = [
        line.split("\t") for line in invoke(["audit", "list", "--action", "subject_opt_out"], url).output.splitlines()
    ]
    assert [(row[2].startswith("cli:"), row[3], row[4]) for row in opt_outs] == [
        (True, "subject_opt_out", f"subject:{digest('user-3')}"),
        (True, "subject_opt_out", f"subject:{digest('user-9')}"),
    ]
    newest = invoke(["audit", "list", "--limit", "1"], url).output.splitlines()
    assert len(newest) == 1 and newest[0].split("\t")[3:5] == ["subject_opt_in", f"subject:{digest('user-9')}"]
    assert "user-" not in invoke(["audit", "list"], url).output
