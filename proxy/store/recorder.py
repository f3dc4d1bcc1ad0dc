"""The `record` stage, and the only writer to the database.

Requests hand their finished exchange to `submit`, which never blocks: a writer thread turns
exchanges into rows and inserts them in batches. When the database fails, the batch goes to the
spool file instead, and the writer replays the spool once the database answers again. Inserts
skip ids already present, so a replay after a half-finished write cannot duplicate a record.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, insert, select

from proxy.exchange import Exchange
from proxy.store.records import RecordRows
from proxy.store.spool import Spool
from proxy.store.tables import findings, payloads, requests

log = logging.getLogger(__name__)

_STOP = object()
BATCH_SIZE = 200
RETRY_SECONDS = 2.0


class Recorder:
    """The one writer: a bounded queue, a writer thread, batched inserts, and the spool."""

    def __init__(
        self, engine: Engine, build: Callable[[Exchange], RecordRows], spool: Spool, queue_size: int = 10_000
    ) -> None:
        self.engine = engine
        self.build = build
        self.spool = spool
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._last_attempt = 0.0  # of a database write that failed, or of a replay
        self.database_ok = True

    def start(self) -> None:
        self._thread.start()

    def submit(self, exchange: Exchange) -> None:
        """Hand over a finished exchange; when the queue is full it goes straight to the spool."""
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            try:
                self.spool.append([self.build(exchange)])
            except Exception as exc:  # never let recording break the response
                log.error("record %s lost: queue full and spool failed (%s)", exchange.id, type(exc).__name__)

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def flush(self) -> None:
        """Wait until everything submitted so far has been written (or spooled)."""
        self._queue.join()

    def stop(self) -> None:
        """Drain the queue, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._save([rows for exchange in batch if (rows := self._build_safely(exchange)) is not None])
            for _ in range(len(batch) + stop):
                self._queue.task_done()
            if stop:
                return
            self._replay_spool()

    def _next_batch(self) -> tuple[list[Exchange], int]:
        try:
            first = self._queue.get(timeout=0.5)
        except queue.Empty:
            return [], 0
        items = [first]
        while len(items) < BATCH_SIZE and items[-1] is not _STOP:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        stop = int(items[-1] is _STOP)
        return [item for item in items if isinstance(item, Exchange)], stop

    def _build_safely(self, exchange: Exchange) -> RecordRows | None:
        try:
            return self.build(exchange)
        except Exception as exc:  # a bug, not a database fault: say so loudly, without values
            log.error("could not build the record of %s (%s)", exchange.id, type(exc).__name__)
            return None

    def _save(self, records: list[RecordRows]) -> None:
        try:
            self.write(records)
            self.database_ok = True
        except Exception as exc:
            # The exception text can quote a row (values included), so log its type only.
            log.error("database write failed (%s); spooling %d records", type(exc).__name__, len(records))
            self.database_ok = False
            self._last_attempt = time.monotonic()
            try:
                self.spool.append(records)
            except Exception as spool_exc:
                log.critical(
                    "%d records lost: database and spool both failed (%s)", len(records), type(spool_exc).__name__
                )

    def write(self, records: list[RecordRows]) -> None:
        """Insert in one transaction, skipping ids already stored (a replay after a partial write)."""
        if not records:
            return
        with self.engine.begin() as connection:
            ids = [record.id for record in records]
            present = set(connection.execute(select(requests.c.id).where(requests.c.id.in_(ids))).scalars())
            fresh = [record for record in records if record.id not in present]
            if not fresh:
                return
            connection.execute(insert(requests), [record.request for record in fresh])
            payload_rows = [row for record in fresh for row in record.payloads]
            if payload_rows:
                connection.execute(insert(payloads), payload_rows)
            finding_rows = [row for record in fresh for row in record.findings]
            if finding_rows:
                connection.execute(insert(findings), finding_rows)

    def _replay_spool(self) -> None:
        """Every few seconds while the spool has records, also under steady traffic."""
        if not self.spool.has_records() or time.monotonic() - self._last_attempt < RETRY_SECONDS:
            return
        self._last_attempt = time.monotonic()
        try:
            records = self.spool.peek(BATCH_SIZE)
            self.write(records)
            self.spool.drop({record.id for record in records})
        except Exception as exc:
            log.warning("spool replay failed (%s); will retry", type(exc).__name__)
            self.database_ok = False
            return
        self.database_ok = True
        log.info("replayed %d spooled records", len(records))
