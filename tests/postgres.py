"""A fresh PostgreSQL database per test module, on the machine's server (127.0.0.1:5432), and a TCP
proxy in front of it that a test can cut to make the database unreachable."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

#: The server and role the suite uses; CI starts PostgreSQL before the tests (see .ci/run).
SERVER = os.environ.get("CDS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def sqlalchemy_url(database: str, port: int | None = None) -> str:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    host, user = info.get("host", "127.0.0.1"), info.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port or info.get('port', 5432)}/{database}"


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"cds_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(database: str, sql: str) -> list[tuple[object, ...]]:
    info = psycopg.conninfo.conninfo_to_dict(SERVER)
    info["dbname"] = database
    with psycopg.connect(**info) as conn:  # type: ignore[arg-type]
        return list(conn.execute(sql).fetchall())


class TcpProxy:
    """Forwards 127.0.0.1:port to the database; ``cut()`` closes everything, ``restore()`` reopens."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = ("127.0.0.1", target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
