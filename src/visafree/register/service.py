"""The border register: the desk's entry and exit, stay decisions, links, reads and tokens.

Each operation is one transaction. A desk decision reads the traveller's history and stores
the crossing with its decision while holding that traveller's write lock, so two border posts
recording the same person at once are serialised and each decides on the other's result.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, and_, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError

from visafree.engine import (
    NO_REGIME, applicable, Basis, EntryVerdict, InputError, Passport, Question, Regime, Stay, basis_code, check,
    judge_entry, preference, resolve,
)
from visafree.regimes import builtin_regimes

from . import notes as n_
from . import schema as s
from .config import KeyMaterial
from .countries import country_code
from . import validate as v
from .zones import local_moment, zone_for
from .db import lock_statement, raw_errors, read_transaction, write_transaction
from .timeline import (
    Crossing, RegisterStay, StayChange, basis_columns, fill_permitted_ends, order_key, pair, presence_before,
)

ROLES = ("officer", "auditor", "admin")
# "id_card": a TD1 or TD2 card read at the desk (issue 13); no built-in regime lists it, so the
# engine answers passport_type unless a regime's data accepts ID cards.
PASSPORT_TYPES = ("ordinary", "diplomatic", "service", "official", "id_card")
DEFAULT_FUTURE_TOLERANCE = dt.timedelta(days=1)
_INSERT_CROSSING = s.crossings.insert().returning(s.crossings.c.id)
#: Reason code of a refusal decided by the officer under R6, beside the engine's v1 codes.
OFFICER_REFUSAL = "officer_refusal"
#: What the desk says when no visa-free regime covers the traveller (issue 13): not a refusal.
NO_REGIME_ADVICE = "no visa-free regime known: check a visa or permit"
#: The id of the regime that judges a stay on a visa or a permit of a traveller no visa-free
#: regime covers: RULES.md §2's counting ("all regimes": the entry day is day 1; the window
#: limits visa-free days only) and nothing else; the visa's own limits decide.
BASIS_ONLY = "basis-only"


class RegisterError(ValueError):
    """Refused input or operation; `field` names what was wrong."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Document:
    issuing_state: str
    document_number: str
    nationality: str
    passport_type: str = "ordinary"
    expires: dt.date | None = None

    def __repr__(self) -> str:  # the raw document number must never reach a log
        return f"Document(issuing_state={self.issuing_state!r}, nationality={self.nationality!r}, type={self.passport_type!r}, expires={self.expires})"

    def validated(self) -> "Document":
        for name in ("issuing_state", "nationality", "document_number", "passport_type"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 64 or v.bad_character(value):
                raise RegisterError(f"{name}: must be short plain text", name)
        issuing = country_code(self.issuing_state, "issuing_state")
        nationality = country_code(self.nationality, "nationality")
        number = (self.document_number or "").replace("<", "").strip().upper()
        if not (1 <= len(number) <= 20 and number.isascii() and number.isalnum()):
            raise RegisterError("document_number: must be 1 to 20 letters and digits", "document_number")
        if self.passport_type not in PASSPORT_TYPES:
            raise RegisterError(f"passport_type: {self.passport_type!r} is not one of {', '.join(PASSPORT_TYPES)}", "passport_type")
        return Document(issuing, number, nationality, self.passport_type, self.expires)


@dataclass
class DeskDecision:
    event_id: str
    crossing_id: int
    traveller_key: str
    entry: dt.date
    admitted: bool
    reasons: tuple[str, ...]
    permitted_until: dt.date | None
    limited_by: str | None
    regime: str | None  # None: no regime covers the traveller (outcome no_regime)
    #: The notes under the decision as codes and params (register/notes.py, issue 12); stored
    #: with it, said in a language by texts().
    notes: tuple[dict, ...] = ()
    repeated: bool = False  # the same event id was recorded before; this is that decision
    outcome: str = "admit"  # admit, refuse or no_regime
    basis: str = "visa_free"  # the stay's basis (issue 13): visa_free, visa, residence_permit, long_stay_visa

    def texts(self, lang: str = "en") -> list[str]:
        """The notes in `lang` (regimes and rules named by title outside English)."""
        return n_.texts(lang, self.notes, self.regime)


@dataclass
class ExitRecord:
    event_id: str
    crossing_id: int
    traveller_key: str
    exit: dt.date
    entry: dt.date | None
    permitted_end: dt.date | None
    overstay_days: int
    unpaired: bool
    repeated: bool = False


@dataclass
class TravellerStatus:
    traveller_key: str
    keys: tuple[str, ...]
    on: dt.date
    in_country: bool
    entry: dt.date | None
    permitted_end: dt.date | None
    computed_end: dt.date | None
    changed_by: str | None  # extension / shortening that set the end
    days_past_end: int
    days_used: int | None
    engine_overstay_days: int | None
    unpaired: tuple[str, ...]
    regime: str | None
    engine_note: str | None = None
    basis: str | None = None  # the current stay's basis (issue 13); None when not in the country
    #: engine_note as the engine's error: {"code", "template", "params"}, said in a language by
    #: visafree.i18n's error_message (issue 12); None when the engine judged the history.
    engine_error: dict | None = None


@dataclass
class Overstayer:
    traveller_key: str
    nationality: str
    entry: dt.date
    border_post: str
    permitted_end: dt.date
    days_past_end: int
    basis: str  # desk, engine, extension, shortening
    stay_basis: str = "visa_free"  # the stay's basis (issue 13): a visa holder past the visa's end is listed too


@dataclass
class History:
    traveller_key: str
    keys: tuple[str, ...]
    crossings: list[dict]
    stays: list[dict]
    links: list[dict]
    status: TravellerStatus | None = None


@dataclass
class ReviewItem:
    """A desk decision whose basis changed later, with what the desk said and what the engine
    says on the current history."""

    decision_id: int
    traveller_key: str
    event_id: str
    entry: dt.date
    desk_outcome: str
    desk_end: dt.date | None
    desk_regime: str | None
    now_outcome: str
    now_end: dt.date | None
    now_regime: str | None
    crossings_seen: int
    crossings_now: int
    added: tuple[int, ...]  # crossing ids in the history now that the decision did not see
    removed: tuple[int, ...]  # crossing ids it saw that are no longer in the history (corrected)
    desk_notes: tuple[dict, ...] = ()  # the notes the desk gave, as stored (register/notes.py)

    @property
    def end_changed(self) -> bool:
        return (self.desk_outcome, self.desk_end) != (self.now_outcome, self.now_end)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    role: str
    label: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Register:
    def __init__(
        self, engine: Engine, key: "bytes | KeyMaterial", *, destination: str = "VNM", clock=_now,
        future_tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE,
    ):
        self.engine = engine
        self._key = key if isinstance(key, KeyMaterial) else KeyMaterial(bytes(key))
        self.destination = country_code(destination, "destination")
        self.regimes = builtin_regimes()
        self._regime_list = tuple(self.regimes.values())
        self.clock = clock
        self.future_tolerance = future_tolerance
        # Covers nobody, in force never, every parameter RULES.md §2's default: check() needs a
        # regime to count with, and a stay on a visa of an uncovered traveller has only §2's.
        self._basis_only = Regime(BASIS_ONLY, "RULES.md §2: days of a stay on a visa or a permit", "RULES.md §2",
                                  (), (), {}, {})

    # -- identities -------------------------------------------------------------------------

    def traveller_key(self, issuing_state: str, document_number: str) -> str:
        return self._key.pseudonym(_document_message(issuing_state, document_number).encode())

    def traveller_keys(self, documents: list[str]) -> list[str]:
        """traveller_key of many documents at once (a bulk ingest's), each already in the form
        _document_message gives, as the vectorised checks build it (fastpath.py)."""
        return self._key.pseudonyms([document.encode() for document in documents])

    def key_of(self, document: Document) -> str:
        document = document.validated()
        return self.traveller_key(document.issuing_state, document.document_number)

    def regime_for(self, nationality: str, destination: str, day: dt.date, passport_type: str | None = None) -> Regime | None:
        """The regime to count a crossing under when there is no history to judge (exports):
        the engine's `preference`; None when no regime covers the traveller on that day."""
        return preference(self._regime_list, nationality, destination, day, passport_type)

    def judge(self, nationality: str, destination: str, passport: Passport | None, passport_type: str,
              prior: list[RegisterStay], on: dt.date, basis: Basis | None = None,
              ) -> tuple[Regime | None, EntryVerdict | None]:
        """The engine's resolution (issue 9, RULES.md §4) for an entry on `on` after the stays
        `prior`: every regime in force that covers nationality, destination and passport type is
        judged and the most favourable answers. (None, None): no regime covers the traveller.
        An entry on a visa or a permit (`basis`, issue 13) is judged by it: _judge_on_basis."""
        stays = tuple(Stay(x.first_day, x.last_known_day, x.basis) for x in prior)
        if basis is not None:
            return self._judge_on_basis(nationality, destination, passport_type, stays, on, basis)
        question = Question(None, nationality, destination, on, stays=stays, passport=passport)
        try:
            resolution = resolve(self._regime_list, question, passport_type)
        except InputError:
            resolution = None  # a history check() cannot take; judge_entry reads presence alone
        if resolution is not None:
            if resolution.chosen is None:
                return None, None
            best = resolution.judged[0]
            if best.entry_today is not None:
                return best.regime, best.entry_today
            regime = best.regime
        else:
            candidates = applicable(self._regime_list, nationality, destination, on, passport_type)
            if not candidates:
                return None, None
            regime = candidates[0]
        return regime, judge_entry(regime, nationality, destination, passport, presence_before(prior), on)

    def _judge_on_basis(self, nationality: str, destination: str, passport_type: str, stays: tuple[Stay, ...],
                        on: dt.date, basis: Basis) -> tuple[Regime, EntryVerdict]:
        """The engine's check of the whole history with this stay open from `on` on its basis
        (docs/basis.md): its latest exit is the visa's limits and the window's (where the regime
        limits visas), whichever first; an entry beyond the visa's entries, outside its dates or
        after the permit's end breaks it from its first day, and that is the refusal's reason.
        The regime counts as it would for the traveller's visa-free days (the engine's
        preference); a traveller no regime covers is counted by RULES.md §2 alone (BASIS_ONLY)."""
        regime = preference(self._regime_list, nationality, destination, on, passport_type) \
            or preference(self._regime_list, nationality, destination, on) or self._basis_only
        question = Question(regime, nationality, destination, on, stays=stays + (Stay(on, None, basis),))
        try:
            answer = check(question)
        except InputError as exc:
            raise RegisterError(f"{exc.field or 'basis'}: {exc.message}".replace("stays[", "history["),
                                "basis" if "basis" in (exc.field or "") else "history", exc.code) from None
        current = answer.current_stay
        here = len(stays)
        reasons = tuple(dict.fromkeys(x.code for x in answer.violations if x.stay == here and x.date == on))
        notes = tuple(n for n in answer.explanation
                      if n.code.startswith(("entry_refused", "latest_exit", "stay_on")))
        ok = not reasons
        return regime, EntryVerdict(on, None, ok, reasons, current.latest_exit if ok else None,
                                    current.limited_by if ok else None, notes, basis_code(basis))

    def local_today(self, destination: str | None = None) -> dt.date:
        """Today in the destination's zone (zones.py: every country from the IANA database)."""
        zone = zone_for(destination or self.destination)
        now = self.clock()
        return now.astimezone(zone).date() if zone else now.date()

    def check_not_future(self, day: dt.date, field: str) -> None:
        latest = self.local_today() + self.future_tolerance
        if day > latest:
            raise RegisterError(f"{field}: {day} is in the future (latest accepted {latest})", field, "future_date")

    # -- reading history ---------------------------------------------------------------------

    def _linked_keys(self, conn, key: str | tuple[str, ...]) -> tuple[str, ...]:
        """Every key of the person(s) `key` belongs to (documents linked by officers), sorted.

        Indexed lookups from the key outwards (one query when there is no link), never a read of
        the whole document_links table. Withdrawn links are followed too (a superset), then the
        groups are computed exactly from the rows found."""
        t = s.document_links
        start = (key,) if isinstance(key, str) else tuple(key)
        known, frontier, rows = set(start), set(start), {}
        while frontier:
            found = conn.execute(select(t.c.id, t.c.traveller_key, t.c.linked_key, t.c.corrects, t.c.withdraws).where(
                t.c.traveller_key.in_(sorted(frontier)) | t.c.linked_key.in_(sorted(frontier)))).all()
            frontier = set()
            for row in found:
                rows[row.id] = row
                for k in (row.traveller_key, row.linked_key):
                    if k not in known:
                        known.add(k)
                        frontier.add(k)
        if not rows:
            return tuple(sorted(start))
        groups = _link_groups(list(rows.values()))
        return tuple(sorted({k for one in start for k in groups.get(one, (one,))}))

    def _locked(self, keys: tuple[str, ...], work):
        """Run `work(conn, group)` in one write transaction holding the lock of every document of
        the person(s) `keys` belong to, taken in one go in the global order (issue 10: locking
        the own key first and the group after deadlocked). If a link made the group larger than
        what was locked, the transaction is rolled back and run again with the larger group."""
        lock_set = tuple(sorted(set(keys)))
        for _attempt in range(16):
            try:
                with write_transaction(self.engine, lock_set) as conn:
                    group = self._linked_keys(conn, keys)
                    if conn.dialect.name == "postgresql" and not set(group) <= set(lock_set):
                        raise _GroupGrew(group)
                    return work(conn, group)
            except _GroupGrew as grew:
                lock_set = tuple(sorted(set(lock_set) | set(grew.group)))
        raise RegisterError("document links changed too often while recording; try again", "document", "busy")

    def _crossings(self, conn, keys: tuple[str, ...], destination: str) -> list[Crossing]:
        c, d = s.crossings, s.decisions
        corrected = select(c.c.corrects).where(c.c.corrects.is_not(None), c.c.traveller_key.in_(keys))
        rows = conn.execute(
            select(c.c.id, c.c.event_id, c.c.traveller_key, c.c.direction, c.c.local_date, c.c.local_time,
                   c.c.nationality, c.c.passport_type, c.c.passport_expires, c.c.destination, c.c.border_post,
                   c.c.source, d.c.outcome, d.c.permitted_until, d.c.reasons, d.c.regime,
                   c.c.stay_basis, c.c.visa_kind, c.c.basis_valid_from, c.c.basis_valid_until, c.c.visa_entries,
                   c.c.visa_duration_days)
            .select_from(c.outerjoin(d, d.c.crossing_id == c.c.id))
            .where(c.c.traveller_key.in_(keys), c.c.destination == destination, c.c.withdraws.is_(False),
                   c.c.id.not_in(corrected))
        ).all()
        return [Crossing(**row._mapping) for row in rows]

    def _changes(self, conn, keys: tuple[str, ...]) -> list[StayChange]:
        t = s.stay_changes
        rows = conn.execute(select(t).where(t.c.traveller_key.in_(keys))).all()
        withdrawn = {r.corrects for r in rows if r.corrects is not None}
        return [
            StayChange(r.id, r.entry_crossing_id, r.kind, r.rule, r.new_end, r.legal_basis, r.officer, r.recorded_at)
            for r in rows if not r.withdraws and r.id not in withdrawn
        ]

    def _timeline(self, conn, keys: tuple[str, ...], destination: str, ends: bool = True) -> list[RegisterStay]:
        """The person's stays; with `ends`, each one's permitted end recomputed by the engine from
        the whole current history plus the officers' acts (issue 10), not the stored desk end."""
        stays = pair(self._crossings(conn, keys, destination))
        if ends:
            fill_permitted_ends(stays, self._judge_ingested, self._changes(conn, keys))
        return stays

    def _judge_ingested(self, entry: Crossing, prior: list[RegisterStay]):
        passport = Passport(entry.passport_type, entry.passport_expires) if entry.passport_expires else None
        return self.judge(entry.nationality, entry.destination, passport, entry.passport_type, prior, entry.local_date,
                          entry.basis)

    def _audit_reads(self, actor: str, action: str, items) -> None:
        """A read is audited in a short transaction of its own after the consistent read, so a
        long read never holds SQLite's write lock; the answer is only returned once it is logged."""
        items = list(items)
        if not items:
            return
        now = self.clock()
        with write_transaction(self.engine) as conn:
            conn.execute(s.audit_log.insert(), [dict(at=now, actor=actor, action=action, traveller_key=k, detail=d)
                                                for k, d in items])

    def _audit(self, conn, actor: str, action: str, key: str | None, detail: str | None = None) -> None:
        conn.execute(s.audit_log.insert(), dict(at=self.clock(), actor=actor, action=action, traveller_key=key, detail=detail))

    # -- bulk reading for analysts (visafree batch report --register) -----------------------

    def export_crossings(self, path, *, actor: str, batch_rows: int = 100_000) -> int:
        """Write the register's crossings as a batch input log (Parquet; docs/batch.md).

        What counts is what the register itself pairs: withdrawn and corrected crossings and
        refused entries are left out, and linked documents share the key of their group, so the
        batch sees one traveller per person. The whole export is one audited act.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        c, d = s.crossings, s.decisions
        schema = pa.schema([("event_id", pa.string()), ("traveller_id", pa.string()), ("nationality", pa.string()),
                            ("destination", pa.string()), ("border_post", pa.string()), ("direction", pa.string()),
                            ("local_date", pa.date32()), ("local_time", pa.string()), ("regime", pa.string()),
                            # The entry's basis (issue 13; docs/batch.md's basis columns): the
                            # batch judges visa and permit stays as the engine does.
                            ("basis", pa.string()), ("valid_from", pa.date32()), ("valid_until", pa.date32()),
                            ("visa_entries", pa.string()), ("visa_duration_days", pa.int64()),
                            ("visa_kind", pa.string())])
        written = 0
        with read_transaction(self.engine) as conn:
            links = conn.execute(select(s.document_links)).all()
            group_of = {k: members[0] for k, members in _link_groups(links).items()}
            corrected = select(c.c.corrects).where(c.c.corrects.is_not(None))
            query = (
                select(c.c.event_id, c.c.traveller_key, c.c.nationality, c.c.destination, c.c.border_post,
                       c.c.direction, c.c.local_date, c.c.local_time, d.c.regime, c.c.stay_basis,
                       c.c.basis_valid_from, c.c.basis_valid_until, c.c.visa_entries, c.c.visa_duration_days,
                       c.c.visa_kind)
                .select_from(c.outerjoin(d, d.c.crossing_id == c.c.id))
                .where(c.c.withdraws.is_(False), c.c.id.not_in(corrected),
                       (d.c.outcome.is_(None)) | (d.c.outcome != "refuse"))
                .order_by(c.c.id)
            )
            with pq.ParquetWriter(str(path), schema) as writer:
                for chunk in conn.execution_options(yield_per=batch_rows).execute(query).partitions(batch_rows):
                    columns = list(zip(*chunk))
                    columns[1] = [group_of.get(k, k) for k in columns[1]]
                    columns[7] = [t.strftime("%H:%M:%S") if t is not None else None for t in columns[7]]
                    # Exits and ingested crossings carry no decision: their regime is the engine's
                    # preference on that day; none (no_regime) is left empty for the batch to resolve.
                    columns[8] = [r or _id(self.regime_for(n, dst, day)) for r, n, dst, day
                                  in zip(columns[8], columns[2], columns[3], columns[6])]
                    columns[9] = [b or ("visa_free" if direction == "entry" else None)
                                  for b, direction in zip(columns[9], columns[5])]
                    writer.write_table(pa.table(dict(zip(schema.names, columns)), schema=schema))
                    written += len(chunk)
        self._audit_reads(actor, "export", [(None, f"{written} crossings for batch analysis")])
        return written

    # -- the desk ----------------------------------------------------------------------------

    def _existing_event(self, conn, event_id: str):
        return conn.execute(select(s.crossings).where(s.crossings.c.event_id == event_id)).first()

    def record_entry(
        self, document: Document, on: dt.date, *, officer: str, border_post: str, at: dt.time | None = None,
        event_id: str | None = None, refuse_basis: str | None = None, basis: Basis | None = None,
    ) -> DeskDecision:
        """The desk decision. `refuse_basis`: the officer refuses entry under R6 whatever the
        engine allows (the engine's own reasons are still stored beside it). `basis`: the entry
        is on a visa, a residence permit or a long-stay visa (issue 13; validate.stay_basis
        checks it), judged by the engine by that basis; None: visa-free."""
        document = document.validated()
        basis = v.stay_basis(basis)
        if refuse_basis is not None and not (isinstance(refuse_basis, str) and refuse_basis.strip()):
            raise RegisterError("refuse_basis: a refusal must cite its legal basis", "refuse_basis")
        refuse_basis = v.text(refuse_basis, "refuse_basis", required=False)
        officer, border_post = v.text(officer, "officer"), v.text(border_post, "border_post")
        event_id = v.text(event_id, "event_id", required=False) or None
        on, at = local_moment(on, at, self.destination, border_post)
        if document.expires is None:
            raise RegisterError("expires: the desk needs the passport's expiry date (R2)", "expires")
        self.check_not_future(on, "date")
        key = self.traveller_key(document.issuing_state, document.document_number)
        event_id = event_id or f"desk-{uuid.uuid4()}"
        args = (key, document, on, officer, border_post, at, event_id, refuse_basis, basis)
        if self.engine.dialect.name == "postgresql":
            return self._pg_record_entry(*args)
        # A linked document's history is decided on too: the whole group is locked (_locked).
        return self._locked((key,), lambda conn, keys: self._decide_entry(conn, keys, *args))

    def _decide_entry(self, conn, keys, key, document, on, officer, border_post, at, event_id, refuse_basis, basis):
        existing = self._existing_event(conn, event_id)
        if existing is not None:
            return self._repeat_entry(conn, existing, key, on, border_post)
        # The desk reads presence only: the prior stays' permitted ends do not enter the verdict.
        stays = self._timeline(conn, keys, self.destination, ends=False)
        return self._judge_and_store(conn, stays, _store_entry, key, document, on, officer, border_post, at,
                                     event_id, refuse_basis, basis)

    def _pg_record_entry(self, key, document, on, officer, border_post, at, event_id, refuse_basis, basis):
        """The desk entry on PostgreSQL in two round trips (issue 10): psycopg's pipeline sends
        BEGIN, the lock statement and one read (the document links reachable from the key, the
        event id's crossing if it exists, and the history) together; the server runs them in
        that order, so the read's snapshot is taken once the lock is held (READ COMMITTED takes
        one per statement: a lock inside the reading statement would come after its snapshot).
        Then the crossing, its decision and its audit row (one statement) and COMMIT go together;
        the answer comes back once the commit is durable (synchronous_commit on).
        If a link makes the person's group larger than what was locked, the transaction is rolled
        back and run again with the whole group locked, as _locked does."""
        lock_set = (key,)
        for _attempt in range(16):
            try:
                return self._pg_entry_attempt(lock_set, key, document, on, officer, border_post, at, event_id,
                                              refuse_basis, basis)
            except _GroupGrew as grew:
                lock_set = tuple(sorted(set(lock_set) | set(grew.group)))
        raise RegisterError("document links changed too often while recording; try again", "document", "busy")

    def _pg_entry_attempt(self, lock_set, key, document, on, officer, border_post, at, event_id, refuse_basis, basis):
        with write_transaction(self.engine) as conn, raw_errors(conn):
            raw = conn.connection.dbapi_connection
            with raw.pipeline():
                lock, read = raw.cursor(), raw.cursor()
                lock.execute(*lock_statement(lock_set))
                read.execute(_PG_DESK_READ, {"key": key, "event_id": event_id, "destination": self.destination})
                rows = read.fetchall()  # the pipeline's one sync: every statement above is sent
            linked = any(r[0] == "l" for r in rows)
            group = self._linked_keys(conn, key) if linked else (key,)
            if not set(group) <= set(lock_set):
                raise _GroupGrew(group)  # the transaction is rolled back, the caller locks the group
            existing = next((_PG_ROW(*r[1:]) for r in rows if r[0] == "e"), None)
            if existing is not None:
                return self._repeat_entry(conn, existing, key, on, border_post, decision=existing)
            if linked:  # documents linked into one person: their histories are read as one
                stays = self._timeline(conn, group, self.destination, ends=False)
            else:
                width = len(_CROSSING_FIELDS) + 1
                stays = pair([Crossing(*r[1:width]) for r in rows if r[0] == "h"])
            return self._judge_and_store(conn, stays, _pg_store_entry, key, document, on, officer,
                                         border_post, at, event_id, refuse_basis, basis)

    def _judge_and_store(self, conn, stays, store, key, document, on, officer, border_post, at, event_id,
                         refuse_basis, basis) -> DeskDecision:
        self._refuse_out_of_order(stays, on)
        replaces = None
        if stays and stays[-1].is_open and basis is not None and stays[-1].entry.outcome == NO_REGIME \
                and stays[-1].entry.local_date == on:
            # Issue 13: the desk said no_regime ("check a visa or permit") and the officer now
            # records the same entry on the visa or permit: the new crossing corrects the
            # no_regime one (both stay on file; the history has the entry once, on its basis).
            replaces = stays.pop()
        if stays and stays[-1].is_open:
            raise RegisterError(
                f"traveller already in the country since {stays[-1].entry.local_date} "
                f"(event {stays[-1].entry.event_id}); record the exit first", "document", "already_in_country")
        try:
            regime, verdict = self.judge(document.nationality, self.destination,
                                         Passport(document.passport_type, document.expires),
                                         document.passport_type, stays, on, basis)
        except InputError as exc:
            raise RegisterError(f"history: {exc.message}", "history", exc.code) from None
        now = self.clock()
        notes = _desk_notes(regime, verdict, document, self.destination, on, refuse_basis, replaces)
        if regime is None:
            # Issue 9: no visa-free regime covers the traveller. Not a refusal: a visa or a
            # permit decides, which this register does not hold; never counted under another regime.
            outcome, admitted, reasons, permitted_until, limited_by = NO_REGIME, False, (NO_REGIME,), None, None
        else:
            admitted = verdict.ok and refuse_basis is None
            outcome = "admit" if admitted else "refuse"
            reasons = verdict.reasons + ((OFFICER_REFUSAL,) if refuse_basis is not None else ())
            permitted_until = verdict.latest_exit if admitted else None
            limited_by = verdict.limited_by if admitted else None
        # Parameters passed apart from the statement keep SQLAlchemy's compiled-statement cache hot.
        crossing = dict(
            event_id=event_id, traveller_key=key, issuing_state=document.issuing_state,
            nationality=document.nationality, passport_type=document.passport_type,
            passport_expires=document.expires, direction="entry", destination=self.destination,
            border_post=border_post, local_date=on, local_time=at, source="desk", withdraws=False,
            note=f"R6: {refuse_basis.strip()}" if refuse_basis is not None else None,
            recorded_by=officer, recorded_at=now, **basis_columns(basis),
            corrects=replaces.entry.id if replaces is not None else None,
        )
        decision = dict(
            traveller_key=key, outcome=outcome,
            permitted_until=permitted_until, reasons=",".join(reasons), limited_by=limited_by,
            regime=_id(regime), officer=officer, decided_at=now,
            basis=basis_of(stays), notes=n_.dumps(notes),
        )
        audit = dict(at=now, actor=officer, action="desk_entry", traveller_key=key, detail=event_id)
        crossing_id = store(conn, crossing, decision, audit)
        return DeskDecision(event_id, crossing_id, key, on, admitted, reasons, permitted_until, limited_by,
                            _id(regime), notes, outcome=outcome, basis=basis_code(basis))

    def _repeat_entry(self, conn, existing, key: str, on: dt.date, border_post: str, decision=None) -> DeskDecision:
        """`decision`: the decision's columns when the caller read them with the crossing (the
        PostgreSQL desk, whose row has outcome None when the crossing has no decision)."""
        if (existing.traveller_key, existing.direction, existing.local_date, existing.border_post) != (key, "entry", on, border_post):
            # The same event id with other content is a conflict, never a silent duplicate.
            raise RegisterError("event_id: already used by another crossing", "event_id", "event_id_conflict")
        if decision is None:
            decision = conn.execute(select(s.decisions).where(s.decisions.c.crossing_id == existing.id)).first()
        if decision is None or decision.outcome is None:
            raise RegisterError(f"event_id: {existing.event_id!r} is an ingested crossing, not a desk entry", "event_id", "event_id_reused")
        return DeskDecision(existing.event_id, existing.id, key, existing.local_date, decision.outcome == "admit",
                            tuple(r for r in decision.reasons.split(",") if r), decision.permitted_until,
                            decision.limited_by, decision.regime, n_.loads(decision.notes), repeated=True,
                            outcome=decision.outcome,
                            basis=existing.stay_basis or "visa_free")

    @staticmethod
    def _refuse_out_of_order(stays: list[RegisterStay], on: dt.date) -> None:
        if not stays:
            return
        last = stays[-1]
        latest = (last.exit or last.entry).local_date
        if latest > on:
            raise RegisterError(
                f"date: the register already has a crossing on {latest}, after {on}; "
                "record a correction instead of a back-dated crossing", "date", "out_of_order")

    def record_exit(
        self, document: Document, on: dt.date, *, officer: str, border_post: str, at: dt.time | None = None,
        event_id: str | None = None,
    ) -> ExitRecord:
        document = document.validated()
        officer, border_post = v.text(officer, "officer"), v.text(border_post, "border_post")
        event_id = v.text(event_id, "event_id", required=False) or None
        on, at = local_moment(on, at, self.destination, border_post)
        self.check_not_future(on, "date")
        key = self.traveller_key(document.issuing_state, document.document_number)
        event_id = event_id or f"desk-{uuid.uuid4()}"
        return self._locked((key,), lambda conn, keys: self._decide_exit(
            conn, keys, key, document, on, officer, border_post, at, event_id))

    def _decide_exit(self, conn, keys, key, document, on, officer, border_post, at, event_id) -> ExitRecord:
        existing = self._existing_event(conn, event_id)
        stays = self._timeline(conn, keys, self.destination)
        if existing is not None:
            if (existing.traveller_key, existing.direction, existing.local_date, existing.border_post) != (key, "exit", on, border_post):
                raise RegisterError("event_id: already used by another crossing", "event_id", "event_id_conflict")
            stay = next((x for x in stays if x.exit is not None and x.exit.id == existing.id), None)
            return self._exit_record(existing.id, event_id, key, existing.local_date, stay, repeated=True)
        self._refuse_out_of_order(stays, on)
        open_stay = stays[-1] if stays and stays[-1].is_open else None
        crossing_id = _insert_crossing(conn, dict(
            event_id=event_id, traveller_key=key, issuing_state=document.issuing_state,
            nationality=document.nationality, passport_type=document.passport_type,
            passport_expires=document.expires, direction="exit", destination=self.destination,
            border_post=border_post, local_date=on, local_time=at, source="desk", withdraws=False,
            recorded_by=officer, recorded_at=self.clock(),
        ))
        self._audit(conn, officer, "desk_exit", key, event_id)
        return self._exit_record(crossing_id, event_id, key, on, open_stay)

    @staticmethod
    def _exit_record(crossing_id, event_id, key, on, stay: RegisterStay | None, repeated=False) -> ExitRecord:
        if stay is None or stay.entry is None:
            return ExitRecord(event_id, crossing_id, key, on, None, None, 0, True, repeated)
        end = stay.permitted_end
        overstay = max(0, (on - end).days) if end else 0
        return ExitRecord(event_id, crossing_id, key, on, stay.entry.local_date, end, overstay, False, repeated)

    # -- an authority's decisions on a stay (R6, R7) ------------------------------------------

    def change_stay(self, key: str, kind: str, new_end: dt.date, *, legal_basis: str, officer: str) -> StayChange:
        """Extend (R7) or shorten (R6) the traveller's current or latest stay."""
        if kind not in ("extension", "shortening"):
            raise RegisterError(f"kind: {kind!r} is not extension or shortening", "kind")
        if not isinstance(legal_basis, str) or not legal_basis.strip():
            raise RegisterError("legal_basis: an extension or shortening must cite its legal basis", "legal_basis")
        legal_basis, officer = v.text(legal_basis, "legal_basis"), v.text(officer, "officer")
        key = traveller_key_text(key, "traveller_key")
        return self._locked((key,), lambda conn, keys: self._change_stay(conn, keys, key, kind, new_end, legal_basis, officer))

    def _change_stay(self, conn, keys, key, kind, new_end, legal_basis, officer) -> StayChange:
        stays = [x for x in self._timeline(conn, keys, self.destination) if x.entry is not None]
        if not stays:
            raise RegisterError("traveller: no admitted stay in the register", "traveller", "not_found")
        stay = stays[-1]
        current = stay.permitted_end
        if new_end < stay.entry.local_date:
            raise RegisterError(f"new_end: {new_end} is before the stay's entry {stay.entry.local_date}", "new_end")
        if current is not None and kind == "extension" and new_end <= current:
            raise RegisterError(f"new_end: an extension must end after the current end {current}", "new_end")
        if current is not None and kind == "shortening" and new_end >= current:
            raise RegisterError(f"new_end: a shortening must end before the current end {current}", "new_end")
        rule = "R7" if kind == "extension" else "R6"
        now = self.clock()
        change_id = conn.execute(s.stay_changes.insert().values(
            traveller_key=stay.entry.traveller_key, entry_crossing_id=stay.entry.id, kind=kind, rule=rule,
            new_end=new_end, legal_basis=legal_basis.strip(), withdraws=False, officer=officer, recorded_at=now,
        ).returning(s.stay_changes.c.id)).scalar_one()
        self._audit(conn, officer, kind, key, f"new_end={new_end}")
        return StayChange(change_id, stay.entry.id, kind, rule, new_end, legal_basis, officer, now)

    def link_documents(self, key: str, other_key: str, *, reason: str, officer: str) -> int:
        """Record that two documents belong to one person; from now on their histories are one."""
        key, other_key = traveller_key_text(key, "traveller_key"), traveller_key_text(other_key, "linked_key")
        if key == other_key:
            raise RegisterError("linked document: it is the same document", "linked_document")
        if not isinstance(reason, str) or not reason.strip():
            raise RegisterError("reason: a link must say why the documents are one person's", "reason")
        reason, officer = v.text(reason, "reason"), v.text(officer, "officer")
        def work(conn, _group):  # both documents' whole groups are locked: a desk sees all or none
            link_id = conn.execute(s.document_links.insert().values(
                traveller_key=key, linked_key=other_key, reason=reason.strip(), withdraws=False,
                officer=officer, recorded_at=self.clock(),
            ).returning(s.document_links.c.id)).scalar_one()
            self._audit(conn, officer, "link", key, f"linked_key={other_key}")
            return link_id

        return self._locked((key, other_key), work)

    def withdraw_link(self, link_id: int, *, reason: str, officer: str) -> int:
        """Undo a link by a new record pointing at it; the link itself stays on file."""
        if not isinstance(reason, str) or not reason.strip():
            raise RegisterError("reason: withdrawing a link must say why", "reason")
        reason, officer = v.text(reason, "reason"), v.text(officer, "officer")
        link_id = v.integer(link_id, "link")
        t = s.document_links
        with self.engine.connect() as probe:
            link = probe.execute(select(t).where(t.c.id == link_id, t.c.withdraws.is_(False))).first()
        if link is None:
            raise RegisterError(f"link: no link with id {link_id}", "link", "not_found")
        def work(conn, _group):
            if conn.execute(select(t.c.id).where(t.c.corrects == link_id)).first() is not None:
                raise RegisterError(f"link: {link_id} was already withdrawn", "link", "already_corrected")
            new_id = conn.execute(t.insert().values(
                traveller_key=link.traveller_key, linked_key=link.linked_key, reason=reason.strip(), corrects=link_id,
                withdraws=True, officer=officer, recorded_at=self.clock(),
            ).returning(t.c.id)).scalar_one()
            self._audit(conn, officer, "unlink", link.traveller_key, f"link={link_id}")
            return new_id

        return self._locked((link.traveller_key, link.linked_key), work)

    def correct_crossing(
        self, crossing_id: int, *, reason: str, officer: str, new_date: dt.date | None = None,
        new_time: dt.time | None = None,
    ) -> int:
        """Withdraw a crossing (no new date) or replace it by one on the corrected date."""
        if not isinstance(reason, str) or not reason.strip():
            raise RegisterError("reason: a correction must say why", "reason")
        reason, officer = v.text(reason, "reason"), v.text(officer, "officer")
        crossing_id = v.integer(crossing_id, "crossing")
        with self.engine.connect() as probe:
            original = probe.execute(select(s.crossings).where(s.crossings.c.id == crossing_id)).first()
        if original is None:
            raise RegisterError(f"crossing: no crossing with id {crossing_id}", "crossing", "not_found")
        if new_date is not None:
            self.check_not_future(new_date, "new_date")
        def work(conn, _group):
            already = conn.execute(select(func.count()).where(s.crossings.c.corrects == crossing_id)).scalar()
            if already:
                raise RegisterError(f"crossing: {crossing_id} was already corrected; correct the correction", "crossing", "already_corrected")
            values = {k: v for k, v in original._mapping.items() if k != "id"}
            values.update(
                event_id=f"{original.event_id}#correction-{uuid.uuid4().hex[:8]}", source="correction",
                corrects=crossing_id, withdraws=new_date is None, note=reason.strip(), recorded_by=officer,
                recorded_at=self.clock(),
            )
            if new_date is not None:
                values.update(local_date=new_date, local_time=new_time)
            new_id = conn.execute(s.crossings.insert().values(**values).returning(s.crossings.c.id)).scalar_one()
            self._audit(conn, officer, "correction", original.traveller_key, f"crossing={crossing_id}")
            return new_id

        return self._locked((original.traveller_key,), work)

    # -- reads (each is audited) -------------------------------------------------------------

    def status(self, key: str, on: dt.date, *, actor: str) -> TravellerStatus:
        key, actor = traveller_key_text(key, "traveller_key"), v.text(actor, "actor")
        with read_transaction(self.engine) as conn:
            keys = self._linked_keys(conn, key)
            stays = self._timeline(conn, keys, self.destination)
        self._audit_reads(actor, "status", [(key, f"on={on}")])
        return self._status(key, keys, stays, on)

    def _status(self, key, keys, stays: list[RegisterStay], on: dt.date) -> TravellerStatus:
        stays = self._until([x for x in stays if x.first_day <= on], on)
        current = stays[-1] if stays and stays[-1].is_open else None
        in_country = current is not None
        end = current.permitted_end if current else None
        changed_by = current.changes[-1].kind if current and current.changes else None
        days_past = max(0, (on - end).days) if in_country and end else 0
        latest = next((x for x in reversed(stays) if x.entry is not None), None)
        first_entry = latest.entry if latest is not None else None
        # The regime the latest stay was judged under (issue 9): never one that does not cover it.
        regime = self.regimes.get(latest.regime) if latest is not None and latest.regime else None
        days_used = engine_overstay = engine_note = engine_error = None
        if regime is not None:
            # With their bases (issue 13): days under a permit are left out of the window by the engine.
            engine_stays = tuple(
                Stay(x.first_day, x.last_known_day if x.last_known_day is None or x.last_known_day <= on else on,
                     x.basis)
                for x in stays
            )
            try:
                answer = check(Question(regime, first_entry.nationality, self.destination, on, stays=engine_stays))
                days_used, engine_overstay = answer.days_used, answer.overstay_days
            except InputError as exc:
                engine_note = exc.message
                engine_error = {"code": exc.code, "template": exc.template, "params": dict(exc.params or {}),
                                "field": exc.field}
        return TravellerStatus(
            traveller_key=key, keys=keys, on=on, in_country=in_country,
            entry=current.entry.local_date if current and current.entry else None,
            permitted_end=end, computed_end=current.computed_end if current else None, changed_by=changed_by,
            days_past_end=days_past, days_used=days_used, engine_overstay_days=engine_overstay,
            unpaired=tuple(x.unpaired for x in stays if x.unpaired), regime=regime.id if regime else None,
            engine_note=engine_note, basis=basis_code(current.basis) if current else None, engine_error=engine_error,
        )

    def history(self, key: str, *, actor: str, on: dt.date | None = None) -> History:
        key, actor = traveller_key_text(key, "traveller_key"), v.text(actor, "actor")
        on = on or self.local_today()
        with read_transaction(self.engine) as conn:
            keys = self._linked_keys(conn, key)
            c = s.crossings
            rows = conn.execute(select(c, s.decisions.c.outcome, s.decisions.c.permitted_until, s.decisions.c.reasons,
                                       s.decisions.c.regime, s.decisions.c.notes.label("decision_notes"))
                                .select_from(c.outerjoin(s.decisions, s.decisions.c.crossing_id == c.c.id))
                                .where(c.c.traveller_key.in_(keys)).order_by(c.c.local_date, c.c.id)).all()
            stays = self._timeline(conn, keys, self.destination)
            links = conn.execute(select(s.document_links).where(
                s.document_links.c.traveller_key.in_(keys) | s.document_links.c.linked_key.in_(keys))).all()
        self._audit_reads(actor, "history", [(key, None)])
        crossings = [
            {
                "id": r.id, "event_id": r.event_id, "direction": r.direction, "date": r.local_date,
                "time": r.local_time, "border_post": r.border_post, "nationality": r.nationality,
                "source": r.source, "corrects": r.corrects, "withdraws": r.withdraws, "note": r.note,
                "decision": r.outcome, "permitted_until": r.permitted_until, "reasons": r.reasons or "",
                "document": "this" if r.traveller_key == key else r.traveller_key[:12],
                "basis": r.stay_basis or ("visa_free" if r.direction == "entry" else None),
                "regime": r.regime, "notes": n_.loads(r.decision_notes),
            }
            for r in rows
        ]
        stay_rows = [
            {
                "entry": x.entry.local_date if x.entry else None, "exit": x.exit.local_date if x.exit else None,
                "unpaired": x.unpaired, "computed_end": x.computed_end, "computed_by": x.computed_by,
                "basis": basis_code(x.basis),
                "permitted_end": x.permitted_end,
                "changes": [{"kind": ch.kind, "rule": ch.rule, "new_end": ch.new_end, "legal_basis": ch.legal_basis,
                             "officer": ch.officer} for ch in x.changes],
            }
            for x in stays
        ]
        link_rows = [{"id": r.id, "traveller_key": r.traveller_key, "linked_key": r.linked_key, "reason": r.reason,
                      "officer": r.officer, "recorded_at": r.recorded_at, "corrects": r.corrects} for r in links]
        return History(key, keys, crossings, stay_rows, link_rows, self._status(key, keys, stays, on))

    def overstayers(self, on: dt.date, *, actor: str) -> list[Overstayer]:
        """Travellers in the country at the end of `on` (no exit recorded by then) whose permitted
        end, after extensions and shortenings, is before `on`."""
        c = s.crossings
        with read_transaction(self.engine) as conn:
            links = conn.execute(select(s.document_links)).all()
            group = _link_groups(links)
            # Only travellers whose latest crossing up to `on` is an entry can be in the country.
            corrected = select(c.c.corrects).where(c.c.corrects.is_not(None))
            latest = (select(c.c.traveller_key, func.max(c.c.local_date).label("last"))
                      .where(c.c.destination == self.destination, c.c.local_date <= on, c.c.withdraws.is_(False),
                             c.c.id.not_in(corrected))
                      .group_by(c.c.traveller_key)
                      .subquery())
            candidates = conn.execute(
                select(c.c.traveller_key).distinct().join(latest, and_(latest.c.traveller_key == c.c.traveller_key,
                                                                       latest.c.last == c.c.local_date))
                .where(c.c.direction == "entry", c.c.withdraws.is_(False), c.c.id.not_in(corrected))
            ).scalars().all()
            people = sorted({group.get(k, (k,)) for k in candidates})
            found: list[Overstayer] = []
            for keys in people:
                stays = [x for x in self._timeline(conn, keys, self.destination) if x.first_day <= on]
                stays = self._until(stays, on)
                if not stays or not stays[-1].is_open:
                    continue
                stay = stays[-1]
                end = stay.permitted_end
                if end is None or end >= on:
                    continue
                basis = stay.changes[-1].kind if stay.changes else stay.computed_by
                found.append(Overstayer(stay.entry.traveller_key, stay.entry.nationality, stay.entry.local_date,
                                        stay.entry.border_post, end, (on - end).days, basis,
                                        basis_code(stay.basis)))
        self._audit_reads(actor, "overstayers", [(person.traveller_key, f"on={on}") for person in found])
        return sorted(found, key=lambda o: (-o.days_past_end, o.traveller_key))

    def review(self, *, actor: str) -> list["ReviewItem"]:
        """Desk decisions whose basis changed after they were made (issue 10): the crossings the
        traveller's history holds before the decision today differ from those it was judged on
        (older crossings ingested late, a correction, a link). Each comes with the end the desk
        gave and the end the engine gives on the current history: both are shown, neither is
        changed (the officer's decision at the time stays on file)."""
        c, d = s.crossings, s.decisions
        found: list[ReviewItem] = []
        with read_transaction(self.engine) as conn:
            group = _link_groups(conn.execute(select(s.document_links)).all())
            decided = conn.execute(
                select(d.c.traveller_key).distinct().select_from(d.join(c, c.c.id == d.c.crossing_id))
                .where(d.c.basis.is_not(None), c.c.destination == self.destination)).scalars().all()
            for keys in sorted({group.get(k, (k,)) for k in decided}):
                crossings = self._crossings(conn, keys, self.destination)
                stays = pair(crossings)
                for crossing in sorted(crossings, key=order_key):
                    if crossing.direction != "entry" or crossing.outcome not in ("admit", "refuse") or crossing.source != "desk":
                        continue
                    item = self._reviewed(conn, crossing, stays)
                    if item is not None:
                        found.append(item)
        self._audit_reads(actor, "review", [(x.traveller_key, f"decision={x.decision_id}") for x in found])
        return found

    def _reviewed(self, conn, entry: Crossing, stays: list[RegisterStay]) -> "ReviewItem | None":
        d = s.decisions
        row = conn.execute(select(d.c.id, d.c.basis, d.c.outcome, d.c.permitted_until, d.c.regime, d.c.notes)
                           .where(d.c.crossing_id == entry.id)).first()
        if row is None or row.basis is None:
            return None
        here = order_key(entry)
        prior = [x for x in stays if x.entry is not entry
                 and order_key(x.exit or x.entry) < here]
        now_basis = basis_of(prior)
        if now_basis == row.basis:
            return None
        passport = Passport(entry.passport_type, entry.passport_expires) if entry.passport_expires else None
        regime, verdict = self.judge(entry.nationality, entry.destination, passport, entry.passport_type, prior,
                                     entry.local_date, entry.basis)
        if regime is None:
            now_outcome, now_end = NO_REGIME, None
        else:
            officer_refused = OFFICER_REFUSAL in (entry.reasons or "").split(",")
            now_outcome = "admit" if verdict.ok and not officer_refused else "refuse"
            now_end = verdict.latest_exit if now_outcome == "admit" else None
        seen = [int(i) for i in row.basis.split(",") if i]
        now = [int(i) for i in now_basis.split(",") if i]
        return ReviewItem(
            decision_id=row.id, traveller_key=entry.traveller_key, event_id=entry.event_id, entry=entry.local_date,
            desk_outcome=row.outcome, desk_end=row.permitted_until, desk_regime=row.regime,
            now_outcome=now_outcome, now_end=now_end, now_regime=_id(regime),
            crossings_seen=len(seen), crossings_now=len(now),
            added=tuple(sorted(set(now) - set(seen))), removed=tuple(sorted(set(seen) - set(now))),
            desk_notes=n_.loads(row.notes),
        )

    @staticmethod
    def _until(stays: list[RegisterStay], on: dt.date) -> list[RegisterStay]:
        """The stays as they stood at the end of `on`: an exit after `on` has not happened yet."""
        trimmed = []
        for x in stays:
            if x.exit is not None and x.exit.local_date > on:
                x = dataclasses.replace(x, exit=None, unpaired=None)
            trimmed.append(x)
        return trimmed

    # -- tokens and the audit log ------------------------------------------------------------

    def create_token(self, role: str, label: str, *, created_by: str) -> str:
        if role not in ROLES:
            raise RegisterError(f"role: not one of {', '.join(ROLES)}", "role")
        # The label is part of the actor string "token:ID:LABEL" (VARCHAR 128) of every later act.
        label, created_by = v.text(label, "label"), v.text(created_by, "officer")
        token = "vfr_" + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            conn.execute(s.tokens.insert().values(token_hash=_token_hash(token), role=role, label=label,
                                                  created_by=created_by, created_at=self.clock()))
            self._audit(conn, created_by, "token_create", None, f"role={role} label={label}")
        return token

    def authenticate(self, token: str | None) -> TokenInfo | None:
        if not token:
            return None
        t = s.tokens
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.id, t.c.role, t.c.label).where(
                t.c.token_hash == _token_hash(token),
                t.c.id.not_in(select(s.token_revocations.c.token_id)),
            )).first()
        return TokenInfo(row.id, row.role, row.label) if row else None

    def revoke_token(self, token_id: int, *, revoked_by: str) -> None:
        token_id = v.integer(token_id, "token")
        revoked_by = v.text(revoked_by, "officer")
        with write_transaction(self.engine) as conn:
            if conn.execute(select(s.tokens.c.id).where(s.tokens.c.id == token_id)).first() is None:
                raise RegisterError(f"token: no token with id {token_id}", "token", "not_found")
            conn.execute(s.token_revocations.insert().values(token_id=token_id, revoked_by=revoked_by, revoked_at=self.clock()))
            self._audit(conn, revoked_by, "token_revoke", None, f"token={token_id}")

    def list_tokens(self) -> list[dict]:
        t = s.tokens
        revoked = select(s.token_revocations.c.token_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.role, t.c.label, t.c.created_by, t.c.created_at,
                                       t.c.id.in_(revoked).label("revoked")).order_by(t.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def audit_entries(self, *, traveller_key: str | None = None, limit: int = 100) -> list[dict]:
        a = s.audit_log
        limit = v.integer(limit, "limit", maximum=10_000)
        if traveller_key:
            traveller_key = traveller_key_text(traveller_key, "traveller_key")
        query = select(a).order_by(a.c.id.desc()).limit(limit)
        if traveller_key:
            query = query.where(a.c.traveller_key == traveller_key)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]


_CROSSING_COLUMNS = ("event_id", "traveller_key", "issuing_state", "nationality", "passport_type", "passport_expires",
                     "direction", "destination", "border_post", "local_date", "local_time", "source", "withdraws",
                     "note", "recorded_by", "recorded_at", "corrects", "stay_basis", "visa_kind", "basis_valid_from",
                     "basis_valid_until", "visa_entries", "visa_duration_days")
_DECISION_COLUMNS = ("traveller_key", "outcome", "permitted_until", "reasons", "limited_by", "regime", "officer",
                     "decided_at", "basis", "notes")
_AUDIT_COLUMNS = ("at", "actor", "action", "traveller_key", "detail")
# PostgreSQL: the crossing, its decision and the audit row in one statement, one round trip.
_PG_STORE_ENTRY = text(
    f"WITH c AS (INSERT INTO crossings ({', '.join(_CROSSING_COLUMNS)}) "
    f"VALUES ({', '.join(':c_' + n for n in _CROSSING_COLUMNS)}) RETURNING id), "
    f"d AS (INSERT INTO decisions (crossing_id, {', '.join(_DECISION_COLUMNS)}) "
    f"SELECT id, {', '.join(':d_' + n for n in _DECISION_COLUMNS)} FROM c), "
    f"a AS (INSERT INTO audit_log ({', '.join(_AUDIT_COLUMNS)}) "
    f"SELECT {', '.join(':a_' + n for n in _AUDIT_COLUMNS)} FROM c) "
    "SELECT id FROM c"
).bindparams(*[bindparam("c_" + n, type_=s.crossings.c[n].type) for n in _CROSSING_COLUMNS],
             *[bindparam("d_" + n, type_=s.decisions.c[n].type) for n in _DECISION_COLUMNS],
             *[bindparam("a_" + n, type_=s.audit_log.c[n].type) for n in _AUDIT_COLUMNS])


def _store_entry(conn, crossing: dict, decision: dict, audit: dict) -> int:
    """The desk entry's crossing, decision and audit row on SQLite: three statements (in-process,
    no round trip to save). PostgreSQL stores them in one (_pg_store_entry)."""
    crossing_id = _insert_crossing(conn, crossing)
    conn.execute(s.decisions.insert(), dict(decision, crossing_id=crossing_id))
    conn.execute(s.audit_log.insert(), audit)
    return crossing_id


_CROSSING_FIELDS = tuple(f.name for f in dataclasses.fields(Crossing))
_c = ", ".join(f"d.{n}" if n in ("outcome", "permitted_until", "reasons", "regime") else f"c.{n}" for n in _CROSSING_FIELDS)
_nulls = ", ".join("NULL" for _ in _CROSSING_FIELDS[3:])
# The PostgreSQL desk's one read (issue 10), after the lock statement in the same round trip:
# 'h' rows are the traveller's history (the key's crossings, as _crossings reads them), 'e' the
# crossing holding the event id if there is one, with its decision, and 'l' the document links
# that name the key (id, linked_key in event_id's place, traveller_key, corrects, withdraws, in
# the columns of the same types). No 'l' row: the key is a person alone, the history is whole.
# Any 'l' row: the group is walked and read as everywhere else (_linked_keys, _timeline).
_PG_DESK_READ = f"""
SELECT 'h', {_c}, d.limited_by, d.notes, c.corrects, c.withdraws
FROM crossings c LEFT JOIN decisions d ON d.crossing_id = c.id
WHERE c.traveller_key = %(key)s AND c.destination = %(destination)s AND NOT c.withdraws
  AND c.id NOT IN (SELECT x.corrects FROM crossings x WHERE x.traveller_key = %(key)s AND x.corrects IS NOT NULL)
UNION ALL
SELECT 'e', {_c}, d.limited_by, d.notes, c.corrects, c.withdraws
FROM crossings c LEFT JOIN decisions d ON d.crossing_id = c.id
WHERE c.event_id = %(event_id)s
UNION ALL
SELECT 'l', l.id, l.linked_key, l.traveller_key, {_nulls}, NULL, NULL, l.corrects, l.withdraws
FROM document_links l
WHERE l.traveller_key = %(key)s OR l.linked_key = %(key)s
"""
#: An existing crossing of the desk read, with its decision's columns (outcome None: no decision).
_PG_ROW = collections.namedtuple("_PG_ROW", _CROSSING_FIELDS + ("limited_by", "notes", "corrects", "withdraws"))


@functools.cache
def _pg_store_sql() -> str:
    """_PG_STORE_ENTRY compiled once, as SQLAlchemy would, with the same type casts."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

    return str(_PG_STORE_ENTRY.compile(dialect=pg_dialect.dialect()))


def _pg_store_entry(conn, crossing: dict, decision: dict, audit: dict) -> int:
    """The desk entry's crossing, decision and audit row in one statement, sent with COMMIT in
    one round trip (psycopg's pipeline): the answer is back once the commit is durable. Another
    traveller's crossing taking the same event id at the same moment loses on the unique index:
    a refusal by name, not a 500."""
    import psycopg

    params = {**{"c_" + k: v for k, v in crossing.items()}, **{"d_" + k: v for k, v in decision.items()},
              **{"a_" + k: v for k, v in audit.items()}}
    raw = conn.connection.dbapi_connection
    try:
        with raw.pipeline():
            cursor = raw.cursor()
            cursor.execute(_pg_store_sql(), params)
            raw.commit()
    except psycopg.errors.UniqueViolation:
        raise RegisterError("event_id: already used by another crossing", "event_id", "event_id_conflict") from None
    return cursor.fetchone()[0]


def _insert_crossing(conn, values: dict) -> int:
    """Insert a desk crossing. Another traveller's crossing taking the same new event id at the
    same moment (their locks do not exclude each other) loses on the unique index: a refusal
    by name, not a 500 (issue 10)."""
    try:
        return conn.execute(_INSERT_CROSSING, values).scalar_one()
    except IntegrityError:  # the transaction is rolled back by the caller's error
        raise RegisterError("event_id: already used by another crossing", "event_id", "event_id_conflict") from None


def _desk_notes(regime, verdict, document, destination, on, refuse_basis, replaces) -> tuple[dict, ...]:
    """What the desk says under its decision, as codes and params (register/notes.py, issue 12):
    the engine's notes (a refusal without its latest-exit lines), the no-regime advice, the
    officer's R6 refusal and the no_regime decision an entry on a visa replaces."""
    if regime is None:
        notes = (n_.note("desk_no_regime", nationality=document.nationality, destination=destination, date=on),)
    else:
        admitted = verdict.ok and refuse_basis is None
        notes = tuple(n_.from_engine(x) for x in verdict.notes if admitted or not x.code.startswith("latest_exit"))
    if refuse_basis is not None:
        notes += (n_.note("desk_officer_refusal", "R6", basis=refuse_basis.strip()),)
    if replaces is not None:
        notes += (n_.note("desk_replaces", event=replaces.entry.event_id),)
    return notes


def _document_message(issuing_state: str, document_number: str) -> str:
    """What a pseudonym is made of: the issuing state and the number, upper case, without the
    MRZ's filler '<', joined by the unit separator."""
    return f"{issuing_state.upper()}\x1f{document_number.replace('<', '').upper()}"


def traveller_key_text(value, field: str) -> str:
    """A pseudonymous key as the register makes them: 64 lower-case hex digits."""
    if not isinstance(value, str) or len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        raise RegisterError(f"{field}: not a traveller key (64 hexadecimal digits)", field)
    return value


def _id(regime: Regime | None) -> str | None:
    """The regime id a decision stores: None for no regime, and for BASIS_ONLY (no visa-free
    regime covers the traveller; the visa or permit decided)."""
    return regime.id if regime is not None and regime.id != BASIS_ONLY else None


class _GroupGrew(Exception):
    def __init__(self, group):
        self.group = group


def basis_of(stays: list[RegisterStay]) -> str:
    """The crossings a decision was judged on, as their ids in time order: no personal data,
    enough to show later what the decision saw and what has changed since."""
    return ",".join(str(c.id) for x in stays for c in (x.entry, x.exit) if c is not None)


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 (no salt, no stretching) cannot be reversed.
    return hashlib.sha256(token.encode()).hexdigest()


def _link_groups(links) -> dict[str, tuple[str, ...]]:
    withdrawn = {r.corrects for r in links if r.corrects is not None}
    parent: dict[str, str] = {}

    def find(k):
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for r in links:
        if not r.withdraws and r.id not in withdrawn:
            parent[find(r.traveller_key)] = find(r.linked_key)
    members: dict[str, list[str]] = {}
    for k in list(parent):
        members.setdefault(find(k), []).append(k)
    return {k: tuple(sorted(members[find(k)])) for k in parent}
