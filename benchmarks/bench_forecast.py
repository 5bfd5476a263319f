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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=7)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
