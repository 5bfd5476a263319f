"""Differential: the DuckDB pipeline gives exactly the engine's answer, stay by stay."""

from __future__ import annotations

import datetime as dt

from visafree.batch import oracle
from visafree.batch.generate import EDGE_SCENARIOS

from .conftest import ON, read_rows


def _outputs(report):
    return read_rows(f"{report.out_dir}/stays.parquet"), read_rows(f"{report.out_dir}/travellers.parquet")


def test_every_stay_and_traveller_equals_the_engine(duck_report):
    stays, travellers = _outputs(duck_report)
    assert len(stays) > 2_000 and len(travellers) > 500
    assert oracle.differences(stays, travellers, ON, limit=10) == []


def test_population_exercises_every_rule(duck_report):
    stays, travellers = _outputs(duck_report)
    rules = {s["violation_rule"] for s in stays}
    assert rules == {None, "per_stay_limit", "window_limit"}
    assert any(t["in_country"] and t["latest_exit"] is None for t in travellers)  # refused on entry
    assert any(t["in_country"] and t["limited_by"] == "window_limit" for t in travellers)
    assert any(t["in_country"] and t["limited_by"] == "per_stay_limit" for t in travellers)
    assert any(s["days"] == 1 for s in stays)  # same-day trips
    assert any(s["exit"] is None for s in stays)


def _edge(stays, population, name):
    """The stays of the first edge traveller playing scenario `name`."""
    index = [s[0] for s in EDGE_SCENARIOS].index(name)
    import duckdb

    tid = duckdb.connect().execute(
        f"SELECT min(traveller_id) FROM read_parquet('{population.out_dir}/*.parquet') "
        f"WHERE profile = 'edge' AND traveller_id % {len(EDGE_SCENARIOS)} = {index}").fetchone()[0]
    assert tid is not None, f"scenario {name} missing from the population"
    return sorted((s for s in stays if s["traveller_id"] == tid), key=lambda s: (s["entry"], s["last_day"]))


def day(offset: int) -> dt.date:
    return ON + dt.timedelta(days=offset)


def test_edges_of_rules_md(duck_report, population):
    stays, travellers = _outputs(duck_report)
    # R3: 30 days is allowed, day 31 is the first day of overstay.
    (s,) = _edge(stays, population, "stay_30_days")
    assert (s["days"], s["first_violation"]) == (30, None)
    (s,) = _edge(stays, population, "stay_31_days")
    assert (s["days"], s["first_violation"], s["violation_rule"], s["overstay_days"]) == \
        (31, day(-70), "per_stay_limit", 1)
    # R4: 90 days in 180 is allowed; the 91st is in breach.
    assert all(s["first_violation"] is None for s in _edge(stays, population, "exactly_90_in_180"))
    last = _edge(stays, population, "day_91_in_180")[-1]
    assert (last["first_violation"], last["violation_rule"]) == (day(-40), "window_limit")
    # A same-day trip is one day; an exit and re-entry on one day count that day once.
    (s,) = _edge(stays, population, "same_day_trip")
    assert s["days"] == 1
    a, b = _edge(stays, population, "exit_reentry_same_day")
    assert (a["days"], b["days"]) == (30, 22) and b["first_violation"] is None
    # One day "remaining" on entry, yet the stay runs 82 days: old days leave the window.
    _, long = _edge(stays, population, "one_day_left_schengen_long")
    assert (long["days"], long["first_violation"]) == (82, None)
    # On a tie between R3 and R4 the window is reported, as the engine does.
    tie = _edge(stays, population, "r3_r4_same_day")[-1]
    assert (tie["first_violation"], tie["violation_rule"]) == (day(-100), "window_limit")


def test_shared_breach_day_counted_once_per_traveller(duck_report, population):
    stays, travellers = _outputs(duck_report)
    three = _edge(stays, population, "shared_day_in_breach")
    total = next(t for t in travellers if t["traveller_id"] == three[0]["traveller_id"])
    assert sum(s["overstay_days"] for s in three) == total["overstay_days"] + 1


def test_open_stays_and_latest_exit(duck_report, population):
    stays, travellers = _outputs(duck_report)
    by_id = {t["traveller_id"]: t for t in travellers}
    ok = by_id[_edge(stays, population, "open_within_limits")[0]["traveller_id"]]
    assert ok["in_country"] and ok["latest_exit"] == day(-10 + 29) and not ok["past_permitted_end"]
    late = by_id[_edge(stays, population, "open_past_30_days")[0]["traveller_id"]]
    assert late["past_permitted_end"] and late["latest_exit"] == day(-40 + 29)
    refused = by_id[_edge(stays, population, "open_refused_on_entry")[0]["traveller_id"]]
    assert refused["latest_exit"] is None and refused["past_permitted_end"]
    early = by_id[_edge(stays, population, "open_since_before_in_force")[0]["traveller_id"]]
    assert early["latest_exit"] is None  # entry before 2024-05-25 is not visa-free
    sch = by_id[_edge(stays, population, "one_day_left_schengen_open")[0]["traveller_id"]]
    assert (sch["latest_exit"], sch["limited_by"]) == (day(-300 + 268), "window_limit")


def test_summaries_add_up(duck_report):
    stays, _ = _outputs(duck_report)
    for name in ("summary_nationality", "summary_destination", "summary_border_post", "summary_month"):
        rows = read_rows(f"{duck_report.out_dir}/{name}.parquet")
        assert sum(r["stays"] for r in rows) == len(stays), name
        assert sum(r["overstay_days"] for r in rows) == sum(s["overstay_days"] for s in stays), name
        for column, count in (("per_stay_limit", lambda s: s["violation_rule"] == "per_stay_limit"),
                              ("window_limit", lambda s: s["violation_rule"] == "window_limit"),
                              ("stays_with_violation", lambda s: s["first_violation"] is not None),
                              ("open_stays", lambda s: s["exit"] is None)):
            assert sum(r[column] for r in rows) == sum(map(count, stays)), (name, column)
    months = read_rows(f"{duck_report.out_dir}/summary_month.parquet")
    assert all(len(r["month"]) == 7 for r in months)


def test_rule_numbers_come_from_the_regime_data(population, tmp_path):
    """Change R3 to 20 days in a copy of the regime: the batch follows, as the engine does."""
    import dataclasses

    from visafree.batch import duck
    from visafree.engine.regime import Parameter, ParameterValue
    from visafree.regimes import builtin_regimes

    base = builtin_regimes()["vn-kz"]
    p = base.parameters["per_stay_max_days"]
    changed = dataclasses.replace(base, parameters={**base.parameters, "per_stay_max_days": Parameter(
        p.name, p.rule, p.description, (ParameterValue(p.values[0].period, 20, "test"),))})
    regimes = {**builtin_regimes(), "vn-kz": changed}
    report = duck.run([population.out_dir], tmp_path, ON, threads=1, regimes=regimes)
    stays = read_rows(f"{tmp_path}/stays.parquet")
    travellers = read_rows(f"{tmp_path}/travellers.parquet")
    per_stay = [s for s in stays if s["regime"] == "vn-kz" and s["violation_rule"] == "per_stay_limit"]
    assert any(s["days"] == 21 and s["overstay_days"] == 1 for s in per_stay)
    assert report.identity_holds
    assert oracle.differences(stays, travellers, ON, limit=10, regimes=regimes) == []
