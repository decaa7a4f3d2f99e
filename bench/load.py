"""A small closed-loop load generator: N threads, each with its own keep-alive HTTP connection
(http.client from the standard library), replaying one scenario for a bounded time and a bounded
number of requests, against a server on the loopback interface only.

Used by bench/run.py and by the smoke test (tests/bench/test_bench_smoke.py)."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)


# A scenario builds request number `n` of worker `worker` (deterministic, no shared state).
Scenario = Callable[[int, int], Request]


@dataclass
class ScenarioResult:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[str, int]
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        data = sorted(self.latencies_ms)
        k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))
        return data[k]

    def summary(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "scenario": self.name,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": r(self.percentile(50)),
            "p95_ms": r(self.percentile(95)),
            "p99_ms": r(self.percentile(99)),
            "mean_ms": r(statistics.fmean(self.latencies_ms)) if self.latencies_ms else None,
            "statuses": self.statuses,
            "first_error": self.first_error,
        }


class Client:
    """One keep-alive connection with a cookie jar (enough for Django sessions and CSRF)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        if host not in LOOPBACK:
            raise ValueError("The load driver only talks to the loopback interface.")
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, req: Request) -> tuple[int, bytes]:
        headers = {"Host": f"{self.host}:{self.port}", **req.headers}
        if self.cookies and "Cookie" not in headers:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if req.body is not None:
            headers.setdefault("Content-Length", str(len(req.body)))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(req.method, req.path, body=req.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
                continue
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response.headers.get("Connection", "").lower() == "close":
                self.close()
            return response.status, body
        raise RuntimeError("unreachable")

    def login(self, login_path: str, username: str, password: str) -> None:
        """Django's login form: GET it for the CSRF cookie, POST the credentials."""
        status, body = self.request(Request("GET", login_path))
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or match is None:
            raise RuntimeError(f"login page {login_path} answered {status}")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": match.group(1).decode(),
                "username": username,
                "password": password,
            }
        ).encode()
        status, _ = self.request(
            Request(
                "POST",
                login_path,
                form,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"http://{self.host}:{self.port}{login_path}",
                },
            )
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login as {username} failed ({status})")


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def run_scenario(
    name: str,
    scenario: Scenario,
    *,
    host: str,
    port: int,
    concurrency: int,
    seconds: float,
    max_requests: int,
    clients: Callable[[int], Client] | None = None,
    timeout: float = 30.0,
) -> ScenarioResult:
    """Run `scenario` with `concurrency` closed-loop workers until `seconds` have passed or
    `max_requests` were sent (whichever first). `clients(i)` gives worker i its (signed-in)
    client; by default a fresh anonymous one."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    first_error = ""
    lock = threading.Lock()
    sent = 0
    workers = [clients(i) if clients else Client(host, port, timeout) for i in range(concurrency)]
    start = time.perf_counter()
    deadline = start + seconds

    def work(worker: int) -> None:
        nonlocal errors, first_error, sent
        client = workers[worker]
        n = 0
        while True:
            with lock:
                if sent >= max_requests or time.perf_counter() >= deadline:
                    return
                sent += 1
            req = scenario(worker, n)
            n += 1
            t0 = time.perf_counter()
            try:
                status, body = client.request(req)
                label = str(status)
            except (OSError, http.client.HTTPException) as exc:
                status, body, label = 0, b"", type(exc).__name__
                client.close()
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                statuses[label] = statuses.get(label, 0) + 1
                if status in req.ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
                    if not first_error:
                        first_error = f"{req.method} {req.path} -> {label}: {body[:200]!r}"

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    elapsed = time.perf_counter() - start
    for c in workers:
        c.close()
    return ScenarioResult(
        name=name,
        concurrency=concurrency,
        requests=sum(statuses.values()),
        errors=errors,
        seconds=elapsed,
        latencies_ms=latencies,
        statuses=statuses,
        first_error=first_error,
    )


def wait_for(host: str, port: int, path: str, seconds: float = 60.0) -> None:
    """Wait until the server answers `path` (any status below 500)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        client = Client(host, port, timeout=5)
        try:
            status, _ = client.request(Request("GET", path))
            if status < 500:
                return
            last = f"status {status}"
        except OSError as exc:
            last = str(exc)
        finally:
            client.close()
        time.sleep(0.25)
    raise RuntimeError(f"server on {host}:{port} did not come up: {last}")


def worker_rss_kb(master_pid: int) -> dict[int, dict[str, int]]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a gunicorn master's workers, in KiB."""
    out: dict[int, dict[str, int]] = {}
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
            children = [int(p) for p in fh.read().split()]
    except OSError:
        return out
    for pid in children:
        try:
            with open(f"/proc/{pid}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        out[pid] = {
            "peak_rss_kb": int(fields.get("VmHWM", "0 kB").split()[0]),
            "rss_kb": int(fields.get("VmRSS", "0 kB").split()[0]),
        }
    return out
