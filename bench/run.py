"""The benchmark: the service as production runs it (``cds-service serve``: gunicorn, threaded workers)
against a baseline app under the same server settings, driven by wrk, in one run.

    python bench/run.py [--workers 2] [--connections 16] [--duration 10] [--database sqlite|postgres]

Per scenario it reports requests per second, p50/p99 latency, peak memory per worker and the ratio
service/baseline, and writes the table to bench/results.md. Timings are measurements, never pass/fail
tests: this machine is shared and noisy, so compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS = [
    ("patient-view-50-obs-no-skin", "milia-patient-view"),
    ("patient-view-50-obs-skin", "milia-patient-view"),
    ("patient-view-500-obs-no-skin", "milia-patient-view"),
    ("patient-view-500-obs-skin", "milia-patient-view"),
    ("patient-view-500-obs-skin-varied-notes", "milia-patient-view"),
    ("patient-view-2000-obs-no-skin", "milia-patient-view"),
    ("patient-view-2000-obs-skin", "milia-patient-view"),
    ("order-sign-steroid", "milia-order-sign"),
    # Issue 17: charts that look like production (bench/charts.py).
    ("heavy-chart", "milia-patient-view"),
    ("heavy-chart-distinct-notes", "milia-patient-view"),
    ("newborn", "milia-patient-view"),
    ("order-sign-long-medication-list", "milia-order-sign"),
]


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url}: not ready within {timeout} s")


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, body: Path, connections: int, duration: int) -> Result:
    """``body`` is one request, or a folder of requests sent in turn (post_pool.lua)."""
    if body.is_dir():
        script = HERE / "post_pool.lua"
        extra = {"BODY_DIR": str(body), "BODY_COUNT": str(len(list(body.glob("*.json"))))}
    else:
        script, extra = HERE / "post.lua", {"BODY_FILE": str(body)}
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **extra}, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += (
        sum(
            int(n)
            for n in re.findall(
                r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
            )[0]
        )
        if "Socket errors" in out
        else 0
    )
    return Result(rps, p50, p99, errors)


def workers_of(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def proportional_mb(pid: int) -> float:
    """PSS: the worker's own pages, plus its share of those it shares with the master and the
    other workers (the knowledge base, spaCy and the matchers are loaded before the fork)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def host_speed_ms() -> float:
    """A fixed piece of work (orjson parses the heavy chart), median of 30: this machine's speed
    varies with its neighbours, so the table says how fast it was during the run."""
    import orjson

    body = (HERE / "requests" / "heavy-chart.json").read_bytes()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        orjson.loads(body)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--threads", type=int, default=2, help="CDS_THREADS: threads per worker of the service"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--only", nargs="*", help="scenario names (default: all); the table lists only these"
    )
    args = parser.parse_args()
    scenarios = [s for s in SCENARIOS if not args.only or s[0] in args.only]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs Debian's wrk)")
    subprocess.run(
        [sys.executable, str(HERE / "make_requests.py")], check=True, capture_output=True
    )

    work = Path(tempfile.mkdtemp(prefix="cds-bench-"))
    database = f"sqlite:///{work / 'bench.sqlite3'}"
    if args.database == "postgres":
        database = os.environ.get(
            "CDS_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    service_port, baseline_port = free_port(), free_port()
    env = {
        "CDS_AUTH_MODE": "development",  # JWT verification is not part of what is measured here
        "CDS_SECRET_KEY": "benchmark",
        "CDS_DATABASE_URL": database,
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_WORKERS": str(args.workers),
        "CDS_THREADS": str(args.threads),
    }
    service = start(
        [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(service_port)],
        env,
        work / "service.log",
    )
    startup = wait_ready(f"http://127.0.0.1:{service_port}/readyz", service)
    baseline = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{baseline_port}",
            "--chdir",
            str(HERE),
            "baseline:app",
        ],
        {},
        work / "baseline.log",
    )
    wait_ready(f"http://127.0.0.1:{baseline_port}/readyz", baseline)

    rows = []
    speed_before = host_speed_ms()
    try:
        for name, service_id in scenarios:
            body = HERE / "requests" / f"{name}.json"
            if not body.exists():
                body = HERE / "requests" / name  # a pool of bodies
            path = f"/cds-services/{service_id}"
            wrk(f"http://127.0.0.1:{service_port}{path}", body, args.connections, 2)  # warm up
            ours = wrk(
                f"http://127.0.0.1:{service_port}{path}", body, args.connections, args.duration
            )
            base = wrk(
                f"http://127.0.0.1:{baseline_port}{path}", body, args.connections, args.duration
            )
            size = (
                body.stat().st_size if body.is_file() else next(body.glob("*.json")).stat().st_size
            )
            rows.append((name, size // 1024, ours, base))
            print(
                f"{name}: {ours.rps:.0f} rps (baseline {base.rps:.0f}), p99 {ours.p99_ms:.1f} ms",
                flush=True,
            )
        workers = workers_of(service.pid)
        memory = max(peak_mb(pid) for pid in workers)
        shared_out = max(proportional_mb(pid) for pid in workers)
    finally:
        stop(service)
        stop(baseline)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} at commit {commit or 'unknown'} on "
        f"{platform.machine()} ({platform.processor() or 'unknown CPU'}), {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; `cds-service serve` with {args.workers} workers of "
        f"{args.threads} thread(s) (the service's threaded gunicorn worker), {args.database}; wrk 2 "
        f"threads, {args.connections} connections, {args.duration} s per scenario (after a 2 s "
        "warm-up); baseline: gunicorn sync workers, as many, serving a Flask app that only parses "
        "the body with orjson and returns a constant card list. Development mode (no JWT check). "
        f"Host speed (orjson parse of the heavy chart, median): {speed_before:.2f} ms before the "
        f"run, {host_speed_ms():.2f} ms after.",
        "",
        f"Start-up to ready (`/readyz` 200): **{startup:.2f} s**. Memory per worker: peak resident "
        f"(VmHWM) **{memory:.0f} MB**, of which pages shared with the master and the other workers "
        f"count once per process; proportional (PSS, shared pages split between the processes "
        f"sharing them) **{shared_out:.0f} MB**.",
        "",
        "| scenario | body KiB | service req/s | p50 ms | p99 ms | baseline req/s | baseline p99 ms | service/baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, size, ours, base in rows:
        errors = f" ({ours.errors} errors)" if ours.errors else ""
        lines.append(
            f"| {name} | {size} | {ours.rps:.0f}{errors} | {ours.p50_ms:.1f} | {ours.p99_ms:.1f} | "
            f"{base.rps:.0f} | {base.p99_ms:.1f} | {ours.rps / base.rps:.2f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
