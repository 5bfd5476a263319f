"""Engine vs the day-by-day reference model on the same histories (issue 2's speed goal).

    .venv/bin/python benchmarks/bench_engine.py [--sizes 1 10 100 1000] [--repeat 5]

Prints, for histories of N stays, the time of one full question (days used, violations, per-stay
reports, the current stay's true latest exit, a planned trip, the earliest 14-day trip) for the
engine and for the reference model, their ratio, and how each grows from one size to the next.
Goals: the engine's cost grows at most like N log N (a 10x larger history costs ~10-14x, never
~100x), and the engine is at least 100x faster than the day-by-day model at 100 stays.
Ratios are measured in one run, so a busy machine slows both sides alike. The first line says
whether the engine measured is the compiled one (the default install) or the pure-Python source.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.engine.reference

from tests.engine.reference import Reference  # noqa: E402
from visafree.engine import COMPILED, Passport, Question, Stay, check  # noqa: E402
from visafree.regimes import builtin_regimes  # noqa: E402


def history(n: int, seed: int = 7) -> Question:
    """n stays of 1-30 days (the vn-kz maximum) with gaps of 0-60 days, same-day re-entries
    included, the last one still open: a frequent traveller's history."""
    rng = random.Random(seed)
    day = dt.date(2024, 6, 1)
    stays = []
    for _ in range(n):
        length = rng.randint(0, 29)
        stays.append(Stay(day, day + dt.timedelta(days=length)))
        day += dt.timedelta(days=length + rng.randint(0, 60))
    on = stays[-1].exit + dt.timedelta(days=3)
    stays[-1] = Stay(stays[-1].entry, None)
    return Question(builtin_regimes()["vn-kz"], "KAZ", "VNM", on, tuple(stays),
                    Passport("ordinary", on + dt.timedelta(days=3000)),
                    (Stay(on + dt.timedelta(days=60), on + dt.timedelta(days=75)),), 14)


def engine_question(q: Question) -> None:
    check(q)


def reference_question(q: Question) -> None:
    ref = Reference(q)
    ref.days_used(), ref.overstay_days(), ref.stay_reports(), ref.violation_starts()
    ref.current_stay(), ref.planned(), ref.earliest()


def timed_pair(q: Question, rounds: int, engine_calls: int) -> tuple[float, float]:
    """Best time per question of each side, the two measured in alternation so that a load
    on this shared machine that comes and goes falls on both alike."""
    best_engine = best_reference = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(engine_calls):
            engine_question(q)
        best_engine = min(best_engine, (time.perf_counter() - start) / engine_calls)
        start = time.perf_counter()
        reference_question(q)
        best_reference = min(best_reference, time.perf_counter() - start)
    return best_engine, best_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=7, help="rounds per size (2 at 1000 stays)")
    args = parser.parse_args()
    print("engine: " + ("compiled by mypyc (setup.py)" if COMPILED else
                        "pure Python (installed with VISAFREE_PURE_PYTHON=1, or no C compiler)"))
    print(f"{'stays':>6} {'engine':>12} {'reference':>12} {'speed-up':>9} {'engine growth':>14} {'ref growth':>11}")
    previous = None
    results = {}
    for n in args.sizes:
        q = question = history(n)
        check(question)  # warm-up, and proof that the history is valid
        engine, reference = timed_pair(q, args.repeat if n <= 100 else 2, 20 if n <= 100 else 3)
        growth = ("" if previous is None else f"x{engine / previous[0]:.1f} for x{n / previous[2]:.0f}")
        ref_growth = ("" if previous is None else f"x{reference / previous[1]:.1f}")
        print(f"{n:>6} {engine * 1e6:>10.0f}µs {reference * 1e3:>10.1f}ms {reference / engine:>8.0f}x {growth:>14} {ref_growth:>11}")
        previous = (engine, reference, n)
        results[n] = (engine, reference)
    if 100 in results:
        ratio = results[100][1] / results[100][0]
        print(f"\nat 100 stays the engine is {ratio:.0f}x faster than the day-by-day model (goal: >= 100x): "
              f"{'met' if ratio >= 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
