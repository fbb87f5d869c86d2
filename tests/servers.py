"""Real processes for the scale-out tests: the service under gunicorn, and nginx in front of it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()[-4000:]}")
        try:
            # "Connection: close": the probe leaves no kept-alive connection behind, whose
            # close the server would then handle beside the test's first requests.
            if requests.get(url, timeout=2, headers={"Connection": "close"}).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready in {timeout} s:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate (then kill) a test server and close its output pipe."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def service_instance(
    port: int, env: dict[str, str], directory: Path, workers: int = 1
) -> Iterator[str]:
    """``cds-service serve`` (gunicorn, ``workers`` workers) on 127.0.0.1:port."""
    log = directory / f"instance-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cds_service.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url + "/healthz", process, log)
        yield url
    finally:
        stop(process)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if found is None:
        raise RuntimeError("nginx is not installed: make test installs Debian's nginx-light")
    return found


@contextmanager
def nginx(upstreams: Sequence[str], directory: Path, port: int | None = None) -> Iterator[str]:
    """nginx on 127.0.0.1, balancing round-robin over ``upstreams`` (host:port)."""
    port = port or free_port()
    prefix = directory / "nginx"
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"    server {u};" for u in upstreams)
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"""
{user}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/temp/body;
  proxy_temp_path {prefix}/temp/proxy;
  fastcgi_temp_path {prefix}/temp/fastcgi;
  uwsgi_temp_path {prefix}/temp/uwsgi;
  scgi_temp_path {prefix}/temp/scgi;
  upstream cds {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 10m;
    location / {{
      proxy_pass http://cds;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream off;
    }}
  }}
}}
"""
    )
    log = prefix / "logs" / "stdout.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url + "/healthz", process, prefix / "logs" / "error.log")
        yield url
    finally:
        stop(process)
