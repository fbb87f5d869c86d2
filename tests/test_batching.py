"""Writes off the request: batched, written at once when asked, and tried again when the database
refuses them for a while."""

from __future__ import annotations

import threading
import time

from cds_service.batching import BatchWriter
from cds_service.errors import DatabaseUnavailable


class FlakyTable:
    """A table that refuses the first ``failures`` writes, as a database that is down would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.rows: list[int] = []
        self.writes = 0
        self.lock = threading.Lock()

    def write(self, batch: list[int]) -> None:
        with self.lock:
            self.writes += 1
            if self.failures > 0:
                self.failures -= 1
                raise DatabaseUnavailable("down")
            self.rows += batch


def settled(writer: BatchWriter[int]) -> None:
    """Flush until nothing is left to write (each flush that meets a refusal returns at once and
    asks for the next attempt)."""
    for _ in range(1000):
        writer.flush()
        if not writer._queue.unfinished_tasks:
            return
        time.sleep(0.01)


def written(count: int, failures: int, interval_s: float) -> FlakyTable:
    """``count`` items submitted to a writer of a table that first refuses ``failures`` writes."""
    table = FlakyTable(failures)
    writer = BatchWriter(table.write, "test rows", interval_s=interval_s)
    for n in range(count):
        writer.submit(n)
    settled(writer)
    return table


def test_items_are_written_in_batches_off_the_caller() -> None:
    table = written(100, failures=0, interval_s=0.2)
    assert table.rows == list(range(100))
    assert table.writes < 10  # batches, not one write per item


def test_a_batch_the_database_refused_is_written_when_it_is_back() -> None:
    table = written(5, failures=3, interval_s=0.01)
    assert table.rows == list(range(5))  # nothing lost, nothing twice


def test_a_batch_refused_every_time_is_dropped_in_the_end() -> None:
    table = FlakyTable(failures=10**6)
    writer = BatchWriter(table.write, "test rows", interval_s=0.0001)
    writer.submit(1)
    settled(writer)
    assert table.rows == [] and writer._queue.unfinished_tasks == 0
    writer.submit(2)  # the writer goes on with what comes next
    settled(writer)
    assert table.writes > 2


def test_flush_does_not_wait_out_an_outage() -> None:
    """A process stopping, or feedback settling its cards, while the database is down: one more
    attempt, then the batch is kept for later and the caller goes on."""
    table = FlakyTable(failures=10**6)
    writer = BatchWriter(table.write, "test rows", interval_s=30.0)
    writer.submit(1)
    flushing = threading.Thread(target=writer.flush, kwargs={"timeout_s": 600})
    flushing.start()
    flushing.join(60)  # a hang guard: without the early return this waits the 600 s out
    assert not flushing.is_alive()
    assert table.rows == [] and writer._queue.unfinished_tasks == 1  # kept, not dropped
