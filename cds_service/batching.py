"""Writes that leave the request: a call queues what it has to record and returns; one thread per
process writes the queue in batches, one transaction each. The audit trail and the count of cards
shown go this way: a hook call never waits on a write lock, and a burst of calls costs one
transaction per batch instead of one per call.

A database outage is logged and the call still answered: clinicians must not lose cards because a
table is unreachable. The batch is tried again, later each time, and dropped only after several
attempts. Items waiting when a process dies are lost (at most ``interval_s`` of calls, or what an
outage held back); a process that exits normally writes them first.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from . import metrics
from .errors import DatabaseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A batch the database refuses is tried this many times, waiting twice as long each time (at
#: most ``_LONGEST_WAIT_S``), so an outage of a minute or so loses nothing.
_ATTEMPTS = 10
_LONGEST_WAIT_S = 15.0


class BatchWriter(Generic[T]):
    """Queues items and writes them with ``write`` (one call per batch) on a thread of its own.

    ``inline``: written in the call instead (an in-memory SQLite database lives on one connection,
    which no other thread can see: trials, the evaluate command).
    """

    def __init__(
        self,
        write: Callable[[list[T]], None],
        what: str,
        inline: bool = False,
        interval_s: float = 0.2,
        batch: int = 500,
        capacity: int = 20_000,
    ) -> None:
        self._write_batch = write
        self.what = what
        self.inline = inline
        self.interval_s = interval_s
        self.batch = batch
        self._queue: queue.Queue[T] = queue.Queue(maxsize=capacity)
        #: Set to write what is queued without waiting out the interval (flush).
        self._now = threading.Event()
        self._lock = threading.Lock()
        #: The process whose writer thread runs: gunicorn forks workers after start-up.
        self._pid: int | None = None
        #: Writes tried, and whether the last one was refused (flush stops waiting on an outage).
        self._attempts = 0
        self._failing = False

    def submit(self, item: T) -> None:
        if self.inline:
            self._write([item])
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            log.warning("%s dropped: the queue is full (database too slow?)", self.what)
            metrics.DATABASE_ERRORS.labels(metrics.label_value(f"{self.what}_queue_full")).inc()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Write what is queued now, and wait until it is written (feedback, tests, shutdown);
        when the database refuses it again, stop waiting: the batch is kept for later."""
        if not self._queue.unfinished_tasks:
            return
        attempts = self._attempts
        self._now.set()
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            if self._failing and self._attempts > attempts:
                return
            time.sleep(0.002)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            name = "writer-" + self.what.replace(" ", "-")
            threading.Thread(target=self._run, name=name, daemon=True).start()
            atexit.register(self.flush, 5.0)

    def _run(self) -> None:
        held: list[T] = []  # a batch the database did not take, tried again
        retries = 0
        while True:
            items = held or [self._queue.get()]
            # The rest of the batch gathers while this thread waits: one wake-up per batch, where
            # waiting on the queue itself would take the interpreter lock from a call per item.
            self._now.wait(min(self.interval_s * 2**retries, _LONGEST_WAIT_S))
            self._now.clear()
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self._write(items):
                held, retries = [], 0
            elif retries + 1 < _ATTEMPTS:
                held, retries = items, retries + 1
                continue
            else:
                log.warning("%s dropped after %d attempts (%d)", self.what, _ATTEMPTS, len(items))
                held, retries = [], 0
            for _ in items:
                self._queue.task_done()

    def _write(self, items: list[T]) -> bool:
        try:
            self._write_batch(items)
            written = True
        except DatabaseUnavailable:
            log.warning("%s not written: database unavailable (%d)", self.what, len(items))
            written = False
        self._failing = not written
        self._attempts += 1  # after the state it leaves: flush reads them in this order
        return written
