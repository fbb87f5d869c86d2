"""The gunicorn worker the service runs on: threads, a deadline for reading each request, and errors
as OperationOutcome JSON.

A sync worker reads a request with a blocking socket: a client that sends its body one byte at a
time holds the worker, and two such clients stop a two-worker service (``/healthz`` included). Here
each worker serves several connections on threads, and a request (head and body) must arrive within
``CDS_REQUEST_READ_TIMEOUT_MS``; a slower client is cut off, and its thread goes back to the pool.
Errors gunicorn answers itself (a request line or headers too long, a malformed request) are
OperationOutcome JSON like every other error of the service, never an HTML page. A worker with
every thread busy accepts no new connection (they wait in the listen backlog for a worker with a
thread free), and one with requests queued beyond its threads, or with connections waiting in the
listen queue, closes each connection after its answer: a keep-alive client's connections then
spread over the workers instead of staying with the one that accepted them, and under load every
request takes its turn in the listen queue, as with sync workers.
"""

from __future__ import annotations

import errno
import json
import select
import selectors
import socket
import struct
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker


class _DeadlineSocket:
    """A client socket whose reads must finish within ``limit_s`` of the first read of a request;
    sending a response starts the clock again for the next request on the connection."""

    def __init__(self, sock: socket.socket, limit_s: float) -> None:
        self._sock = sock
        self._limit = limit_s
        self._deadline: float | None = None

    def recv(self, size: int, *flags: int) -> bytes:
        if self._deadline is None:
            self._deadline = time.monotonic() + self._limit
        remaining = self._deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._sock], [], [], remaining)[0]:
            # Closed like a reset connection: gunicorn logs it at debug level, so slow clients
            # cannot flood the log with tracebacks.
            raise ConnectionResetError(errno.ECONNRESET, "request not received in time")
        return self._sock.recv(size, *flags)

    def send(self, data: bytes, *flags: int) -> int:
        self._deadline = None
        return self._sock.send(data, *flags)

    def sendall(self, data: bytes, *flags: int) -> None:
        self._deadline = None
        self._sock.sendall(data, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _operation_outcome_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "invalid" if 400 <= status_int < 500 else "exception",
                    "diagnostics": f"{reason}: {mesg}" if mesg else reason,
                }
            ],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


#: struct tcp_info (linux/tcp.h): eight one-byte fields, then rto, ato, snd_mss, rcv_mss and
#: unacked, which for a listening socket is the number of connections waiting to be accepted.
_TCP_INFO_UNACKED = struct.Struct("<8x16xI")


def queued_connections(listeners: Sequence[Any]) -> int:
    """How many connections wait in the listen queues to be accepted, by any worker: 0 where the
    system does not say (not Linux, a Unix socket)."""
    waiting = 0
    for listener in listeners:
        try:
            info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_UNACKED.size)
            waiting += _TCP_INFO_UNACKED.unpack_from(info)[0]
        except (AttributeError, OSError, struct.error):
            continue
    return waiting


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with a read deadline per request and JSON errors."""

    #: Set from settings before the workers start (``cds-service serve``).
    read_timeout_s: float = 10.0

    def init_process(self) -> None:
        # gunicorn writes its own errors through util.write_error: JSON here, in this process.
        util.write_error = _operation_outcome_error
        super().init_process()

    #: Requests handed to the thread pool and not finished (counted on the main thread).
    _in_flight = 0

    @property
    def max_keepalived(self) -> int:
        # Read by gunicorn as a request starts. A worker with requests queued beyond its threads
        # answers "Connection: close": its client reconnects, and the worker that accepts the
        # new connection is most often one with a thread free. Otherwise one worker can keep
        # every connection of a keep-alive client (a proxy, an EHR's pool) for good while the
        # others idle (bench/README.md, "Issue 17"). So does a request that starts while
        # connections wait in the listen queue: kept open, its client's next request would be
        # served ahead of them, and under load that queue-jumping set the p99 (bench/README.md,
        # eighth session). A lone worker has no other to hand connections to.
        if self.cfg.workers > 1 and (
            self._in_flight > self.cfg.threads or queued_connections(self.sockets)
        ):
            return 0
        return self._keepalived_cap

    @max_keepalived.setter
    def max_keepalived(self, value: int) -> None:
        self._keepalived_cap = value

    @property
    def worker_connections(self) -> int:
        # A worker with every thread busy stops accepting, as a sync worker does: a new
        # connection waits in the listen backlog for whichever worker has a thread free, instead
        # of queueing behind this one's requests (gunicorn's loop accepts while the number of
        # connections is under this). With keep-alive, the connections a client opens at once
        # otherwise stay where the accept race put them: one worker held 11 of wrk's 16, and
        # its queue set the p99 (bench/README.md). A lone worker accepts as ever.
        if self.cfg.workers > 1 and self._in_flight >= self.cfg.threads:
            return 0
        return self._connections_cap

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._connections_cap = value

    def enqueue_req(self, conn: Any) -> None:
        super().enqueue_req(conn)
        self._in_flight += 1  # once submitted: finish_request follows it, exactly once

    def finish_request(self, conn: Any, fs: Any) -> None:
        self._in_flight -= 1
        super().finish_request(conn, fs)

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError:
            return  # another worker took it, or the client left
        self.nr_conns += 1
        bounded = _DeadlineSocket(client, self.read_timeout_s)
        conn = TConn(self.cfg, bounded, address, listener.getsockname())
        # A new connection waits on the poller, not on a thread, until it sends something: idle
        # connections cost no thread and are closed after the keep-alive time.
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )
