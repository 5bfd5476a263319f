"""A synthetic log of border crossings, deterministic by seed, written as Parquet in chunks.

The population is shaped like the traffic the VN-KZ agreement brought (RULES.md §1): Kazakh
tourists on the Almaty/Astana–Nha Trang (Cam Ranh) flights with one- and two-week stays,
Vietnamese business travellers to Astana and Almaty, border runners who leave and re-enter on
the same day, a known share of R3 and R4 overstayers, Schengen visitors (the second regime),
open stays on the reference date, and a hand-written set of the edge cases of RULES.md §2.
Data-quality problems are injected at known rates (duplicates, exits without entry, two entries
in a row, rows recorded out of order) and counted in `manifest.json`.

Generation is SQL run by DuckDB, chunk by chunk of travellers: every random draw is a hash of
(seed, traveller, trip, purpose), so a traveller's history does not depend on the chunk size
and nothing is held in memory beyond one chunk. (The hash is DuckDB's: the same seed gives the
same data with the same DuckDB version.)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from .params import day_number

DEFAULT_ON = dt.date(2025, 12, 31)
DEFAULT_START = dt.date(2024, 6, 1)

#: Share of travellers per profile (normalised). Names are the `profile` column of the manifest.
DEFAULT_MIX = {
    "tourist": 0.55,  # KAZ -> VNM, Almaty/Astana - Nha Trang flights, 1-2 week stays
    "business": 0.20,  # VNM -> KAZ, Astana/Almaty, 1-20 days, frequent
    "border_run": 0.05,  # KAZ in VNM, ~30-day stays with same-day exit and re-entry
    "r3_overstay": 0.03,  # one stay of 31-45 days
    "r4_overstay": 0.03,  # VNM -> KAZ, back-to-back stays that exceed 90 days in 180
    "schengen": 0.12,  # third-country visitors to the Schengen area (the second regime)
    "edge": 0.02,  # the edge cases of RULES.md §2, written out below
}

#: Per traveller, at most one injected problem, with these probabilities.
DEFAULT_DQ = {"duplicate": 0.004, "missing_entry": 0.002, "missing_exit": 0.002, "swap": 0.004}

# The edge cases of RULES.md §2 as (name, regime, nationality, destination, post, trips), each
# trip (entry, exit) as day offsets from the reference date, exit None for an open stay.
EDGE_SCENARIOS: list[tuple[str, str, str, str, str, list[tuple[int, int | None]]]] = [
    ("stay_30_days", "vn-kz", "KAZ", "VNM", "CXR", [(-100, -71)]),
    ("stay_31_days", "vn-kz", "KAZ", "VNM", "CXR", [(-100, -70)]),
    ("exactly_90_in_180", "vn-kz", "KAZ", "VNM", "CXR", [(-170, -141), (-130, -101), (-90, -61)]),
    ("day_91_in_180", "vn-kz", "KAZ", "VNM", "CXR", [(-170, -141), (-130, -101), (-90, -61), (-40, -40)]),
    ("same_day_trip", "vn-kz", "VNM", "KAZ", "NQZ", [(-50, -50)]),
    ("exit_reentry_same_day", "vn-kz", "KAZ", "VNM", "MOC_BAI", [(-80, -51), (-51, -30)]),
    ("border_run_chain", "vn-kz", "KAZ", "VNM", "MOC_BAI",
     [(-200, -171), (-171, -142), (-142, -113), (-113, -84)]),
    ("one_day_left_schengen_open", "schengen", "USA", "FRA", "CDG", [(-300, -212), (-121, None)]),
    ("one_day_left_schengen_long", "schengen", "USA", "FRA", "CDG", [(-300, -212), (-121, -40)]),
    ("one_day_left_vnkz_open", "vn-kz", "KAZ", "VNM", "CXR",
     [(-300, -271), (-271, -242), (-242, -213), (-121, None)]),
    ("open_within_limits", "vn-kz", "KAZ", "VNM", "CXR", [(-10, None)]),
    ("open_past_30_days", "vn-kz", "KAZ", "VNM", "CXR", [(-40, None)]),
    ("open_refused_on_entry", "vn-kz", "VNM", "KAZ", "NQZ",
     [(-100, -71), (-71, -42), (-42, -11), (-5, None)]),
    ("open_since_before_in_force", "vn-kz", "KAZ", "VNM", "CXR", [("2024-05-20", None)]),
    ("adjacent_stays", "vn-kz", "KAZ", "VNM", "HAN", [(-60, -45), (-44, -30)]),
    ("two_day_trips_one_day", "vn-kz", "VNM", "KAZ", "ALA", [(-20, -20), (-20, -20)]),
    ("schengen_90", "schengen", "GBR", "DEU", "FRA", [(-200, -111)]),
    ("schengen_91", "schengen", "GBR", "DEU", "FRA", [(-200, -110)]),
    ("shared_day_in_breach", "schengen", "JPN", "ITA", "FCO", [(-150, -100), (-100, -60), (-60, -50)]),
    ("r3_r4_same_day", "vn-kz", "KAZ", "VNM", "CXR", [(-200, -171), (-170, -141), (-130, -95)]),
    ("exit_on_reference_date", "vn-kz", "VNM", "KAZ", "NQZ", [(-29, 0)]),
    ("entry_on_reference_date", "vn-kz", "KAZ", "VNM", "CXR", [(-60, -40), (0, None)]),
]


@dataclass
class GenerateResult:
    out_dir: Path
    rows: int
    travellers: int
    files: int
    profiles: dict = field(default_factory=dict)
    injected: dict = field(default_factory=dict)
    seed: int = 0
    on: dt.date = DEFAULT_ON


def _edge_rows(on: dt.date) -> list[tuple]:
    rows = []
    for i, (name, regime, nat, dest, post, trips) in enumerate(EDGE_SCENARIOS):
        for k, (entry, exit) in enumerate(trips):
            if isinstance(entry, str):
                entry = (dt.date.fromisoformat(entry) - on).days
            rows.append((i, name, k, regime, nat, dest, post, entry, exit))
    return rows


def _pick(u: str, choices: list[tuple[str, float]]) -> str:
    """CASE expression choosing among weighted string values with the uniform `u`."""
    total = sum(w for _, w in choices)
    acc, parts = 0.0, []
    for value, weight in choices[:-1]:
        acc += weight / total
        parts.append(f"WHEN {u} < {acc:.6f} THEN '{value}'")
    return f"(CASE {' '.join(parts)} ELSE '{choices[-1][0]}' END)"


def chunk_sql(lo: int, hi: int, seed: int, on: dt.date, start: dt.date, mix: dict, dq: dict) -> str:
    on_d, start_d = day_number(on), day_number(start)
    span = max(1, on_d - start_d)
    total = sum(mix.values())
    acc, prof_parts = 0.0, []
    names = list(mix)
    for name in names[:-1]:
        acc += mix[name] / total
        prof_parts.append(f"WHEN pu < {acc:.6f} THEN '{name}'")
    profile = f"(CASE {' '.join(prof_parts)} ELSE '{names[-1]}' END)"

    def u(salt: int, k: str = "0") -> str:
        return f"((hash({seed}, t, {k}, {salt}) % 1000000007) / 1000000007.0)"

    def i(salt: int, a, b, k: str = "0") -> str:
        return f"(CAST(floor({u(salt, k)} * (({b}) - ({a}) + 1)) AS BIGINT) + ({a}))"

    schengen_nat = ["USA", "GBR", "JPN", "AUS", "KOR"]
    schengen_dest = [("FRA", "CDG"), ("DEU", "FRA"), ("ITA", "FCO"), ("ESP", "MAD"), ("NLD", "AMS")]
    vn_posts = [("CXR", 60), ("SGN", 15), ("HAN", 10), ("PQC", 10), ("DAD", 5)]
    kz_posts = [("NQZ", 60), ("ALA", 40)]
    run_posts = [("MOC_BAI", 50), ("LAO_BAO", 20), ("SGN", 30)]
    sch_i = i(20, 0, len(schengen_dest) - 1)
    dq_total = 0.0
    dq_parts = []
    for kind, p in dq.items():
        dq_total += p
        dq_parts.append(f"WHEN {u(99)} < {dq_total:.6f} THEN '{kind}'")
    dq_kind = f"(CASE WHEN profile = 'edge' THEN 'none' {' '.join(dq_parts)} ELSE 'none' END)"

    return f"""
WITH trav0 AS (SELECT range AS t FROM range({lo}, {hi})),
trav AS (
  SELECT t, {profile} AS profile FROM (SELECT t, {u(1)} AS pu FROM trav0)
),
norm AS (
  SELECT t, profile,
    CASE profile WHEN 'tourist' THEN {i(4, 1, 3)} WHEN 'business' THEN {i(4, 2, 10)}
      WHEN 'border_run' THEN {i(4, 3, 7)} WHEN 'r3_overstay' THEN {i(4, 1, 2)}
      WHEN 'r4_overstay' THEN {i(4, 4, 6)} ELSE {i(4, 1, 4)} END AS n_trips,
    {start_d} + {i(5, 0, span)} AS base,
    CASE WHEN profile IN ('business', 'r4_overstay') THEN 'VNM'
         WHEN profile = 'schengen' THEN ['{"','".join(schengen_nat)}'][{i(21, 1, len(schengen_nat))}]
         ELSE 'KAZ' END AS nationality,
    CASE WHEN profile IN ('business', 'r4_overstay') THEN 'KAZ'
         WHEN profile = 'schengen' THEN ['{"','".join(d for d, _ in schengen_dest)}'][{sch_i} + 1]
         ELSE 'VNM' END AS destination,
    CASE WHEN profile = 'schengen' THEN ['{"','".join(p for _, p in schengen_dest)}'][{sch_i} + 1] END AS sch_post,
    CASE WHEN profile = 'schengen' THEN 'schengen' ELSE 'vn-kz' END AS regime
  FROM trav WHERE profile <> 'edge'
),
norm_trips AS (
  SELECT *, unnest(range(n_trips)) AS k FROM norm
),
norm_trips2 AS (
  SELECT t, profile, k, regime, nationality, destination,
    CASE profile
      WHEN 'tourist' THEN (CASE WHEN {u(6, 'k')} < 0.5 THEN 6 ELSE 13 END) + {i(7, -1, 1, 'k')}
      WHEN 'business' THEN {i(6, 0, 19, 'k')}
      WHEN 'border_run' THEN {i(6, 24, 29, 'k')}
      WHEN 'r3_overstay' THEN CASE WHEN k = 0 THEN {i(6, 30, 44, 'k')} ELSE {i(6, 6, 13, 'k')} END
      WHEN 'r4_overstay' THEN {i(6, 20, 29, 'k')}
      ELSE CASE WHEN {u(7, 'k')} < 0.1 THEN {i(6, 60, 120, 'k')} ELSE {i(6, 1, 29, 'k')} END
    END AS dur,
    CASE profile
      WHEN 'tourist' THEN {i(8, 20, 200, 'k')}
      WHEN 'business' THEN {i(8, 5, 60, 'k')}
      WHEN 'border_run' THEN CASE WHEN {u(9, 'k')} < 0.8 THEN 0 ELSE {i(8, 1, 5, 'k')} END
      WHEN 'r3_overstay' THEN {i(8, 30, 150, 'k')}
      WHEN 'r4_overstay' THEN {i(8, 1, 8, 'k')}
      ELSE {i(8, 10, 150, 'k')}
    END AS gap,
    base,
    CASE profile
      WHEN 'tourist' THEN {_pick(u(10, 'k'), vn_posts)}
      WHEN 'r3_overstay' THEN {_pick(u(10, 'k'), vn_posts)}
      WHEN 'border_run' THEN {_pick(u(10, 'k'), run_posts)}
      WHEN 'schengen' THEN sch_post
      ELSE {_pick(u(10, 'k'), kz_posts)} END AS entry_post,
    CASE WHEN {u(11, 'k')} < 0.85 OR profile IN ('border_run', 'schengen') THEN NULL
      WHEN destination = 'VNM' THEN {_pick(u(12, 'k'), vn_posts)}
      ELSE {_pick(u(12, 'k'), kz_posts)} END AS other_exit_post
  FROM norm_trips
),
trips AS (
  SELECT t, profile, k, regime, nationality, destination, entry_post,
    coalesce(other_exit_post, entry_post) AS exit_post,
    base + coalesce(sum(dur + gap) OVER (PARTITION BY t ORDER BY k
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS entry_day,
    dur
  FROM norm_trips2
),
all_trips AS (
  SELECT t, profile, k, regime, nationality, destination, entry_post, exit_post,
         entry_day, entry_day + dur AS exit_day
  FROM trips
  UNION ALL
  SELECT v.t, 'edge', e.k, e.regime, e.nationality, e.destination, e.post, e.post,
         {on_d} + e.entry_off, {on_d} + e.exit_off
  FROM (SELECT t, t % (SELECT count(DISTINCT scenario) FROM vf_gen_edge) AS scenario
        FROM trav WHERE profile = 'edge') v
  JOIN vf_gen_edge e ON e.scenario = v.scenario
),
kept AS (  -- the log ends on the reference date: later trips are not there yet
  SELECT t, profile, k, regime, nationality, destination, entry_post, exit_post, entry_day,
         CASE WHEN exit_day <= {on_d} THEN exit_day END AS exit_day
  FROM all_trips WHERE entry_day <= {on_d}
),
events AS (
  SELECT t, profile, regime, nationality, destination, 2 * k AS idx, 'entry' AS direction,
         entry_post AS border_post, entry_day AS day FROM kept
  UNION ALL
  SELECT t, profile, regime, nationality, destination, 2 * k + 1, 'exit', exit_post, exit_day
  FROM kept WHERE exit_day IS NOT NULL
),
per_trav AS (
  SELECT t, count(*) AS n_ev, count(*) FILTER (WHERE direction = 'entry') AS n_entries,
         count(*) FILTER (WHERE direction = 'exit') AS n_closed, min(profile) AS profile
  FROM events GROUP BY t
),
dq AS (
  SELECT t, n_ev, n_entries, n_closed, kind,
    CASE kind WHEN 'duplicate' THEN {i(13, 0, 'n_ev - 1')}
              WHEN 'missing_entry' THEN 2 * {i(13, 0, 'n_closed - 1')}
              WHEN 'missing_exit' THEN 2 * {i(13, 0, 'n_entries - 2')} + 1
              WHEN 'swap' THEN {i(13, 0, 'n_ev - 2')} END AS j
  FROM (
    SELECT *, CASE WHEN k0 = 'duplicate' AND n_ev >= 1 THEN k0
                   WHEN k0 = 'missing_entry' AND n_closed >= 1 THEN k0
                   WHEN k0 = 'missing_exit' AND n_entries >= 2 THEN k0
                   WHEN k0 = 'swap' AND n_ev >= 2 THEN k0
                   ELSE 'none' END AS kind
    FROM (SELECT *, {dq_kind} AS k0 FROM per_trav)
  )
),
timed AS (
  -- times order the crossings of one day: 06:xx, 09:xx, 12:xx... in the order they happened
  SELECT e.*, row_number() OVER (PARTITION BY e.t, e.day ORDER BY e.idx) - 1 AS day_rank,
         d.kind, d.j
  FROM events e JOIN dq d ON d.t = e.t
),
final AS (
  SELECT t, profile, regime, nationality, destination, direction, border_post, day, day_rank, kind,
    CASE WHEN kind = 'swap' AND idx = j THEN j + 1 WHEN kind = 'swap' AND idx = j + 1 THEN j
         ELSE idx END AS id_idx, idx
  FROM timed
  WHERE NOT (kind IN ('missing_entry', 'missing_exit') AND idx = j)
  UNION ALL
  SELECT t, profile, regime, nationality, destination, direction, border_post, day, day_rank, kind,
         99, idx
  FROM timed WHERE kind = 'duplicate' AND idx = j
)
SELECT t * 100 + id_idx AS event_id, t AS traveller_id, nationality, destination, border_post,
  direction, CAST(DATE '1970-01-01' + CAST(day AS INTEGER) AS DATE) AS local_date,
  printf('%02d:%02d', 6 + 3 * day_rank, CAST(floor(((hash({seed}, t, idx, 14) % 1000003) / 1000003.0) * 60) AS INTEGER))
    AS local_time,
  regime, profile, kind AS injected
FROM final
"""


def generate(out_dir: str | Path, rows: int, *, seed: int = 42, on: dt.date = DEFAULT_ON,
             start: dt.date = DEFAULT_START, chunk_rows: int = 2_000_000, mix: dict | None = None,
             dq: dict | None = None, progress=None, memory_limit: str = "2GB", threads: int | None = None,
             keep_truth: bool = False) -> GenerateResult:
    """Write about `rows` crossing events (whole travellers, so a little more) under out_dir.

    keep_truth adds the columns `profile` and `injected` (what the generator did to each
    traveller), for tests; the events of a real log do not carry them.
    """
    import duckdb

    mix = dict(mix or DEFAULT_MIX)
    dq = dict(DEFAULT_DQ if dq is None else dq)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("CREATE TABLE vf_gen_edge (scenario BIGINT, name VARCHAR, k BIGINT, regime VARCHAR, "
                "nationality VARCHAR, destination VARCHAR, post VARCHAR, entry_off BIGINT, exit_off BIGINT)")
    con.executemany("INSERT INTO vf_gen_edge VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _edge_rows(on))

    task = progress.add_task("generating crossings", total=rows) if progress is not None else None
    written, traveller_lo, files = 0, 0, 0
    per_traveller = 6.0  # first guess of events per traveller, refined after each chunk
    profiles: dict[str, int] = {}
    injected: dict[str, int] = {}
    columns = ("event_id, traveller_id, nationality, destination, border_post, direction, "
               "local_date, local_time, regime")
    if keep_truth:
        columns += ", profile, injected"
    while written < rows:
        want = min(chunk_rows, rows - written)
        n_trav = max(1, int(want / per_traveller) + 1)
        hi = traveller_lo + n_trav
        con.execute(f"CREATE OR REPLACE TEMP TABLE vf_chunk AS "
                    f"{chunk_sql(traveller_lo, hi, seed, on, start, mix, dq)}")
        n = con.execute("SELECT count(*) FROM vf_chunk").fetchone()[0]
        path = (out / f"part-{files:05d}.parquet").as_posix()
        # Recorded order: rows are written in event_id order, so injected swaps are out of order.
        con.execute(f"COPY (SELECT {columns} FROM vf_chunk ORDER BY event_id) TO '{path}' "
                    f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 250000)")
        for prof, count in con.execute(
                "SELECT profile, count(DISTINCT traveller_id) FROM vf_chunk GROUP BY profile").fetchall():
            profiles[prof] = profiles.get(prof, 0) + count
        for kind, count in con.execute(
                "SELECT injected, count(DISTINCT traveller_id) FROM vf_chunk "
                "WHERE injected <> 'none' GROUP BY injected").fetchall():
            injected[kind] = injected.get(kind, 0) + count
        written += n
        files += 1
        per_traveller = max(1.0, n / n_trav)
        traveller_lo = hi
        if task is not None:
            progress.update(task, completed=min(written, rows))
    con.close()
    result = GenerateResult(out, written, traveller_lo, files, profiles, injected, seed, on)
    manifest = {
        "seed": seed, "on": on.isoformat(), "start": start.isoformat(), "rows": written,
        "travellers": traveller_lo, "files": files, "profiles": profiles, "injected": injected,
        "mix": mix, "dq_rates": dq, "edge_scenarios": [s[0] for s in EDGE_SCENARIOS],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return result
