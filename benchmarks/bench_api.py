"""Load the HTTP API on loopback and compare with the engine alone.

    .venv/bin/python benchmarks/bench_api.py [--seconds 5] [--concurrency 16] [--requests 1000]

For histories of 10 and 100 stays it prints, per history:
  engine   `visafree.contract.run_check` in this process (parse + engine + render): p50, p99,
  asgi     the app called in-process with a synthetic request (no sockets, no uvicorn): p50,
  http     one client, one keep-alive loopback connection, requests back to back: p50, p99,
  app+     median over iterations of (asgi - engine): what FastAPI and our middleware add,
  http+    median over iterations of (http - engine): what the whole HTTP path adds,
  checks/s `concurrency` asyncio clients for `seconds` (bounded by --max-requests),
and a `min` line: the fastest of each, the intrinsic cost when nothing else competed for a CPU.

The three timings are taken in turn within each iteration, so a busy machine slows them alike
and the paired differences stay meaningful. The server is a separate process (uvicorn, one
worker) so the load generator does not share its GIL; the client is Python too, so checks/s is
a floor on what the server can do.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import httpx

from visafree.api import API_LIMITS, create_app
from visafree.contract import run_check
from visafree.regimes import builtin_regimes

ON = dt.date(2025, 6, 1)


def history(n: int, seed: int = 7) -> dict:
    """n stays of 1..20 days with gaps of 5..60 days, ending on ON with a stay still open."""
    rng = random.Random(seed)
    spans = []
    day = ON
    for i in range(n):
        entry = day - dt.timedelta(days=rng.randint(1, 20) - 1)
        spans.append({"entry": entry.isoformat()} if i == 0 else {"entry": entry.isoformat(), "exit": day.isoformat()})
        day = entry - dt.timedelta(days=rng.randint(5, 60))
    return {"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": ON.isoformat(),
            "stays": list(reversed(spans)), "trip_days": 14}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class AsgiCaller:
    """Calls the app like a server would, minus the socket: one POST /api/v1/check."""

    def __init__(self, body: bytes):
        self.app = create_app(include_optional=False)
        self.body = body
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/api/v1/check", "raw_path": b"/api/v1/check", "query_string": b"", "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        }
        self.loop = asyncio.new_event_loop()

    async def _call(self) -> int:
        given = False
        status = []

        async def receive():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(dict(self.scope), receive, send)
        return status[0]

    def __call__(self) -> float:
        t0 = time.perf_counter()
        status = self.loop.run_until_complete(self._call())
        elapsed = time.perf_counter() - t0
        if status != 200:
            raise SystemExit(f"ASGI call answered {status}")
        return elapsed


def paired(url: str, data: dict, count: int) -> tuple[list[float], list[float], list[float]]:
    regimes = builtin_regimes()
    body = json.dumps(data).encode()
    asgi = AsgiCaller(body)
    headers = {"Content-Type": "application/json"}
    engine, app, http = [], [], []
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(count + 100):
            t0 = time.perf_counter()
            run_check(data, regimes, API_LIMITS)
            t_engine = time.perf_counter() - t0
            t_app = asgi()
            t0 = time.perf_counter()
            r = client.post("/api/v1/check", content=body, headers=headers)
            t_http = time.perf_counter() - t0
            if r.status_code != 200:
                raise SystemExit(f"unexpected {r.status_code}: {r.text[:200]}")
            if i >= 100:  # warm-up done
                engine.append(t_engine)
                app.append(t_app)
                http.append(t_http)
    asgi.loop.close()
    return engine, app, http


async def load(url: str, body: bytes, seconds: float, concurrency: int, max_requests: int) -> tuple[int, float, int]:
    done = errors = 0
    stop = time.perf_counter() + seconds
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        async def worker():
            nonlocal done, errors
            while time.perf_counter() < stop and done + errors < max_requests:
                r = await client.post("/api/v1/check", content=body, headers=headers)
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return done, elapsed, errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of the concurrent load, per history")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--requests", type=int, default=1000, help="paired iterations for latency")
    ap.add_argument("--max-requests", type=int, default=50_000, help="cap on requests of the concurrent load")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to separate CPUs")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(cpus) >= 2

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "visafree.api:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        # Server and client on their own CPUs, so they do not take turns on one.
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpus[0]})) if pin else None,
    )
    if pin:
        os.sched_setaffinity(0, set(cpus[1:]))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise SystemExit("server did not start")
        print(f"python {sys.version.split()[0]}, uvicorn 1 worker, client httpx, {os.cpu_count()} CPUs"
              f"{' (server and client pinned apart)' if pin else ''}, load average {os.getloadavg()[0]:.2f}")
        with httpx.Client(base_url=url, timeout=10) as client:
            floor = []
            for i in range(args.requests + 100):
                t0 = time.perf_counter()
                client.get("/healthz")
                if i >= 100:
                    floor.append(time.perf_counter() - t0)
        print(f"floor: GET /healthz (client + uvicorn + framework, no engine): p50 {statistics.median(floor) * 1000:.3f}ms, "
              f"min {min(floor) * 1000:.3f}ms")
        print(f"{'stays':>5} {'engine p50':>10} {'engine p99':>10} {'asgi p50':>9} {'http p50':>9} {'http p99':>9} "
              f"{'app+ p50':>9} {'http+ p50':>9} {'http/eng':>8} {'checks/s':>8}")
        for n in (10, 100):
            data = history(n)
            engine, app, http = paired(url, data, args.requests)
            done, elapsed, errors = asyncio.run(
                load(url, json.dumps(data).encode(), args.seconds, args.concurrency, args.max_requests))
            ms = lambda x: x * 1000  # noqa: E731
            e50, h50 = statistics.median(engine), statistics.median(http)
            app_plus = statistics.median(a - e for a, e in zip(app, engine))
            http_plus = statistics.median(h - e for h, e in zip(http, engine))
            print(f"{n:>5} {ms(e50):>8.3f}ms {ms(pct(engine, .99)):>8.3f}ms {ms(statistics.median(app)):>7.3f}ms "
                  f"{ms(h50):>7.3f}ms {ms(pct(http, .99)):>7.3f}ms {ms(app_plus):>+7.3f}ms {ms(http_plus):>+7.3f}ms "
                  f"{h50 / e50:>8.1f} {done / elapsed:>8.0f}" + (f"  ({errors} errors)" if errors else ""))
            # Minimums: the intrinsic cost when nothing else competed for the CPU.
            print(f"{'min':>5} {ms(min(engine)):>8.3f}ms {'':>10} {ms(min(app)):>7.3f}ms {ms(min(http)):>7.3f}ms {'':>9} "
                  f"{ms(min(app) - min(engine)):>+7.3f}ms {ms(min(http) - min(engine)):>+7.3f}ms {min(http) / min(engine):>8.1f}")
        print(f"load average after: {os.getloadavg()[0]:.2f}; concurrency {args.concurrency}, {args.seconds:g} s per history")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
