"""What every `privacy-proxy` command shares: one `--config` option and one `CliContext` that
loads the config, opens its database and builds the detector, each by one rule, so that no two
commands disagree about them (one migrating a database another refuses, say).

Heavy imports (SQLAlchemy, spaCy) wait until a command asks, so `privacy-proxy --help` stays quick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from proxy.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proxy.detection import DetectionEngine
    from proxy.hashing import Hasher
    from proxy.policy.bundle import PolicySet

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="proxy.yaml to use (default: ./proxy.yaml).",
)


def guarded(build: Callable[[], T]) -> T:
    """A configuration problem is the user's to fix: a one-line message, not a traceback."""
    try:
        return build()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@dataclass
class CliContext:
    """The configuration a command was given (`--config`), and what it builds from it."""

    config_path: Path | None

    @cached_property
    def config(self) -> Config:
        return guarded(lambda: load_config(self.config_path))

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """The configured database by the rule `serve` follows (`proxy.store.database.open_database`)."""
        from proxy.store.database import open_database

        engine = guarded(lambda: open_database(self.config.database_url))
        try:
            yield engine
        finally:
            engine.dispose()

    @cached_property
    def detector(self) -> DetectionEngine:
        from proxy.detection import DetectionEngine

        return DetectionEngine.in_process(self.config.detection)

    @contextmanager
    def pooled_detector(self, processes: int | None = None) -> Iterator[DetectionEngine]:
        """The server's kind of detector (a pool of `processes` processes, default
        `detection.processes`, and the analysis cache), for a command that scans many requests;
        it becomes this command's `detector`, and its processes stop on leaving."""
        from proxy.detection import DetectionEngine

        config = self.config.detection
        if processes is not None:
            config = config.model_copy(update={"processes": processes})
        detector = DetectionEngine.from_config(config)
        self.__dict__["detector"] = detector  # what `policy_set` checks entity types with
        try:
            yield detector
        finally:
            detector.close()

    def policy_set(self, directory: Path | None = None) -> PolicySet:
        """The policies in `directory`, else the configured ones, checked against the detector."""
        from proxy.policy.loader import PolicyError, load_policies, policy_directory

        try:
            path = directory or policy_directory(self.config.policies)
            return load_policies(path, known_entities=self.detector.supported_entities())
        except PolicyError as exc:
            raise click.ClickException(str(exc)) from None

    def hasher(self) -> Hasher:
        """The hasher under the live hash key, as `serve` would use it."""
        from proxy.hashing import hasher_for

        return guarded(lambda: hasher_for(self.config))
