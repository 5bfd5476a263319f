"""RULES.md as one relational pipeline, written once and run by DuckDB or Spark SQL.

Days are integers (days since 1970-01-01) inside the pipeline, so that day arithmetic is the
same in both dialects; date conversion, month formatting, string codes and packed neighbours
differ (`Dialect`).

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

Runs are never built as rows: every stay carries its run's A and cum. With p = presence up to
the stay's last day (a running sum over the stays, counting a day shared with the previous stay
once), a = last_day - p is the absence before the stay's run (constant within a run, growing
from run to run) and max(p) over a run's stays is its cum; so the window above runs over stays.

How the work is laid out (what made it fast; issue 5's benchmark):

* One sort of the events (vf_seq0): pairing, the data-quality flags, whether a stay starts on
  the previous stay's last day, all from the neighbours in one window pass; rows with a problem
  ride along in partitions of their own. Duplicates are not removed before it: a copy sits in
  the same (day, time) block as its crossing, so the pass marks the few travellers who may have
  one (vf_suspects) and only those are paired again without their copies (vf_seq1).
* Then two windows over the stays: the running sum p, and R4. (Running the R4 window only for
  the travellers who could break it was tried: the split costs about what it saves.)
* DuckDB carries strings as codes of one ENUM made from the input (Dialect.enc: order, min()
  and equality unchanged) and fetches a neighbour's day, time and direction as one packed value
  (Dialect.pack); Spark runs the same SQL with plain strings and structs.
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
    #: DuckDB: the ENUM type that stands for the input's strings inside the pipeline (None:
    #: strings stay strings, as on Spark). See `dictionary_sql`.
    enum: str | None = None

    def d2i(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"CAST(({expr}) - DATE '1970-01-01' AS INTEGER)"
        return f"CAST(datediff({expr}, DATE'1970-01-01') AS INT)"

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

    def month_start(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"date_trunc('month', {expr})"
        return f"trunc({expr}, 'MM')"

    def enc(self, expr: str) -> str:
        """A string as the pipeline carries it: a 1-2 byte code in DuckDB's ENUM, whose order
        is the strings' order, so sorting, min() and equality are unchanged."""
        return f"CAST({expr} AS {self.enum})" if self.enum else expr

    def dec(self, expr: str) -> str:
        return f"CAST({expr} AS VARCHAR)" if self.enum else expr

    # A row's day, time and direction packed into one value, so that a window function
    # fetches a neighbour's three at once: DuckDB one non-negative BIGINT (the day offset by
    # 2^29, every DuckDB date fits; the time's code + 1, below 2^31; a direction bit), Spark a
    # struct.
    def pack(self, day: str, time: str, is_entry: str) -> str:
        if self.enum:
            return (f"(((CAST({day} AS BIGINT) + 536870912) * 2147483648"
                    f" + coalesce(enum_code({time}) + 1, 0)) * 2 + CAST({is_entry} AS INTEGER))")
        return f"named_struct('d', {day}, 't', {time}, 'e', {is_entry})"

    def packed_entry(self, x: str) -> str:
        return f"(({x} & 1) = 1)" if self.enum else f"{x}.e"

    def packed_day(self, x: str) -> str:
        return f"CAST(({x} >> 32) - 536870912 AS INTEGER)" if self.enum else f"{x}.d"

    def same_block(self, x: str, y: str) -> str:
        """Same day and same time (both missing counts as the same)."""
        if self.enum:
            return f"(({x} >> 1) = ({y} >> 1))"
        return f"({x}.d = {y}.d AND ({x}.t = {y}.t OR ({x}.t IS NULL AND {y}.t IS NULL)))"

    def with_enum(self, enum: str) -> "Dialect":
        return Dialect(self.name, enum)


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")

#: Strings the SQL compares with or produces, besides those read (they must all be codes).
LITERALS = ("entry", "exit", "invalid_event", "unknown_regime", "after_reference_date", "duplicate", "invalid_basis")

#: Bases of stay as the pipeline carries them (docs/basis.md): a small integer per entry.
BASIS_CODES = {"visa_free": 0, "visa": 1, "residence_permit": 2, "long_stay_visa": 3}
VISA_KIND_CODES = {"short_stay": 0, "e_visa": 1, "transit": 2, "on_arrival": 3, "other": 4}
#: The columns of an entry's basis, from vf_ev on (codes and day numbers).
BASIS_CARRIED = ("bcode", "vfrom", "vuntil", "maxent", "vdur", "vkind")


def _codes(expr: str, codes: dict[str, int], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN '{name}' THEN {code}" for name, code in codes.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def _names(expr: str, codes: dict[str, int]) -> str:
    whens = " ".join(f"WHEN {code} THEN '{name}'" for name, code in codes.items())
    return f"CASE {expr} {whens} END"


def dictionary_sql() -> str:
    """Every string the pipeline encodes, once and in order (DuckDB: CREATE TYPE ... AS ENUM).
    Reading the input's string columns costs little next to carrying them through the sorts."""
    cols = ["nationality", "destination", "border_post", "lower(direction)", "local_time", "regime"]
    parts = [f"SELECT {c} AS s FROM vf_raw" for c in cols]
    parts += ["SELECT regime FROM vf_rules", "SELECT territory FROM vf_territory",
              "SELECT regime FROM vf_territory", "SELECT nationality FROM vf_coverage",
              "SELECT destination FROM vf_coverage", "SELECT regime FROM vf_coverage",
              "SELECT regime FROM vf_in_force"]
    parts += [f"SELECT '{v}'" for v in LITERALS]
    return f"SELECT s FROM ({' UNION '.join(parts)}) u WHERE s IS NOT NULL ORDER BY s"


@dataclass(frozen=True)
class Step:
    name: str
    sql: str
    materialize: bool = False  # big intermediate results are stored once, not recomputed
    #: DuckDB: tables no step needs once this one is stored (dropped, to give the memory back)
    release: tuple[str, ...] = ()


def steps(d: Dialect, t: RegimeTables, bases: bool = False) -> list[Step]:
    """The pipeline's steps. `bases`: the input has a `basis` column (docs/basis.md): each entry
    carries its basis, and R3, R4 and the current stay follow it (_basis_steps); without it the
    steps are the visa-free ones, unchanged."""
    on = t.on_day
    e = d.enc
    out: list[Step] = []
    # The basis of an entry rides along with it, from vf_ev to the stays (empty without bases).
    carried = "".join(f", {c}" for c in BASIS_CARRIED) if bases else ""
    carried_e = "".join(f", e.{c}" for c in BASIS_CARRIED) if bases else ""
    basis_ev = ""
    invalid_basis = ""
    if bases:
        kinds = ", ".join(f"'{k}'" for k in VISA_KIND_CODES)
        basis_ev = f""",
       {_codes('lower(e.basis)', BASIS_CODES, '0')} AS bcode, {d.d2i('e.valid_from')} AS vfrom,
       {d.d2i('e.valid_until')} AS vuntil, {_codes('lower(e.visa_entries)', {'single': 1, 'double': 2})} AS maxent,
       CAST(e.visa_duration_days AS INT) AS vdur, {_codes("lower(coalesce(e.visa_kind, 'short_stay'))", VISA_KIND_CODES)} AS vkind"""
        # An entry whose basis cannot be read is reported with its reason, never guessed at.
        invalid_basis = f"""
         WHEN lower(e.direction) = 'entry' AND (
           (e.basis IS NOT NULL AND lower(e.basis) NOT IN ('visa_free', 'visa', 'residence_permit', 'long_stay_visa'))
           OR (lower(e.basis) = 'visa' AND (e.valid_from IS NULL OR e.valid_until IS NULL OR e.valid_until < e.valid_from
               OR (e.visa_entries IS NOT NULL AND lower(e.visa_entries) NOT IN ('single', 'double', 'multiple'))
               OR (e.visa_duration_days IS NOT NULL AND NOT (e.visa_duration_days BETWEEN 1 AND 100000))
               OR (e.visa_kind IS NOT NULL AND lower(e.visa_kind) NOT IN ({kinds}))))
           OR (lower(e.basis) = 'residence_permit' AND e.valid_until IS NULL)) THEN 'invalid_basis'"""

    # Every event is classified once; rows with a problem are kept for the data-quality output.
    out.append(Step("vf_events", f"""
SELECT e.event_id, e.traveller_id, e.nationality, e.destination, e.border_post,
       lower(e.direction) AS direction, e.local_time, e.regime,
       {d.d2i('e.local_date')} AS day,
       coalesce(t.territory, e.destination) AS territory, r.regime_code, t.territory_code,
       CASE
         WHEN e.traveller_id IS NULL OR e.local_date IS NULL OR e.direction IS NULL
              OR lower(e.direction) NOT IN ('entry', 'exit') THEN 'invalid_event'
         WHEN r.regime IS NULL THEN 'unknown_regime'{invalid_basis}
         -- the engine refuses crossings after the reference date; they wait for a later run
         WHEN {d.d2i('e.local_date')} > {on} THEN 'after_reference_date'
       END AS problem0{basis_ev}
FROM vf_raw e
LEFT JOIN (SELECT regime, {e('regime')} AS regime_code FROM vf_rules) r ON r.regime = e.regime
LEFT JOIN (SELECT regime, destination, territory, {e('territory')} AS territory_code FROM vf_territory) t
  ON t.regime = e.regime AND t.destination = e.destination
"""))

    # From here on the strings are codes (Dialect.enc), encoded once per row only where the
    # small tables do not already give the code; the direction is also a boolean.
    out.append(Step("vf_ev", f"""
SELECT e.event_id, e.traveller_id, {e('e.nationality')} AS nationality,
  {e('e.destination')} AS destination, {e('e.border_post')} AS border_post,
  CASE WHEN e.problem0 IS NOT NULL THEN {e('e.direction')}
       WHEN e.direction = 'entry' THEN {e("'entry'")} ELSE {e("'exit'")} END AS direction,
  e.direction = 'entry' AS is_entry, {e('e.local_time')} AS local_time,
  coalesce(e.regime_code, {e('e.regime')}) AS regime,
  coalesce(e.territory_code, {e('e.territory')}) AS territory, e.day,
  CASE WHEN e.problem0 IS NOT NULL THEN {e('e.problem0')} END AS problem{carried_e}
FROM vf_events e
"""))

    def pairing(source: str) -> str:
        """The one sort of the events: chronological order per traveller (recording order
        breaks ties within a day when the time is missing); pairing looks only at the
        neighbours in that order. Rows with a problem sort into partitions of their own, so
        that the data-quality output needs no second reading of the input. Kept: every entry
        (a stay, or an entry without exit), every row to report, no closing exit (its columns
        are on its entry's row)."""
        w = f"PARTITION BY {KEY}, problem IS NULL ORDER BY day, local_time NULLS FIRST, event_id"
        return f"""
SELECT regime, traveller_id, territory, event_id, nationality, destination, border_post,
  direction, day, local_time, problem, seq{carried},
  CASE WHEN is_stay AND NOT next_entry THEN next_event_id END AS exit_event_id,
  CASE WHEN is_stay AND NOT next_entry THEN next_post END AS exit_post,
  CASE WHEN is_stay AND NOT next_entry THEN next_day END AS exit_day,
  CASE WHEN is_stay THEN CASE WHEN NOT next_entry THEN next_day ELSE {on} END END AS last_day,
  is_stay,
  CASE WHEN problem IS NULL AND is_entry AND next_entry THEN 'entry_without_exit'
       WHEN problem IS NULL AND NOT is_entry AND coalesce(NOT prev_entry, true)
       THEN 'exit_without_entry' END AS unpaired,
  problem IS NULL AND max_id > event_id AS out_of_order,
  -- whether this stay starts on the previous stay's last day (RULES.md §2: that day counts
  -- once), known here when the previous stay ends on the row before; else NULL, and vf_fix
  -- looks that stay up
  CASE WHEN prev_entry IS NULL THEN 0
       WHEN NOT prev_entry AND prev2_entry THEN CASE WHEN prev_day = day THEN 1 ELSE 0 END
  END AS shares_near,
  suspect
FROM (
  SELECT *, problem IS NULL AND is_entry AND coalesce(NOT next_entry, true) AS is_stay,
    -- a copy of a crossing is in the same (day, time) block as the crossing, in the same
    -- direction: a traveller without such a row has no copies (see vf_suspects)
    problem IS NULL AND coalesce({d.same_block('nb_prev', 'here')} AND (prev_entry = is_entry
                                                                   OR {d.same_block('nb_prev2', 'here')}), false)
      AS suspect
  FROM (
    -- the neighbours' direction, day and time, each packed into one value (Dialect.pack)
    SELECT *,
      {d.packed_entry('nb_prev')} AS prev_entry, {d.packed_entry('nb_prev2')} AS prev2_entry,
      {d.packed_day('nb_prev')} AS prev_day,
      {d.packed_entry('nb_next')} AS next_entry, {d.packed_day('nb_next')} AS next_day
    FROM (
      SELECT *,
        row_number() OVER w AS seq,
        lag(here) OVER w AS nb_prev,
        lag(here, 2) OVER w AS nb_prev2,
        lead(here) OVER w AS nb_next,
        lead(event_id) OVER w AS next_event_id,
        lead(border_post) OVER w AS next_post,
        -- the highest event_id so far: above this row's, it was recorded after a later crossing
        max(event_id) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS max_id
      FROM (SELECT *, {d.pack('day', 'local_time', 'is_entry')} AS here FROM {source}) e
      WINDOW w AS ({w})
    ) w
  ) w
) s
WHERE is_entry OR prev_entry IS NULL OR NOT prev_entry OR problem IS NOT NULL OR max_id > event_id
   OR suspect"""

    out.append(Step("vf_seq0", pairing("vf_ev"), materialize=True))

    # The same crossing recorded twice (same traveller, direction, day and time) counts once;
    # the first recorded copy (lowest event_id) is kept. Copies are rare: the travellers who
    # may have one (vf_seq0.suspect) are paired again, without their copies.
    same_key = "u.regime = {s}.regime AND u.traveller_id = {s}.traveller_id AND u.territory = {s}.territory"
    out.append(Step("vf_suspects", f"""
SELECT DISTINCT {KEY} FROM vf_seq0 WHERE suspect
""", materialize=True))
    out.append(Step("vf_suspect_events", f"""
SELECT e.* FROM vf_ev e
WHERE e.traveller_id IN (SELECT traveller_id FROM vf_suspects)
  AND EXISTS (SELECT 1 FROM vf_suspects u WHERE {same_key.format(s='e')})
""", materialize=True))
    # Issue 10, item 8: a duplicate is a repeat of the same direction, day and time with
    # nothing between it and its copy in recording order; an exit, an entry and an exit on one
    # day (a border run) are three crossings, not a copy.
    out.append(Step("vf_dedup", f"""
SELECT e.event_id, e.traveller_id, e.nationality, e.destination, e.border_post, e.direction,
  e.is_entry, e.local_time, e.regime, e.territory, e.day,
  CASE WHEN e.problem IS NULL AND e.prev_is_entry = e.is_entry AND e.prev_day = e.day
        AND (e.prev_time = e.local_time OR (e.prev_time IS NULL AND e.local_time IS NULL))
       THEN {e("'duplicate'")} ELSE e.problem END AS problem{carried_e}
FROM (
  SELECT v.*,
    lag(v.is_entry) OVER w AS prev_is_entry, lag(v.day) OVER w AS prev_day, lag(v.local_time) OVER w AS prev_time
  FROM vf_suspect_events v
  WINDOW w AS (PARTITION BY {KEY}, problem IS NULL ORDER BY day, local_time NULLS FIRST, event_id)
) e
"""))
    out.append(Step("vf_seq1", pairing("vf_dedup"), materialize=True))
    out.append(Step("vf_seq", f"""
SELECT * FROM vf_seq0 s WHERE NOT EXISTS (SELECT 1 FROM vf_suspects u WHERE {same_key.format(s='s')})
UNION ALL
SELECT * FROM vf_seq1
"""))

    # The previous stay's last day, for the rare stays after an unpaired crossing.
    out.append(Step("vf_fix", f"""
SELECT * FROM (
  SELECT regime, traveller_id, territory, seq, shares_near,
    lag(last_day) OVER (PARTITION BY {KEY} ORDER BY seq) AS prev_last
  FROM vf_seq s
  WHERE is_stay AND EXISTS (
    SELECT 1 FROM vf_seq u
    WHERE u.regime = s.regime AND u.traveller_id = s.traveller_id AND u.territory = s.territory
      AND u.is_stay AND u.shares_near IS NULL)
) f WHERE shares_near IS NULL
""", materialize=True))

    cols = (f"event_id, traveller_id, {d.dec('nationality')} AS nationality, "
            f"{d.dec('destination')} AS destination, {d.dec('border_post')} AS border_post, "
            f"{d.dec('direction')} AS direction, {d.i2d('day')} AS local_date, "
            f"{d.dec('local_time')} AS local_time, {d.dec('regime')} AS regime")
    out.append(Step("vf_dq", f"""
SELECT {cols}, {d.dec('problem')} AS problem, false AS kept FROM vf_seq WHERE problem IS NOT NULL
UNION ALL
SELECT {cols}, unpaired AS problem, false AS kept FROM vf_seq WHERE unpaired IS NOT NULL
UNION ALL
-- recorded after a crossing that happened later: paired after sorting, reported all the same
SELECT {cols}, 'out_of_order' AS problem, true AS kept FROM vf_seq WHERE out_of_order
""", materialize=True))

    if bases:
        out.extend(_basis_steps(d, t))
        return out

    # Presence per stay: the days it adds (its own, less a day shared with the previous stay),
    # p = presence up to its last day, and a = last_day - p, the days of absence before its run
    # (RULES.md §2 runs: the same for every stay of a run, increasing from run to run).
    w = f"PARTITION BY {KEY} ORDER BY seq"
    stays_p = f"""
SELECT s.*,
  CAST(sum(last_day - entry_day + 1 - shares_day) OVER ({w} ROWS UNBOUNDED PRECEDING) AS INT) AS p
FROM (
  SELECT s.regime, s.traveller_id, s.territory, s.nationality, s.destination, s.seq,
    s.event_id AS entry_event_id, s.exit_event_id, s.border_post AS entry_post, s.exit_post,
    s.day AS entry_day, s.exit_day, s.last_day,
    coalesce(s.shares_near, CASE WHEN s.day = f.prev_last THEN 1 ELSE 0 END) AS shares_day
  FROM vf_seq s
  LEFT JOIN vf_fix f ON f.regime = s.regime AND f.traveller_id = s.traveller_id
                    AND f.territory = s.territory AND f.seq = s.seq
  WHERE s.is_stay
) s"""

    # R4: one branch of SQL per distinct W - M (_window_branches).
    branches = _window_branches(t, e, "x.period_year_max, x.period_unsupported")

    # Per stay: R4 breaks from the run's first breach day on (a suffix of the run, hence of the
    # stay); R3 breaks from day per_stay_max + 1 of the stay. On a tie the engine reports R4.
    # A fixed period of a calendar year (engine/periods.py; issue 9) is a window function
    # partitioned by traveller and year: each stay is cut at 31 December into the days it adds
    # to each year it touches (a day shared with the previous stay belongs to that one), a
    # running sum over a year's pieces finds the year's (M + 1)-th day of presence, and every
    # day of presence from it to 31 December is in breach (the engine's days in breach, day for
    # day). Those days need not run to a stay's end, so a stay's overstay is R3/R4's suffix plus
    # the period's days before it. A period from the first entry is a chain (each period starts
    # after the previous one ends): not computed here, its stays are `unsupported_rule_kind`.
    # Stored once (vf_stays3b, vf_pseg): the period's steps read them several times, and Spark
    # would otherwise plan the stays' windows once per reading.
    years = "y.jan1 <= {last} AND y.dec31 >= {first}"
    out.append(Step("vf_stays3b", f"""
WITH stays_p AS ({stays_p})
SELECT *, least(r4_first, r3_first) AS fv34
FROM (
  SELECT *,
    CASE WHEN breach_day <= last_day THEN greatest(entry_day, breach_day) END AS r4_first,
    CASE WHEN last_day > entry_day + per_stay_last_offset
         THEN entry_day + per_stay_last_offset + 1 END AS r3_first
  FROM ({" UNION ALL ".join(branches)}) b
) s
""", materialize=True, release=("vf_seq0", "vf_seq1", "vf_suspect_events", "vf_fix")))
    out.append(Step("vf_pseg", f"""
SELECT b.regime, b.traveller_id, b.territory, b.seq, y.jan1, b.period_year_max,
  greatest(b.entry_day + b.shares_day, y.jan1) AS sf, least(b.last_day, y.dec31) AS sl
FROM vf_stays3b b JOIN vf_years y ON {years.format(last='b.last_day', first='b.entry_day + b.shares_day')}
WHERE b.period_year_max IS NOT NULL
""", materialize=True))
    out.append(Step("vf_stays3", f"""
WITH b AS (SELECT * FROM vf_stays3b), pseg AS (SELECT * FROM vf_pseg),
pyear AS (
  SELECT regime, traveller_id, territory, jan1,
    min(CASE WHEN cum > period_year_max AND cum - (sl - sf + 1) <= period_year_max
             THEN sf + period_year_max - (cum - (sl - sf + 1)) END) AS first_breach
  FROM (
    SELECT *, sum(sl - sf + 1) OVER (PARTITION BY regime, traveller_id, territory, jan1 ORDER BY seq
                                     ROWS UNBOUNDED PRECEDING) AS cum
    FROM pseg
  ) c
  GROUP BY regime, traveller_id, territory, jan1
),
pstay AS (
  SELECT b.regime, b.traveller_id, b.territory, b.seq,
    min(greatest(p.first_breach, b.entry_day)) AS p_first,
    sum(greatest(0, least(b.last_day, y.dec31, coalesce(b.fv34 - 1, b.last_day))
                    - greatest(p.first_breach, b.entry_day) + 1)) AS p_before
  FROM b JOIN vf_years y ON {years.format(last='b.last_day', first='b.entry_day')}
  JOIN pyear p ON p.regime = b.regime AND p.traveller_id = b.traveller_id AND p.territory = b.territory
              AND p.jan1 = y.jan1 AND p.first_breach IS NOT NULL  -- greatest() skips a NULL
              AND greatest(p.first_breach, b.entry_day) <= least(b.last_day, y.dec31)
  WHERE b.period_year_max IS NOT NULL
  GROUP BY b.regime, b.traveller_id, b.territory, b.seq
),
popen AS (
  -- the open stay: the year's days before its entry leave it period_year_max less those
  SELECT regime, traveller_id, territory, seq,
    CASE WHEN pb <= dec31 THEN pb ELSE dec31 + 1 + period_year_max END AS period_breach
  FROM (
    SELECT b.regime, b.traveller_id, b.territory, b.seq, y.dec31, b.period_year_max,
      b.entry_day + greatest(0, b.period_year_max
        - coalesce(sum(greatest(0, least(g.sl, b.entry_day - 1) - g.sf + 1)), 0)) AS pb
    FROM b JOIN vf_years y ON {years.format(last='b.entry_day', first='b.entry_day')}
    LEFT JOIN pseg g ON g.regime = b.regime AND g.traveller_id = b.traveller_id AND g.territory = b.territory
                    AND g.jan1 = y.jan1
    WHERE b.exit_day IS NULL AND b.period_year_max IS NOT NULL
    GROUP BY b.regime, b.traveller_id, b.territory, b.seq, y.dec31, b.period_year_max, b.entry_day
  ) o
)
SELECT regime, traveller_id, territory, nationality, destination, entry_post, exit_post,
  entry_event_id, exit_event_id, entry_day, exit_day, last_day, p, shares_day, window_days, fv,
  fv = r4_first AS window_rule,  -- violation_rule: window_limit, else per_stay_limit, else period_limit
  fv IS NOT NULL AND coalesce(fv <> r4_first, true) AND coalesce(fv <> r3_first, true) AS period_rule,
  unsupported,
  CASE WHEN unsupported THEN NULL WHEN fv IS NULL THEN 0
       ELSE coalesce(last_day - fv34 + 1, 0) + coalesce(p_before, 0) END AS overstay_days,
  -- a day of breach shared with the previous stay (exit and re-entry) counts once per traveller
  CASE WHEN shares_day = 1 AND fv = entry_day THEN 1 ELSE 0 END AS shared_breach,
  CASE WHEN exit_day IS NULL THEN breach_day END AS open_breach,
  open_period_breach
FROM (
  SELECT b.*, CASE WHEN b.period_unsupported = 1 THEN NULL ELSE least(b.fv34, ps.p_first) END AS fv,
    ps.p_before, po.period_breach AS open_period_breach, b.period_unsupported = 1 AS unsupported
  FROM b
  LEFT JOIN pstay ps ON ps.regime = b.regime AND ps.traveller_id = b.traveller_id AND ps.territory = b.territory
                    AND ps.seq = b.seq
  LEFT JOIN popen po ON po.regime = b.regime AND po.traveller_id = b.traveller_id AND po.territory = b.territory
                    AND po.seq = b.seq
) s
""", materialize=True, release=("vf_stays3b", "vf_pseg")))

    # Per traveller, in one aggregate; the open stay (at most one: the last crossing) gets its
    # true latest exit, as engine.judge_entry decides it (no passport here).
    trav0 = f"""
SELECT {KEY}, min(nationality) AS nationality, count(*) AS stays,
  max(p) AS presence_days,
  -- R4 on the reference date: days of presence in [on - W + 1, on], each stay's own days
  -- (NULL for a regime without a window: greatest() would skip the NULL bound and count all)
  CASE WHEN max(window_days) IS NOT NULL THEN
    sum(greatest(0, least(last_day, {on}) - greatest(entry_day + shares_day, {on} - window_days + 1) + 1))
  END AS days_used,
  sum(overstay_days) - sum(shared_breach) AS overstay_days,
  sum(CASE WHEN fv IS NOT NULL THEN 1 ELSE 0 END) AS stays_with_violation,
  min(fv) AS first_violation_day,
  max(CASE WHEN exit_day IS NULL THEN entry_day END) AS open_entry,
  max(CASE WHEN exit_day IS NULL THEN nationality END) AS open_nationality,
  max(CASE WHEN exit_day IS NULL THEN destination END) AS open_destination,
  max(open_breach) AS open_breach,
  max(open_period_breach) AS open_period_breach,
  max(CASE WHEN unsupported THEN 1 ELSE 0 END) AS unsupported
FROM vf_stays3 GROUP BY {KEY}
"""
    out.append(Step("vf_travellers", f"""
SELECT {d.dec('regime')} AS regime, traveller_id, {d.dec('territory')} AS territory,
  {d.dec('nationality')} AS nationality, CAST(stays AS BIGINT) AS stays,
  CAST(presence_days AS BIGINT) AS presence_days, CAST(days_used AS BIGINT) AS days_used,
  CAST(CASE WHEN days_used IS NOT NULL THEN greatest(0, window_max_days - days_used) END AS BIGINT) AS days_remaining,
  CAST(overstay_days AS BIGINT) AS overstay_days,
  CAST(CASE WHEN unsupported = 0 THEN stays_with_violation END AS BIGINT) AS stays_with_violation,
  {d.i2d('first_violation_day')} AS first_violation,
  open_entry IS NOT NULL AS in_country,
  {d.i2d('open_entry')} AS current_entry,
  CAST(CASE WHEN open_entry IS NOT NULL THEN {on} - open_entry + day_offset END AS BIGINT) AS current_day,
  {d.i2d('latest')} AS latest_exit,
  -- ties go to the rule the engine lists first: the window, the per-stay limit, the period
  CASE WHEN open_entry IS NOT NULL AND unsupported = 1 THEN 'unsupported_rule_kind'
       WHEN latest IS NULL THEN NULL
       WHEN window_cap IS NOT NULL AND window_cap = latest THEN 'window_limit'
       WHEN stay_cap IS NOT NULL AND stay_cap = latest THEN 'per_stay_limit'
       ELSE 'period_limit' END AS limited_by,
  (open_entry IS NOT NULL AND unsupported = 0 AND (latest IS NULL OR latest < {on})) AS past_permitted_end
FROM (
  SELECT *, CASE WHEN open_entry IS NULL OR blocked = 1 OR unsupported = 1 THEN NULL
                 ELSE least(window_cap, stay_cap, period_cap) END AS latest
  FROM (
    SELECT t.*, x.window_max_days, x.day_offset,
      CASE WHEN c.regime IS NULL OR f.regime IS NULL OR t.open_breach <= t.open_entry
                OR t.open_period_breach <= t.open_entry THEN 1 ELSE 0 END
        AS blocked,
      t.open_breach - 1 AS window_cap,
      t.open_period_breach - 1 AS period_cap,
      t.open_entry + x.per_stay_last_offset AS stay_cap
    FROM ({trav0}) t
    JOIN vf_rules x ON {e('x.regime')} = t.regime
    LEFT JOIN vf_coverage c ON {e('c.regime')} = t.regime AND {e('c.nationality')} = t.open_nationality
                           AND {e('c.destination')} = t.open_destination
    LEFT JOIN vf_in_force f ON {e('f.regime')} = t.regime AND t.open_entry >= f.since
                           AND (f.until IS NULL OR t.open_entry <= f.until)
  ) o
) o
""", materialize=True))

    out.append(Step("vf_stays", f"""
SELECT {d.dec('regime')} AS regime, traveller_id, {d.dec('territory')} AS territory,
  {d.dec('nationality')} AS nationality, {d.dec('destination')} AS destination,
  {d.dec('entry_post')} AS entry_post, {d.dec('exit_post')} AS exit_post,
  {d.i2d('entry_day')} AS entry, {d.i2d('exit_day')} AS exit, {d.i2d('last_day')} AS last_day,
  CAST(last_day - entry_day + 1 AS BIGINT) AS days,
  {d.i2d('fv')} AS first_violation,
  CASE WHEN unsupported THEN 'unsupported_rule_kind' WHEN fv IS NULL THEN NULL WHEN window_rule THEN 'window_limit'
       WHEN period_rule THEN 'period_limit' ELSE 'per_stay_limit' END AS violation_rule,
  CAST(overstay_days AS BIGINT) AS overstay_days,
  entry_event_id, exit_event_id
FROM vf_stays3
"""))



    # The four summaries in one pass over the stays (decoded once they are small). Tried: four
    # separate aggregates (slower at 100M: each reads and hashes the stays again).
    out.append(Step("vf_summary", f"""
SELECT CASE WHEN grouping(nationality) = 0 THEN 'nationality' WHEN grouping(destination) = 0
            THEN 'destination' WHEN grouping(entry_post) = 0 THEN 'entry_post' ELSE 'month' END AS kind,
  coalesce(nationality, destination, entry_post) AS dim, month_start, regime,
  count(*) AS stays,
  count(DISTINCT traveller_id) AS travellers,
  CAST(sum(CASE WHEN exit_day IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open_stays,
  CAST(sum(CASE WHEN fv IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS stays_with_violation,
  CAST(sum(CASE WHEN fv IS NOT NULL AND NOT coalesce(window_rule, false) AND NOT period_rule THEN 1 ELSE 0 END)
    AS BIGINT) AS per_stay_limit,
  CAST(sum(CASE WHEN window_rule THEN 1 ELSE 0 END) AS BIGINT) AS window_limit,
  CAST(sum(CASE WHEN period_rule AND NOT coalesce(window_rule, false) THEN 1 ELSE 0 END) AS BIGINT) AS period_limit,
  CAST(sum(CASE WHEN unsupported THEN 1 ELSE 0 END) AS BIGINT) AS unsupported_rule_kind,
  CAST(sum(overstay_days) AS BIGINT) AS overstay_days
FROM (SELECT *, {d.month_start(d.i2d('entry_day'))} AS month_start FROM vf_stays3) s
GROUP BY GROUPING SETS ((nationality, regime), (destination, regime), (entry_post, regime),
                        (month_start, regime))
""", materialize=True))
    return out


def _window_branches(t, e, extra: str = "", counted: str | None = None) -> list[str]:
    """R4 per stay, see the module docstring: over stays rather than runs (a stay carries its
    run's a, and the last stay of a run its cum), max(p) over the stays with a <= a_r - (W - M).
    The frame's offset W - M is a literal in SQL, so there is one branch per distinct value (one
    for the built-in regimes). A regime without a window (per-stay limit only) has no gap: like
    M >= W, never a breach. `counted`: the column telling the stays the window counts (bases,
    issue 13): the window runs over those only, and only they can be in breach of it."""
    gaps = sorted({r.window_gap for r in t.rules}, key=lambda g: (g is None, g or 0))
    branches = []
    for gap in gaps:
        regimes = ", ".join(e(f"'{r.regime}'") for r in t.rules if r.window_gap == gap)
        if gap is not None and gap > 0:
            partition = "s.regime, s.traveller_id, s.territory" + (f", {counted}" if counted else "")
            prev = (f"max(s.p) OVER (PARTITION BY {partition} "
                    f"ORDER BY s.last_day - s.p RANGE BETWEEN UNBOUNDED PRECEDING AND {gap} PRECEDING)")
            breach = f"s.last_day - s.p + 1 + x.window_max_days + coalesce({prev}, 0)"
            if counted:
                breach = f"CASE WHEN {counted} = 1 THEN {breach} END"
        else:  # M >= W: no window can hold more than M days, R4 cannot be broken
            breach = "CAST(NULL AS INT)"
        where = f"WHERE s.regime IN ({regimes})" if len(gaps) > 1 else ""
        branches.append(f"""
SELECT s.*, {breach} AS breach_day, x.window_days, x.per_stay_last_offset, x.day_offset{', ' + extra if extra else ''}
FROM stays_p s JOIN vf_rules x ON {e('x.regime')} = s.regime
{where}""")
    return branches


def _basis_steps(d: Dialect, t: RegimeTables) -> list[Step]:
    """vf_stays3 .. vf_summary when entries carry a basis (docs/basis.md), as the engine judges
    them (engine/check.py: _assess_history, _assess_bases, _judge_on_basis):

    * the window counts the days of stays whose basis the regime counts (counted_bases: `cnt`),
      so presence p, the day shared with the previous *counted* stay and the runs of R4 are
      taken over those stays only (the R4 window is partitioned by cnt);
    * R4 breaks only on days of stays the window limits (window_bases: `lim`), R3 only on
      visa-free stays;
    * a visa stay breaks its visa on every day when it is an entry beyond the visa's entries
      (the visa's stays numbered in date order: visa_n), else before valid_from, after
      valid_until, and past its duration within its validity; a permit stay after valid_until;
    * a stay's days in breach are the union of those ranges, and a day shared by an exit and a
      re-entry that both break counts once for the traveller (shared_breach).
    """
    on = t.on_day
    e = d.enc
    out: list[Step] = []
    w = f"PARTITION BY {KEY} ORDER BY seq"
    stays_p = f"""
SELECT s.*,
  CAST(sum(CASE WHEN cnt = 1 THEN last_day - entry_day + 1 - shares_day ELSE 0 END)
       OVER ({w} ROWS UNBOUNDED PRECEDING) AS INT) AS p
FROM (
  SELECT s.*,
    CASE WHEN cnt = 1 AND entry_day = lag(last_day) OVER (PARTITION BY {KEY}, cnt ORDER BY seq)
         THEN 1 ELSE 0 END AS shares_day,
    row_number() OVER (PARTITION BY {KEY}, bcode, vfrom, vuntil, maxent, vdur, vkind ORDER BY seq) AS visa_n
  FROM (
    SELECT s.regime, s.traveller_id, s.territory, s.nationality, s.destination, s.seq,
      s.event_id AS entry_event_id, s.exit_event_id, s.border_post AS entry_post, s.exit_post,
      s.day AS entry_day, s.exit_day, s.last_day, s.bcode, s.vfrom, s.vuntil, s.maxent, s.vdur, s.vkind,
      CASE s.bcode WHEN 0 THEN 1 WHEN 1 THEN x.counts_visa WHEN 2 THEN x.counts_permit ELSE x.counts_long END AS cnt,
      CASE s.bcode WHEN 0 THEN 1 WHEN 1 THEN x.limits_visa ELSE 0 END AS lim
    FROM vf_seq s JOIN vf_rules x ON {e('x.regime')} = s.regime
    WHERE s.is_stay
  ) s
) s"""
    branches = _window_branches(t, e, counted="s.cnt")

    def kept(expr: str) -> str:  # days of a range [a, b] before the window's suffix (cut)
        return f"coalesce(greatest(0, least({expr}_b, cut) - {expr}_a + 1), 0)"

    out.append(Step("vf_stays3", f"""
WITH stays_p AS ({stays_p})
SELECT regime, traveller_id, territory, nationality, destination, entry_post, exit_post,
  entry_event_id, exit_event_id, entry_day, exit_day, last_day, p, shares_day, window_days, fv, seq,
  bcode, vfrom, vuntil, maxent, vdur, vkind, visa_n, cnt, lim, day_offset, per_stay_last_offset,
  vcode, vcode = 'window_limit' AS window_rule, overstay_days,
  CASE WHEN fv = entry_day AND entry_day = max(CASE WHEN on_last THEN last_day END)
         OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 1 ELSE 0 END AS shared_breach,
  CASE WHEN exit_day IS NULL THEN breach_day END AS open_breach
FROM (
  SELECT *,
    CASE WHEN fv IS NULL THEN NULL WHEN fv = r4_first THEN 'window_limit' WHEN fv = r3_first THEN 'per_stay_limit'
         WHEN ent_bad THEN 'visa_entries' WHEN fv = dur_a THEN 'visa_duration'
         WHEN fv = vb_a OR fv = va_a THEN 'visa_validity' ELSE 'permit_validity' END AS vcode,
    CASE WHEN fv IS NULL THEN 0
         WHEN bcode = 1 AND NOT ent_bad THEN
           (CASE WHEN r4_first IS NULL THEN 0 ELSE last_day - r4_first + 1 END) + {kept('vb')} + {kept('dur')} + {kept('va')}
         ELSE last_day - fv + 1 END AS overstay_days,
    fv IS NOT NULL AND (bcode IN (0, 2) OR ent_bad OR r4_first IS NOT NULL OR va_a IS NOT NULL
                        OR (dur_a IS NOT NULL AND dur_b = last_day) OR (vb_a IS NOT NULL AND vb_b = last_day)) AS on_last
  FROM (
    SELECT *, least(r4_first, r3_first, CASE WHEN ent_bad THEN entry_day END, vb_a, dur_a, va_a, pa) AS fv,
      coalesce(r4_first, last_day + 1) - 1 AS cut
    FROM (
      SELECT *,
        CASE WHEN bcode = 1 AND NOT ent_bad AND entry_day < vfrom THEN entry_day END AS vb_a,
        least(last_day, vfrom - 1) AS vb_b,
        CASE WHEN bcode = 1 AND NOT ent_bad AND last_day > vuntil THEN greatest(entry_day, vuntil + 1) END AS va_a,
        last_day AS va_b,
        CASE WHEN bcode = 1 AND NOT ent_bad AND vdur IS NOT NULL
                  AND greatest(entry_day + vdur - day_offset + 1, vfrom) <= least(last_day, vuntil)
             THEN greatest(entry_day + vdur - day_offset + 1, vfrom) END AS dur_a,
        least(last_day, vuntil) AS dur_b,
        CASE WHEN bcode = 2 AND last_day > vuntil THEN greatest(entry_day, vuntil + 1) END AS pa
      FROM (
        SELECT *,
          CASE WHEN lim = 1 AND breach_day <= last_day THEN greatest(entry_day, breach_day) END AS r4_first,
          CASE WHEN bcode = 0 AND last_day > entry_day + per_stay_last_offset
               THEN entry_day + per_stay_last_offset + 1 END AS r3_first,
          coalesce(bcode = 1 AND maxent IS NOT NULL AND visa_n > maxent, false) AS ent_bad
        FROM ({" UNION ALL ".join(branches)}) b
      ) s
    ) s
  ) s
) s
""", materialize=True, release=("vf_seq0", "vf_seq1", "vf_suspect_events", "vf_fix")))

    def open_(expr: str, name: str) -> str:
        return f"max(CASE WHEN exit_day IS NULL THEN {expr} END) AS {name}"

    trav0 = f"""
SELECT {KEY}, min(nationality) AS nationality, count(*) AS stays,
  max(p) AS presence_days,
  -- R4 on the reference date: the counted stays' own days in [on - W + 1, on]
  CASE WHEN max(window_days) IS NOT NULL THEN
    sum(CASE WHEN cnt = 1 THEN
      greatest(0, least(last_day, {on}) - greatest(entry_day + shares_day, {on} - window_days + 1) + 1) ELSE 0 END)
  END AS days_used,
  sum(overstay_days) - sum(shared_breach) AS overstay_days,
  sum(CASE WHEN fv IS NOT NULL THEN 1 ELSE 0 END) AS stays_with_violation,
  min(fv) AS first_violation_day,
  {open_('entry_day', 'open_entry')}, {open_('nationality', 'open_nationality')},
  {open_('destination', 'open_destination')}, max(open_breach) AS open_breach,
  {open_('bcode', 'open_bcode')}, {open_('vfrom', 'open_vfrom')}, {open_('vuntil', 'open_vuntil')},
  {open_('maxent', 'open_maxent')}, {open_('vdur', 'open_vdur')}, {open_('visa_n', 'open_visa_n')},
  {open_('lim', 'open_lim')}
FROM vf_stays3 GROUP BY {KEY}
"""
    # The open stay's true latest exit by its basis (engine.judge_entry / _judge_on_basis).
    out.append(Step("vf_travellers", f"""
SELECT {d.dec('regime')} AS regime, traveller_id, {d.dec('territory')} AS territory,
  {d.dec('nationality')} AS nationality, CAST(stays AS BIGINT) AS stays,
  CAST(presence_days AS BIGINT) AS presence_days, CAST(days_used AS BIGINT) AS days_used,
  CAST(CASE WHEN days_used IS NOT NULL THEN greatest(0, window_max_days - days_used) END AS BIGINT) AS days_remaining,
  CAST(CASE WHEN NOT unsupported THEN overstay_days END AS BIGINT) AS overstay_days,
  CAST(CASE WHEN NOT unsupported THEN stays_with_violation END AS BIGINT) AS stays_with_violation,
  CASE WHEN NOT unsupported THEN {d.i2d('first_violation_day')} END AS first_violation,
  open_entry IS NOT NULL AS in_country,
  {d.i2d('open_entry')} AS current_entry,
  CAST(CASE WHEN open_entry IS NOT NULL THEN {on} - open_entry + day_offset END AS BIGINT) AS current_day,
  CASE WHEN NOT unsupported THEN {d.i2d('latest')} END AS latest_exit,
  CASE WHEN open_entry IS NOT NULL AND unsupported THEN 'unsupported_rule_kind'
       WHEN latest IS NULL THEN NULL WHEN window_cap = latest THEN 'window_limit'
       WHEN stay_cap = latest THEN 'per_stay_limit' WHEN open_bcode = 1 AND until_cap = latest THEN 'visa_validity'
       WHEN open_bcode = 1 THEN 'visa_duration' ELSE 'permit_validity' END AS limited_by,
  (open_entry IS NOT NULL AND open_bcode <> 3 AND NOT unsupported AND (latest IS NULL OR latest < {on}))
    AS past_permitted_end,
  {_names('open_bcode', BASIS_CODES)} AS current_basis
FROM (
  SELECT *, CASE WHEN open_entry IS NULL OR blocked THEN NULL
                 ELSE least(window_cap, stay_cap, until_cap, duration_cap) END AS latest
  FROM (
    SELECT t.*, x.window_max_days, x.day_offset,
      (x.period_year_max IS NOT NULL OR x.period_unsupported = 1) AS unsupported,
      coalesce(CASE t.open_bcode
        WHEN 0 THEN c.regime IS NULL OR f.regime IS NULL OR t.open_breach <= t.open_entry
        WHEN 1 THEN (t.open_maxent IS NOT NULL AND t.open_visa_n > t.open_maxent) OR t.open_entry < t.open_vfrom
                    OR t.open_entry > t.open_vuntil OR (t.open_lim = 1 AND t.open_breach <= t.open_entry)
        WHEN 2 THEN t.open_entry > t.open_vuntil
        ELSE false END, false) AS blocked,
      CASE WHEN t.open_lim = 1 THEN t.open_breach - 1 END AS window_cap,
      CASE WHEN t.open_bcode = 0 THEN t.open_entry + x.per_stay_last_offset END AS stay_cap,
      CASE WHEN t.open_bcode IN (1, 2) THEN t.open_vuntil END AS until_cap,
      CASE WHEN t.open_bcode = 1 THEN t.open_entry + t.open_vdur - x.day_offset END AS duration_cap
    FROM ({trav0}) t
    JOIN vf_rules x ON {e('x.regime')} = t.regime
    LEFT JOIN vf_coverage c ON {e('c.regime')} = t.regime AND {e('c.nationality')} = t.open_nationality
                           AND {e('c.destination')} = t.open_destination
    LEFT JOIN vf_in_force f ON {e('f.regime')} = t.regime AND t.open_entry >= f.since
                           AND (f.until IS NULL OR t.open_entry <= f.until)
  ) o
) o
""", materialize=True))

    entries_name = "CASE maxent WHEN 1 THEN 'single' WHEN 2 THEN 'double' ELSE 'multiple' END"
    # A fixed period (issue 9) is not computed on this path yet: its stays and travellers are
    # unsupported_rule_kind, explicitly and counted, as the first-entry period's elsewhere.
    with_period = (f"SELECT s.*, (x.period_year_max IS NOT NULL OR x.period_unsupported = 1) AS unsupported "
                   f"FROM vf_stays3 s JOIN vf_rules x ON {e('x.regime')} = s.regime")
    out.append(Step("vf_stays", f"""
SELECT {d.dec('regime')} AS regime, traveller_id, {d.dec('territory')} AS territory,
  {d.dec('nationality')} AS nationality, {d.dec('destination')} AS destination,
  {d.dec('entry_post')} AS entry_post, {d.dec('exit_post')} AS exit_post,
  {d.i2d('entry_day')} AS entry, {d.i2d('exit_day')} AS exit, {d.i2d('last_day')} AS last_day,
  CAST(last_day - entry_day + 1 AS BIGINT) AS days,
  CASE WHEN NOT unsupported THEN {d.i2d('fv')} END AS first_violation,
  CASE WHEN unsupported THEN 'unsupported_rule_kind' ELSE vcode END AS violation_rule,
  CAST(CASE WHEN NOT unsupported THEN overstay_days END AS BIGINT) AS overstay_days,
  entry_event_id, exit_event_id,
  {_names('bcode', BASIS_CODES)} AS basis,
  CASE WHEN bcode = 1 THEN {d.i2d('vfrom')} END AS valid_from,
  CASE WHEN bcode IN (1, 2) THEN {d.i2d('vuntil')} END AS valid_until,
  CASE WHEN bcode = 1 THEN {entries_name} END AS visa_entries,
  CASE WHEN bcode = 1 THEN CAST(vdur AS BIGINT) END AS visa_duration_days,
  CASE WHEN bcode = 1 THEN {_names('vkind', VISA_KIND_CODES)} END AS visa_kind
FROM ({with_period}) s
"""))

    out.append(Step("vf_summary", f"""
SELECT CASE WHEN grouping(nationality) = 0 THEN 'nationality' WHEN grouping(destination) = 0
            THEN 'destination' WHEN grouping(entry_post) = 0 THEN 'entry_post' ELSE 'month' END AS kind,
  coalesce(nationality, destination, entry_post) AS dim, month_start, regime,
  count(*) AS stays,
  count(DISTINCT traveller_id) AS travellers,
  CAST(sum(CASE WHEN exit_day IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open_stays,
  CAST(sum(CASE WHEN fv IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS stays_with_violation,
  CAST(sum(CASE WHEN vcode = 'per_stay_limit' THEN 1 ELSE 0 END) AS BIGINT) AS per_stay_limit,
  CAST(sum(CASE WHEN vcode = 'window_limit' THEN 1 ELSE 0 END) AS BIGINT) AS window_limit,
  -- a fixed period (issue 9) is not computed on this path yet (docs/batch.md)
  CAST(0 AS BIGINT) AS period_limit,
  CAST(sum(CASE WHEN unsupported THEN 1 ELSE 0 END) AS BIGINT) AS unsupported_rule_kind,
  CAST(sum(CASE WHEN NOT unsupported THEN overstay_days END) AS BIGINT) AS overstay_days
FROM (SELECT *, {d.month_start(d.i2d('entry_day'))} AS month_start FROM ({with_period}) p) s
GROUP BY GROUPING SETS ((nationality, regime), (destination, regime), (entry_post, regime),
                        (month_start, regime))
""", materialize=True))
    return out


def summary_sql(d: Dialect, dimension: str, name: str) -> str:
    """One summary table of the stays by a dimension (nationality, destination, post, month)."""
    value = d.month("month_start") if dimension == "month" else d.dec("dim")
    return f"""
SELECT {value} AS {name}, {d.dec('regime')} AS regime, stays, travellers, open_stays,
  stays_with_violation, per_stay_limit, window_limit, period_limit, unsupported_rule_kind, overstay_days
FROM vf_summary
WHERE kind = '{dimension}'
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
  s.stays_period_limit, s.stays_unsupported_rule_kind, t.in_country, t.past_permitted_end
FROM (SELECT count(*) AS events_read FROM vf_raw) r
CROSS JOIN (
  SELECT coalesce(sum(CASE WHEN exit IS NOT NULL THEN 1 ELSE 0 END), 0) AS closed_stays,
         coalesce(sum(CASE WHEN exit IS NULL THEN 1 ELSE 0 END), 0) AS open_stays,
         coalesce(sum(CASE WHEN violation_rule = 'per_stay_limit' THEN 1 ELSE 0 END), 0) AS stays_per_stay_limit,
         coalesce(sum(CASE WHEN violation_rule = 'window_limit' THEN 1 ELSE 0 END), 0) AS stays_window_limit,
         coalesce(sum(CASE WHEN violation_rule = 'period_limit' THEN 1 ELSE 0 END), 0) AS stays_period_limit,
         coalesce(sum(CASE WHEN violation_rule = 'unsupported_rule_kind' THEN 1 ELSE 0 END), 0)
           AS stays_unsupported_rule_kind
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
