"""The 12-month forecast (one pass) against the same figures asked one day at a time (issue 11).

    .venv/bin/python benchmarks/bench_forecast.py [--sizes 10 100 1000] [--rounds 7]

For histories of N stays (benchmarks/bench_engine.py's frequent traveller, with a planned trip)
it times, in alternation within each round so that a load on this shared machine falls on all
alike, and keeps the best of the rounds:

- `check`: one full question (the cost of one answer of the page);
- `forecast`: visafree.engine.forecast, days used on the 545 days of the window and the next
  12 months and the longest stay from each of the 365 start dates;
- `separate`: the same figures from 365 separate `judge_entry` calls (one per start date) and
  545 window counts, which is what the page would otherwise ask.

Aim: forecast / check <= 3 at every size. Prints the ratios measured in one run.

With --browser it also drives the page in Debian's chromium (Playwright) and prints, for adding
the 100th and the 2,000th trip, the page's own work counters (rows built, rows rewritten) and
the time until that trip's verdict shows, and their ratio: adding the 2,000th should cost about
what adding the 100th does (no work that grows with the square of the trips).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_engine import history  # noqa: E402
from visafree.engine import COMPILED, Presence, check, forecast, judge_entry  # noqa: E402
from visafree.engine.check import _validate, _validate_planned  # noqa: E402


def separate(q) -> None:
    rules = q.regime.rules_in_force(q.on)
    entries, lasts, _ = _validate(q)
    presence = Presence.chronological(entries, lasts)
    planned = _validate_planned(q, lasts[-1] if lasts else None)
    presence = presence.extended((e, last) for e, last, _ in planned)
    o, width = q.on.toordinal(), rules.window_days
    [presence.count(d - width + 1, d) for d in range(o - width + 1, o + 365)]
    for i in range(365):
        judge_entry(q.regime, q.nationality, q.destination, q.passport, presence, q.on + dt.timedelta(days=i),
                    rules=rules)


def best_of(fn, q, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(q)
    return (time.perf_counter() - start) / calls


def browser_adds(rounds: int) -> None:
    import contextlib
    import socket
    import subprocess
    import tempfile
    import urllib.request

    from playwright.sync_api import expect, sync_playwright

    @contextlib.contextmanager
    def running_server(_app):
        # Its own process, as in production: a server thread inside this process would share the
        # GIL with Playwright's client and slow every request down.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "visafree.api:create_app", "--factory",
                                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"])
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            yield url
        finally:
            server.terminate()
            server.wait(10)

    def create_app(**_):
        return None

    def trips_csv(n: int) -> str:
        rows = [f"{1960 + i // 60}-{1 + (i % 60) // 5:02d}-{1 + 5 * (i % 5):02d},"
                f"{1960 + i // 60}-{1 + (i % 60) // 5:02d}-{2 + 5 * (i % 5):02d}" for i in range(n)]
        return "entry,exit\n" + "\n".join(rows) + "\n"

    with running_server(create_app(include_optional=False)) as base, sync_playwright() as p, \
            tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        results = {}
        for n in (100, 2000):
            best = None
            for _ in range(rounds):
                page = browser.new_context(locale="en-US").new_page()
                page.goto(base + "/")
                expect(page.locator("#nationality option")).not_to_have_count(0)
                page.fill("#on", "2025-06-01")
                page.click(".keep summary")
                path = Path(tmp) / f"{n}.csv"
                path.write_text(trips_csv(n - 1), encoding="utf-8")
                page.set_input_files("#import-file", str(path))
                expect(page.locator("#trips .trip").nth(n - 2).locator(".trip-verdict")).to_have_text("2 days", timeout=60_000)
                before = page.evaluate("({...window.visafreeWork})")
                start = time.perf_counter()
                page.click("#add-trip")
                row = page.locator("#trips .trip").nth(n - 1)
                row.locator(".entry").fill("2025-05-01")
                row.locator(".exit").fill("2025-05-03")
                # Waited for in the page (a Playwright locator polled over 2,000 rows would itself
                # keep the page busy and be what is measured).
                page.wait_for_function(
                    "n => document.querySelectorAll('#trips .trip')[n].querySelector('.trip-verdict').textContent === '3 days'",
                    arg=n - 1, polling=20, timeout=60_000)
                elapsed = time.perf_counter() - start
                after = page.evaluate("({...window.visafreeWork})")
                work = {k: after[k] - before[k] for k in after}
                if best is None or elapsed < best[0]:
                    best = (elapsed, work)
                page.context.close()
            results[n] = best
        browser.close()
    print("\nbrowser: adding one trip (best of %d), page work counted and time to its verdict" % rounds)
    for n, (elapsed, work) in results.items():
        print(f"  trip {n:>5}: rows built {work['rowsBuilt']}, rows rewritten {work['rowsUpdated']}, "
              f"checks {work['checks']}, {elapsed * 1e3:.0f} ms (includes the 300 ms typing pause)")
    print(f"  2,000th / 100th: time {results[2000][0] / results[100][0]:.2f}x, "
          f"rows built {results[2000][1]['rowsBuilt']} vs {results[100][1]['rowsBuilt']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--browser", action="store_true", help="also add the 100th and 2,000th trip in chromium")
    args = parser.parse_args()
    print(f"engine: {'compiled (mypyc)' if COMPILED else 'pure Python'}; best of {args.rounds} rounds")
    print(f"{'stays':>6} {'check':>10} {'forecast':>10} {'separate':>10} {'fc/check':>9} {'sep/fc':>8}")
    worst = 0.0
    for n in args.sizes:
        q = history(n)
        assert forecast(q).longest_stay  # warm up, and it answers
        calls = max(1, 2000 // n)
        times = {"check": float("inf"), "forecast": float("inf"), "separate": float("inf")}
        for _ in range(args.rounds):
            times["check"] = min(times["check"], best_of(check, q, calls))
            times["forecast"] = min(times["forecast"], best_of(forecast, q, calls))
            times["separate"] = min(times["separate"], best_of(separate, q, max(1, calls // 20)))
        ratio = times["forecast"] / times["check"]
        worst = max(worst, ratio)
        print(f"{n:>6} {times['check'] * 1e3:>8.3f}ms {times['forecast'] * 1e3:>8.3f}ms "
              f"{times['separate'] * 1e3:>8.3f}ms {ratio:>8.2f}x {times['separate'] / times['forecast']:>7.1f}x")
    print(f"worst forecast/check: {worst:.2f}x (aim: at most 3x)")
    if args.browser:
        browser_adds(max(1, args.rounds // 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
