"""RULES.md as one relational pipeline, written once and run by DuckDB or Spark SQL.

Days are integers (days since 1970-01-01) inside the pipeline, so that day arithmetic is the
same in both dialects; only date conversion and month formatting differ (`Dialect`).

How R4 becomes a window function (the heart of it, without a loop over days or travellers):

* Presence is cut into *runs*: maximal blocks of consecutive days of presence (stays that touch
  or share a day merge; a day shared by an exit and a re-entry is counted once, RULES.md §2).
* For a run r starting on day s, let B be the days of presence before s and A = s - 1 - B the
  days of *absence* before s (from the epoch). A day d in the run breaks R4 when
  P(d) - P(d - W) > M (W = window days, M = window max days, P = presence up to a day).
  Rewritten with the absences up to x = d - W this is: absences(x) >= A_r + 1 + M - W.
* Absences grow only in gaps between runs, so the first such x lies in the gap after the last
  earlier run q whose own A_q <= A_r - (W - M); there, x = A_r + 1 + M - W + cumP_q, with
  cumP_q the presence up to the end of q. Because A and cumP both increase from run to run,
  "the last such q" is `max(cumP) OVER (ORDER BY A RANGE BETWEEN UNBOUNDED PRECEDING AND
  (W - M) PRECEDING)`: one window function per traveller, exact to the day.
* So the first day of the run in breach of R4 is d* = A_r + 1 + M + cumP_q (when the run lasts
  that long), or the run's first day if d* falls before it. Within a run the days in breach
  are a suffix (the engine proves the same monotonicity), so d* is all we need.

The true latest exit of an open stay (engine.judge_entry) is the same d* for its run extended
past the reference date: the last permitted day is d* - 1, capped by R3.
"""

from __future__ import annotations

from dataclasses import dataclass

from .params import RegimeTables

KEY = "regime, traveller_id, territory"
PROBLEMS_DROPPED = (
    "invalid_event", "unknown_regime", "after_reference_date", "duplicate",
    "entry_without_exit", "exit_without_entry",
)


@dataclass(frozen=True)
class Dialect:
    name: str

    def d2i(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"CAST(({expr}) - DATE '1970-01-01' AS BIGINT)"
        return f"CAST(datediff({expr}, DATE'1970-01-01') AS BIGINT)"

    def i2d(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"(DATE '1970-01-01' + CAST({expr} AS INTEGER))"
        return f"date_add(DATE'1970-01-01', CAST({expr} AS INT))"

    def hash(self, exprs: str) -> str:
        return f"hash({exprs})" if self.name == "duckdb" else f"xxhash64({exprs})"

    def month(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"strftime({expr}, '%Y-%m')"
        return f"date_format({expr}, 'yyyy-MM')"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")


@dataclass(frozen=True)
class Step:
    name: str
    sql: str
    materialize: bool = False  # big intermediate results are stored once, not recomputed


def steps(d: Dialect, t: RegimeTables) -> list[Step]:
    on = t.on_day
    out: list[Step] = []

    # Every event is classified once; rows with a problem are kept for the data-quality output.
    out.append(Step("vf_events", f"""
SELECT e.event_id, e.traveller_id, e.nationality, e.destination, e.border_post,
       lower(e.direction) AS direction, e.local_date, e.local_time, e.regime,
       {d.d2i('e.local_date')} AS day,
       coalesce(t.territory, e.destination) AS territory,
       CASE
         WHEN e.traveller_id IS NULL OR e.local_date IS NULL OR e.direction IS NULL
              OR lower(e.direction) NOT IN ('entry', 'exit') THEN 'invalid_event'
         WHEN r.regime IS NULL THEN 'unknown_regime'
         -- the engine refuses crossings after the reference date; they wait for a later run
         WHEN {d.d2i('e.local_date')} > {on} THEN 'after_reference_date'
       END AS problem0
FROM vf_raw e
LEFT JOIN vf_rules r ON r.regime = e.regime
LEFT JOIN vf_territory t ON t.regime = e.regime AND t.destination = e.destination
"""))

    # The same crossing recorded twice (same traveller, direction, day and time) counts once;
    # the first recorded copy (lowest event_id) is kept. Copies are rare, so they are found by
    # a cheap aggregate over a hash of the crossing, then confirmed on the real columns.
    out.append(Step("vf_dupkeys", f"""
SELECT {KEY}, direction, day, local_time, min(event_id) AS keep_id
FROM vf_events
WHERE problem0 IS NULL AND {d.hash(KEY + ', direction, day, local_time')} IN (
  SELECT h FROM (
    SELECT {d.hash(KEY + ', direction, day, local_time')} AS h, count(*) AS n
    FROM vf_events WHERE problem0 IS NULL GROUP BY 1
  ) c WHERE n > 1)
GROUP BY {KEY}, direction, day, local_time
HAVING count(*) > 1
""", materialize=True))

    out.append(Step("vf_dedup", f"""
SELECT e.*,
  CASE WHEN e.problem0 IS NULL AND k.keep_id IS NOT NULL AND e.event_id <> k.keep_id
       THEN 'duplicate' ELSE e.problem0 END AS problem
FROM vf_events e
LEFT JOIN vf_dupkeys k
  ON k.regime = e.regime AND k.traveller_id = e.traveller_id AND k.territory = e.territory
 AND k.direction = e.direction AND k.day = e.day
 AND (k.local_time = e.local_time OR (k.local_time IS NULL AND e.local_time IS NULL))
"""))

    # Chronological order per traveller (recording order breaks ties within a day when the
    # time is missing). Pairing looks only at the neighbours in that order.
    out.append(Step("vf_seq", f"""
SELECT event_id, traveller_id, nationality, destination, border_post, direction, local_date,
       local_time, regime, territory, day,
  row_number() OVER w AS seq,
  lag(direction) OVER w AS prev_dir,
  lead(direction) OVER w AS next_dir,
  lead(day) OVER w AS next_day,
  lead(event_id) OVER w AS next_event_id,
  lead(border_post) OVER w AS next_post,
  max(event_id) OVER (PARTITION BY {KEY} ORDER BY day, local_time NULLS FIRST, event_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_earlier_id
FROM vf_dedup
WHERE problem IS NULL
WINDOW w AS (PARTITION BY {KEY} ORDER BY day, local_time NULLS FIRST, event_id)
""", materialize=True))

    # RULES.md §2: a stay is an entry and the following exit; an entry with nothing after it
    # is an open stay running to the reference date.
    out.append(Step("vf_stays0", f"""
SELECT regime, traveller_id, territory, nationality, destination, seq,
  event_id AS entry_event_id,
  CASE WHEN next_dir = 'exit' THEN next_event_id END AS exit_event_id,
  border_post AS entry_post,
  CASE WHEN next_dir = 'exit' THEN next_post END AS exit_post,
  day AS entry_day,
  CASE WHEN next_dir = 'exit' THEN next_day END AS exit_day,
  CASE WHEN next_dir = 'exit' THEN next_day ELSE {on} END AS last_day
FROM vf_seq
WHERE direction = 'entry' AND (next_dir IS NULL OR next_dir = 'exit')
"""))

    out.append(Step("vf_dq", f"""
SELECT event_id, traveller_id, nationality, destination, border_post, direction, local_date,
       local_time, regime, problem0 AS problem, false AS kept
FROM vf_events WHERE problem0 IS NOT NULL
UNION ALL
-- the copies only: an inner join with the (small) table of duplicated crossings
SELECT e.event_id, e.traveller_id, e.nationality, e.destination, e.border_post, e.direction,
       e.local_date, e.local_time, e.regime, 'duplicate' AS problem, false AS kept
FROM vf_events e
JOIN vf_dupkeys k
  ON k.regime = e.regime AND k.traveller_id = e.traveller_id AND k.territory = e.territory
 AND k.direction = e.direction AND k.day = e.day
 AND (k.local_time = e.local_time OR (k.local_time IS NULL AND e.local_time IS NULL))
WHERE e.problem0 IS NULL AND e.event_id <> k.keep_id
UNION ALL
SELECT event_id, traveller_id, nationality, destination, border_post, direction, local_date,
       local_time, regime, 'entry_without_exit' AS problem, false AS kept
FROM vf_seq WHERE direction = 'entry' AND next_dir = 'entry'
UNION ALL
SELECT event_id, traveller_id, nationality, destination, border_post, direction, local_date,
       local_time, regime, 'exit_without_entry' AS problem, false AS kept
FROM vf_seq WHERE direction = 'exit' AND (prev_dir IS NULL OR prev_dir = 'exit')
UNION ALL
-- recorded after a crossing that happened later: paired after sorting, reported all the same
SELECT event_id, traveller_id, nationality, destination, border_post, direction, local_date,
       local_time, regime, 'out_of_order' AS problem, true AS kept
FROM vf_seq WHERE max_earlier_id > event_id
""", materialize=True))

    # Runs of presence: a stay opens a new run unless it starts on or the day after the
    # previous stay's last day (RULES.md §2: the shared day of an exit and re-entry is one day).
    out.append(Step("vf_stays1", f"""
SELECT *, sum(new_run) OVER (PARTITION BY {KEY} ORDER BY seq ROWS UNBOUNDED PRECEDING) AS run_id
FROM (
  SELECT *,
    CASE WHEN entry_day <= lag(last_day) OVER (PARTITION BY {KEY} ORDER BY seq) + 1
         THEN 0 ELSE 1 END AS new_run,
    CASE WHEN entry_day = lag(last_day) OVER (PARTITION BY {KEY} ORDER BY seq)
         THEN 1 ELSE 0 END AS shares_day
  FROM vf_stays0
) s
""", materialize=True))

    out.append(Step("vf_runs0", f"""
SELECT {KEY}, run_id, min(entry_day) AS s, max(last_day) AS e
FROM vf_stays1 GROUP BY {KEY}, run_id
"""))

    out.append(Step("vf_runs1", f"""
SELECT *, s - 1 - b AS a, b + e - s + 1 AS cum
FROM (
  SELECT *, coalesce(sum(e - s + 1) OVER (PARTITION BY {KEY} ORDER BY run_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS b
  FROM vf_runs0
) r
"""))

    # R4, see the module docstring: the window frame's offset is the regime's W - M, a literal
    # in SQL, so there is one branch per distinct value (one for the built-in regimes).
    branches = []
    gaps = sorted({r.window_gap for r in t.rules})
    for gap in gaps:
        regimes = ", ".join(f"'{r.regime}'" for r in t.rules if r.window_gap == gap)
        if gap > 0:
            prev = (f"max(r.cum) OVER (PARTITION BY r.regime, r.traveller_id, r.territory ORDER BY r.a "
                    f"RANGE BETWEEN UNBOUNDED PRECEDING AND {gap} PRECEDING)")
            breach = f"r.a + 1 + x.window_max_days + coalesce({prev}, 0)"
        else:  # M >= W: no window can hold more than M days, R4 cannot be broken
            breach = "CAST(NULL AS BIGINT)"
        branches.append(f"""
SELECT r.regime, r.traveller_id, r.territory, r.run_id, r.s, r.e, r.cum,
       {breach} AS breach_day, x.window_days
FROM vf_runs1 r JOIN vf_rules x ON x.regime = r.regime
WHERE r.regime IN ({regimes})""")
    out.append(Step("vf_runs", "\nUNION ALL\n".join(branches) if branches else
                    "SELECT * FROM vf_runs1 WHERE 1 = 0", materialize=True))

    # Per stay: R4 breaks from the run's first breach day on (a suffix of the run, hence of the
    # stay); R3 breaks from day per_stay_max + 1 of the stay. On a tie the engine reports R4.
    out.append(Step("vf_stays2", f"""
SELECT s.*, r.breach_day, r.s AS run_start,
  CASE WHEN r.breach_day IS NOT NULL AND greatest(r.s, r.breach_day) <= s.last_day
       THEN greatest(s.entry_day, r.breach_day) END AS r4_first,
  CASE WHEN s.last_day > s.entry_day + x.per_stay_last_offset
       THEN s.entry_day + x.per_stay_last_offset + 1 END AS r3_first,
  x.per_stay_last_offset, x.day_offset
FROM vf_stays1 s
JOIN vf_runs r ON r.regime = s.regime AND r.traveller_id = s.traveller_id
             AND r.territory = s.territory AND r.run_id = s.run_id
JOIN vf_rules x ON x.regime = s.regime
"""))

    out.append(Step("vf_stays3", """
SELECT *,
  CASE WHEN fv IS NULL THEN NULL WHEN fv = r4_first THEN 'window_limit' ELSE 'per_stay_limit' END
    AS violation_rule,
  CASE WHEN fv IS NULL THEN 0 ELSE last_day - fv + 1 END AS overstay_days,
  -- a day of breach shared with the previous stay (exit and re-entry) counts once per traveller
  CASE WHEN shares_day = 1 AND fv = entry_day THEN 1 ELSE 0 END AS shared_breach
FROM (SELECT *, least(r4_first, r3_first) AS fv FROM vf_stays2) s
""", materialize=True))

    # The open stay: its true latest exit, as engine.judge_entry decides it (no passport here).
    out.append(Step("vf_open", f"""
SELECT s.regime, s.traveller_id, s.territory, s.entry_day, s.destination,
  CASE WHEN c.regime IS NULL OR f.regime IS NULL OR s.breach_day <= s.entry_day THEN 1 ELSE 0 END
    AS blocked,
  s.breach_day - 1 AS window_cap,
  s.entry_day + s.per_stay_last_offset AS stay_cap,
  {on} - s.entry_day + s.day_offset AS current_day
FROM vf_stays3 s
LEFT JOIN vf_coverage c ON c.regime = s.regime AND c.nationality = s.nationality
                       AND c.destination = s.destination
LEFT JOIN vf_in_force f ON f.regime = s.regime AND s.entry_day >= f.since
                       AND (f.until IS NULL OR s.entry_day <= f.until)
WHERE s.exit_day IS NULL
"""))

    out.append(Step("vf_open2", """
SELECT *,
  CASE WHEN latest IS NULL THEN NULL
       WHEN window_cap IS NOT NULL AND (stay_cap IS NULL OR window_cap <= stay_cap) THEN 'window_limit'
       ELSE 'per_stay_limit' END AS limited_by
FROM (SELECT *, CASE WHEN blocked = 1 THEN NULL ELSE least(window_cap, stay_cap) END AS latest
      FROM vf_open) o
"""))

    out.append(Step("vf_run_totals", f"""
SELECT {KEY}, sum(e - s + 1) AS presence_days,
  -- R4 on the reference date: days of presence in [on - W + 1, on]
  sum(greatest(0, least(e, {on}) - greatest(s, {on} - window_days + 1) + 1)) AS days_used
FROM vf_runs GROUP BY {KEY}
"""))

    out.append(Step("vf_trav0", f"""
SELECT {KEY}, min(nationality) AS nationality, count(*) AS stays,
  sum(overstay_days) - sum(shared_breach) AS overstay_days,
  sum(CASE WHEN fv IS NOT NULL THEN 1 ELSE 0 END) AS stays_with_violation,
  min(fv) AS first_violation_day
FROM vf_stays3 GROUP BY {KEY}
"""))

    out.append(Step("vf_travellers", f"""
SELECT t.regime, t.traveller_id, t.territory, t.nationality, CAST(t.stays AS BIGINT) AS stays,
  CAST(p.presence_days AS BIGINT) AS presence_days, CAST(p.days_used AS BIGINT) AS days_used,
  CAST(greatest(0, x.window_max_days - p.days_used) AS BIGINT) AS days_remaining,
  CAST(t.overstay_days AS BIGINT) AS overstay_days,
  CAST(t.stays_with_violation AS BIGINT) AS stays_with_violation,
  {d.i2d('t.first_violation_day')} AS first_violation,
  o.entry_day IS NOT NULL AS in_country,
  {d.i2d('o.entry_day')} AS current_entry,
  CAST(o.current_day AS BIGINT) AS current_day,
  {d.i2d('o.latest')} AS latest_exit,
  o.limited_by,
  (o.entry_day IS NOT NULL AND (o.latest IS NULL OR o.latest < {on})) AS past_permitted_end
FROM vf_trav0 t
JOIN vf_run_totals p ON p.regime = t.regime AND p.traveller_id = t.traveller_id AND p.territory = t.territory
JOIN vf_rules x ON x.regime = t.regime
LEFT JOIN vf_open2 o ON o.regime = t.regime AND o.traveller_id = t.traveller_id AND o.territory = t.territory
""", materialize=True))

    out.append(Step("vf_stays", f"""
SELECT regime, traveller_id, territory, nationality, destination, entry_post, exit_post,
  {d.i2d('entry_day')} AS entry, {d.i2d('exit_day')} AS exit, {d.i2d('last_day')} AS last_day,
  CAST(last_day - entry_day + 1 AS BIGINT) AS days,
  {d.i2d('fv')} AS first_violation, violation_rule, CAST(overstay_days AS BIGINT) AS overstay_days,
  entry_event_id, exit_event_id
FROM vf_stays3
"""))
    return out


def summary_sql(d: Dialect, dimension: str, name: str) -> str:
    """One summary table of the stays by a dimension (nationality, destination, post, month)."""
    dim = d.month("entry") if dimension == "month" else dimension
    return f"""
SELECT {dim} AS {name}, regime,
  count(*) AS stays,
  count(DISTINCT traveller_id) AS travellers,
  CAST(sum(CASE WHEN exit IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open_stays,
  CAST(sum(CASE WHEN first_violation IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS stays_with_violation,
  CAST(sum(CASE WHEN violation_rule = 'per_stay_limit' THEN 1 ELSE 0 END) AS BIGINT) AS per_stay_limit,
  CAST(sum(CASE WHEN violation_rule = 'window_limit' THEN 1 ELSE 0 END) AS BIGINT) AS window_limit,
  CAST(sum(overstay_days) AS BIGINT) AS overstay_days
FROM vf_stays
GROUP BY {dim}, regime
ORDER BY 1, 2
"""


SUMMARIES = {
    "summary_nationality": ("nationality", "nationality"),
    "summary_destination": ("destination", "destination"),
    "summary_border_post": ("entry_post", "border_post"),
    "summary_month": ("month", "month"),
}

# One scan per output, not one per figure (each scalar subquery is a job on Spark).
COUNTS_SQL = """
SELECT r.events_read, s.closed_stays, s.open_stays, q.events_dropped, t.travellers,
  t.travellers_overstaying, t.overstay_days, s.stays_per_stay_limit, s.stays_window_limit,
  t.in_country, t.past_permitted_end
FROM (SELECT count(*) AS events_read FROM vf_raw) r
CROSS JOIN (
  SELECT coalesce(sum(CASE WHEN exit IS NOT NULL THEN 1 ELSE 0 END), 0) AS closed_stays,
         coalesce(sum(CASE WHEN exit IS NULL THEN 1 ELSE 0 END), 0) AS open_stays,
         coalesce(sum(CASE WHEN violation_rule = 'per_stay_limit' THEN 1 ELSE 0 END), 0) AS stays_per_stay_limit,
         coalesce(sum(CASE WHEN violation_rule = 'window_limit' THEN 1 ELSE 0 END), 0) AS stays_window_limit
  FROM vf_stays) s
CROSS JOIN (SELECT count(*) AS events_dropped FROM vf_dq WHERE NOT kept) q
CROSS JOIN (
  SELECT count(*) AS travellers,
         coalesce(sum(CASE WHEN overstay_days > 0 THEN 1 ELSE 0 END), 0) AS travellers_overstaying,
         coalesce(sum(overstay_days), 0) AS overstay_days,
         coalesce(sum(CASE WHEN in_country THEN 1 ELSE 0 END), 0) AS in_country,
         coalesce(sum(CASE WHEN past_permitted_end THEN 1 ELSE 0 END), 0) AS past_permitted_end
  FROM vf_travellers) t
"""

DQ_COUNTS_SQL = "SELECT problem, count(*) AS events FROM vf_dq GROUP BY problem ORDER BY problem"
