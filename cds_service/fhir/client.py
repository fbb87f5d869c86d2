"""The FHIR fallback: fetch the prefetch keys a client did not provide from its ``fhirServer``.

Bounded in every direction: only servers on the allowlist are ever contacted (so a caller cannot make
the service reach internal addresses, nor receive its tokens); one time limit per request and one for
all the fetching of a hook call; caps on pages, resources and bytes per key; no redirects; `next`
links are followed only on an allowed server. Independent keys are fetched concurrently. Every
failure becomes a reason ("timed out", "refused access (401)", "unreachable") that the caller turns
into a 412 for required data or a logged gap for optional data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from .. import metrics
from ..errors import CDSError, InvalidRequest
from ..protocol import HookRequest
from .prefetch import FetchJob, PrefetchValue, next_link, read_value

log = logging.getLogger(__name__)

_ACCEPT = "application/fhir+json"


class FetchFailed(CDSError):
    """One key could not be obtained; the message is the reason shown in a 412 (if the key is
    required) or in the log (if it is optional)."""

    status = 412
    issue_code = "incomplete"


@dataclass(frozen=True)
class FetchLimits:
    allowlist: tuple[str, ...] = ()
    request_timeout_s: float = 0.3
    hook_budget_s: float = 0.4
    max_pages: int = 10
    max_resources: int = 2000
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 6


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _without_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on a percent-decoded path: "/fhir/../admin" is "/admin". A segment's
    parameters are dropped first (servers such as Tomcat read "..;x" as "..")."""
    out: list[str] = []
    for segment in (part.split(";", 1)[0] for part in path.split("/")):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/".join(out)


def _normalised(url: str) -> tuple[str, str, str]:
    """Scheme, host and path as a server reads them: percent-encoding decoded ("%2e%2e" is "..")
    and dot segments removed, so a link cannot climb out of an allowed path."""
    parts = urlsplit(url)
    path = _without_dot_segments(unquote(parts.path).replace("\\", "/"))
    scheme, host = parts.scheme.lower(), parts.netloc.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host.removesuffix(f":{default}")  # https://host:443 is https://host
    return scheme, host, path.rstrip("/") + "/"


def is_allowed(url: str, allowlist: Sequence[str]) -> bool:
    """Same scheme and host as an allowlisted URL, and a path under it (segment by segment)."""
    scheme, host, path = _normalised(url)
    for allowed in allowlist:
        a_scheme, a_host, a_path = _normalised(allowed)
        if scheme == a_scheme and host == a_host and path.startswith(a_path):
            return True
    return False


@dataclass(frozen=True)
class _Call:
    """What every request of one hook call shares."""

    server: str
    headers: Mapping[str, str]
    deadline: float
    allowlist: Sequence[str]


class FhirFetcher:
    """Fetches declared prefetch keys from a request's ``fhirServer``; one per worker."""

    def __init__(self, limits: FetchLimits, session: requests.Session | None = None) -> None:
        self.limits = limits
        self.session = session or requests.Session()
        # Pooled connections per host; enough for every key of one call at once.
        adapter = HTTPAdapter(pool_maxsize=limits.concurrency)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._pool = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="fhir")

    def fetch_all(
        self, jobs: Sequence[FetchJob], request: HookRequest, also_allowed: Sequence[str] = ()
    ) -> dict[str, PrefetchValue]:
        """Fetch the jobs from ``request.fhirServer`` when it is on the allowlist (the settings',
        plus ``also_allowed``: the servers the calling issuer is trusted to name)."""
        allowlist = (*self.limits.allowlist, *also_allowed)
        server = request.fhirServer or ""
        if not is_allowed(server, allowlist):
            log.warning("fhirServer refused: not on the allowlist (%d keys)", len(jobs))
            metrics.FALLBACK.labels("refused").inc(len(jobs))
            reason = "fetching from this fhirServer is not allowed by the service's settings"
            return {job.key: PrefetchValue(job.key, False, reason=reason) for job in jobs}
        headers = {"Accept": _ACCEPT}
        if request.fhirAuthorization is not None:
            headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
        call = _Call(server, headers, time.monotonic() + self.limits.hook_budget_s, allowlist)
        futures: dict[Future[PrefetchValue], FetchJob] = {
            self._pool.submit(self._fetch, job, call): job for job in jobs
        }
        remaining = max(0.0, call.deadline - time.monotonic())
        wait(futures, timeout=remaining, return_when=FIRST_EXCEPTION)
        results = {}
        budget_ms = round(self.limits.hook_budget_s * 1000)
        for future, job in futures.items():
            if future.done():
                results[job.key] = future.result()
            else:
                reason = f"the FHIR server did not answer within the {budget_ms} ms budget"
                results[job.key] = PrefetchValue(job.key, False, reason=reason)
        return results

    # ------------------------------------------------------------------------------ one key

    def _fetch(self, job: FetchJob, call: _Call) -> PrefetchValue:
        started = time.monotonic()
        try:
            value = self._pages(job, call)
        except FetchFailed as exc:
            value = PrefetchValue(job.key, False, reason=str(exc))
        metrics.FALLBACK.labels("ok" if value.provided else "failed").inc()
        log.info(
            "fetched key=%s provided=%s resources=%d ms=%.0f",
            job.key,
            value.provided,
            len(value.resources),
            (time.monotonic() - started) * 1000,
        )
        return value

    def _pages(self, job: FetchJob, call: _Call) -> PrefetchValue:
        resources: list[dict[str, Any]] = list(job.start.resources) if job.start else []
        url: str | None
        if job.start is not None and job.start.bundle is not None:
            url = next_link(job.start.bundle)
        else:
            url = urljoin(call.server.rstrip("/") + "/", job.query)
        pages = 1 if job.start else 0
        received = 0
        while url:
            # The token was issued for this fhirServer: a paging link may not lead to another
            # one, even an allowlisted one.
            if not (is_allowed(url, (call.server,)) and is_allowed(url, call.allowlist)):
                raise FetchFailed("a paging link leads away from the fhirServer of the request")
            if pages >= self.limits.max_pages:
                raise FetchFailed(f"the result has more than {self.limits.max_pages} pages")
            content = self._get(
                url, call.headers, call.deadline, job.spec.is_read, self.limits.max_bytes - received
            )
            received += len(content)
            try:
                # orjson: its depth limit makes a deeply nested answer an error, not a crash.
                body = orjson.loads(content)
            except (orjson.JSONDecodeError, UnicodeDecodeError):
                raise FetchFailed("the FHIR server's answer is not valid JSON") from None
            try:
                value = read_value(job.key, job.spec, body, True, source="the FHIR server")
            except InvalidRequest as exc:  # the server's answer is wrong, not the caller's request
                raise FetchFailed(
                    f"unexpected answer from the FHIR server: {exc.message}"
                ) from None
            if not value.provided:
                raise FetchFailed(value.reason)
            resources += value.resources
            if len(resources) > self.limits.max_resources:
                raise FetchFailed(f"the result has more than {self.limits.max_resources} resources")
            pages += 1
            url = next_link(value.bundle) if value.bundle is not None else None
        return PrefetchValue(job.key, True, resources=tuple(resources))

    def _get(
        self, url: str, headers: Mapping[str, str], deadline: float, is_read: bool, max_bytes: int
    ) -> bytes:
        """One page, as bytes: at most ``max_bytes`` (what is left of the key's size cap)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("the hook's time budget ran out before this request")
        timeout = min(self.limits.request_timeout_s, remaining)
        try:
            response = self.session.get(
                url, headers=dict(headers), timeout=timeout, stream=True, allow_redirects=False
            )
            with response:
                if response.status_code in {401, 403}:
                    raise FetchFailed(f"the FHIR server refused access ({response.status_code})")
                if response.status_code == 404 and is_read:
                    raise FetchFailed("the FHIR server has no such resource (404)")
                if response.status_code != 200:
                    raise FetchFailed(f"the FHIR server answered {response.status_code}")
                return self._read(response, deadline, max_bytes)
        except requests.Timeout:
            raise FetchFailed(
                f"the FHIR server did not answer within {round(timeout * 1000)} ms"
            ) from None
        except requests.ConnectionError:
            raise FetchFailed("the FHIR server is unreachable") from None
        except requests.RequestException as exc:
            raise FetchFailed(
                f"the request to the FHIR server failed ({type(exc).__name__})"
            ) from None

    def _read(self, response: requests.Response, deadline: float, max_bytes: int) -> bytes:
        """The body, read as it arrives: ``read1`` returns whatever bytes are there, so a server
        that trickles its answer is cut at the deadline instead of holding this thread (and a
        place in the pool) until a whole chunk has come."""
        chunks, size = [], 0
        while True:
            chunk = response.raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed(
                    f"the FHIR server's answer is larger than {self.limits.max_bytes} bytes"
                )
            if time.monotonic() > deadline:
                raise requests.Timeout()
            chunks.append(chunk)
        return b"".join(chunks)
