"""The `record` stage, and the only writer to the database.

Requests hand their finished exchange to `submit`, which never blocks: a writer thread turns
exchanges into rows and inserts them in batches (bounded by rows and by payload bytes). When the
database fails, the batch goes to the spool (segment files on disk) instead, and the writer replays the spool, oldest
first, once the database answers again; while the spool holds records, new ones queue behind them
in the spool, so records reach the database in the order they were made. Inserts skip ids already
present, so a replay after a half-finished write cannot duplicate a record.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from proxy.exchange import Exchange
from proxy.store.records import RecordRows
from proxy.store.spool import Spool
from proxy.store.tables import audit_events, findings, payloads, requests

log = logging.getLogger(__name__)

_STOP = object()
RETRY_SECONDS = 2.0
REPLAY_BATCHES_PER_TURN = 10


class Recorder:
    """The one writer: a bounded queue, a writer thread, batched inserts, and the spool."""

    def __init__(
        self,
        engine: Engine,
        build: Callable[[Exchange], RecordRows],
        spool: Spool,
        queue_size: int = 10_000,
        *,
        batch_rows: int = 200,
        batch_bytes: int = 8 * 1024 * 1024,
        spool_max_bytes: int = 1024**3,
    ) -> None:
        self.engine = engine
        self.build = build
        self.spool = spool
        self.batch_rows, self.batch_bytes, self.spool_max_bytes = batch_rows, batch_bytes, spool_max_bytes
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._last_attempt = 0.0  # of a database write that failed, or of a replay
        self.database_ok = True
        self.replayed = 0  # records moved from the spool to the database
        self.lost = 0  # records neither written nor spooled
        # Records the database refused, set aside once: when the rest of their batch goes back to
        # the spool (the connection broke meanwhile) they must not be refused and counted again.
        self._set_aside: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def submit(self, exchange: Exchange) -> None:
        """Hand over a finished exchange; when the queue is full it goes straight to the spool."""
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            try:
                if self.spool.size_bytes() >= self.spool_max_bytes:
                    raise OSError("spool is at its size limit")
                self.spool.append([self.build(exchange)])
            except Exception as exc:  # never let recording break the response
                self.lost += 1
                log.error("record %s lost: queue full and spool failed (%s)", exchange.id, type(exc).__name__)

    def full(self) -> bool:
        """Queue and spool both full: a new request's record could not be kept."""
        return self._queue.full() and self.spool.size_bytes() >= self.spool_max_bytes

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
        while len(items) < self.batch_rows and items[-1] is not _STOP:
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
            self.lost += 1
            log.error("could not build the record of %s (%s)", exchange.id, type(exc).__name__)
            return None

    def _save(self, records: list[RecordRows]) -> None:
        if self.spool.has_records():
            self._to_spool(records)  # behind the older records, to keep their order
            return
        try:
            for chunk in self._chunks(records):
                self.write_or_reject(chunk)
            self.database_ok = True
        except Exception as exc:
            # The exception text can quote a row (values included), so log its type only.
            log.error("database write failed (%s); spooling %d records", type(exc).__name__, len(records))
            self.database_ok = False
            self._last_attempt = time.monotonic()
            # Ids already written are skipped when replayed; those set aside are not spooled again.
            self._to_spool([record for record in records if record.id not in self._set_aside])

    def _to_spool(self, records: list[RecordRows]) -> None:
        try:
            self.spool.append(records)
        except Exception as exc:
            self.lost += len(records)
            log.critical("%d records lost: database and spool both failed (%s)", len(records), type(exc).__name__)

    def _chunks(self, records: list[RecordRows]) -> list[list[RecordRows]]:
        """Split a batch so no transaction carries much more than `batch_bytes` of payloads."""
        chunks: list[list[RecordRows]] = [[]]
        size = 0
        for record in records:
            weight = sum(len(payload["data"]) for payload in record.payloads)
            if chunks[-1] and size + weight > self.batch_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append(record)
            size += weight
        return chunks

    def write_or_reject(self, records: list[RecordRows]) -> None:
        """Write; if the database refuses the data itself (not the connection), write one by
        one and set aside the records it refuses, so one bad record never holds up the rest."""
        records = [record for record in records if record.id not in self._set_aside]
        try:
            self.write(records)
        except Exception as exc:
            if _unreachable(exc):
                raise
            for record in records:
                try:
                    self.write([record])
                except Exception as single:
                    if _unreachable(single):
                        raise
                    self.lost += 1
                    self._set_aside.add(record.id)
                    self.spool.reject(record)
                    log.error("record %s refused by the database (%s); set aside", record.id, type(single).__name__)

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
            audit_rows = [{**row, "at": record.request["created_at"]} for record in fresh for row in record.audits]
            if audit_rows:
                connection.execute(insert(audit_events), audit_rows)

    def _replay_spool(self) -> None:
        """Move spooled records to the database oldest first, a few batches per turn of the
        writer (so the queue keeps moving); after a failure, wait RETRY_SECONDS before trying."""
        if not self.spool.has_records():
            return
        if not self.database_ok and time.monotonic() - self._last_attempt < RETRY_SECONDS:
            return  # the database failed a moment ago: give it time
        self._last_attempt = time.monotonic()
        try:
            for _ in range(REPLAY_BATCHES_PER_TURN):  # then back to the queue, so it keeps moving
                moved = self.spool.drain(self.write_or_reject, self.batch_rows)
                if not moved:
                    break
                self.replayed += moved
                log.info("replayed %d spooled records", moved)
        except Exception as exc:
            log.warning("spool replay failed (%s); will retry", type(exc).__name__)
            self.database_ok = False
            return
        self.database_ok = True


def _unreachable(error: Exception) -> bool:
    """The database could not be reached or the connection broke: worth retrying later. Any
    other failure is about the data, and retrying the same record would fail for ever."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    return isinstance(error, OSError)
