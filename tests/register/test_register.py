"""The register's operations, on SQLite and PostgreSQL (the `register_url` fixture)."""

import datetime as dt
import os
import stat

import pytest
from sqlalchemy import func, select, text

from visafree.engine import Passport, Presence, judge_entry
from visafree.register import schema as s
from visafree.register.config import ConfigError, RegisterConfig, load_or_create_key_file
from visafree.register.db import current_revision, head_revision
from visafree.register.service import Document, RegisterError
from visafree.regimes import builtin_regimes

from .helpers import D, kaz

POST = "SGN-airport"


def test_schema_from_migrations_matches_the_code(register):
    """The code's tables are the migrations', but for one difference on PostgreSQL, on purpose:
    crossings.corrects is checked by triggers there, not by the foreign key (migration 0007)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert current_revision(register.engine) == head_revision()
    with register.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), s.metadata)
    if register.engine.dialect.name == "postgresql":
        corrects_key = [d for d in diff if d[0] == "add_fk" and d[1].parent.name == "crossings"
                        and [c.name for c in d[1].columns] == ["corrects"]]
        assert len(corrects_key) == 1
        diff = [d for d in diff if d not in corrects_key]
    assert diff == []


def test_a_correction_must_point_at_a_crossing_and_keeps_it(register):
    """crossings.corrects refers to a crossing, on SQLite by its foreign key, on PostgreSQL by
    migration 0007's triggers: a correction of no crossing is refused, and so is deleting (or
    renumbering) a crossing that another corrects; a crossing no one corrects may go."""
    from sqlalchemy import delete, insert, update
    from sqlalchemy.exc import IntegrityError

    first = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    other = register.record_entry(kaz("N0000002"), D(2025, 3, 1), officer="o", border_post=POST)
    register.correct_crossing(first.crossing_id, reason="wrong passport scanned", officer="o2")
    with register.engine.connect() as conn:
        row = conn.execute(select(s.crossings).where(s.crossings.c.id == first.crossing_id)).one()._asdict()
    orphan = {k: v for k, v in row.items() if k != "id"} | {"event_id": "orphan", "corrects": 10**12}
    for statement in (insert(s.crossings).values(**orphan),
                      update(s.crossings).where(s.crossings.c.id == other.crossing_id).values(corrects=10**12),
                      delete(s.crossings).where(s.crossings.c.id == first.crossing_id),
                      update(s.crossings).where(s.crossings.c.id == first.crossing_id).values(id=10**12)):
        with pytest.raises(IntegrityError):
            with register.engine.begin() as conn:
                conn.execute(statement)
    with register.engine.begin() as conn:  # the trigger lets through what the key let through
        conn.execute(update(s.crossings).where(s.crossings.c.id == other.crossing_id).values(corrects=first.crossing_id))
        conn.execute(update(s.crossings).where(s.crossings.c.id == other.crossing_id).values(corrects=None))
        conn.execute(delete(s.decisions).where(s.decisions.c.crossing_id == other.crossing_id))
        conn.execute(delete(s.crossings).where(s.crossings.c.id == other.crossing_id))


def test_first_entry_is_admitted_until_day_30(register):
    decision = register.record_entry(kaz(), D(2025, 3, 1), officer="o1", border_post=POST)
    assert decision.admitted and decision.reasons == ()
    assert decision.permitted_until == D(2025, 3, 30)
    assert decision.limited_by == "per_stay_limit"
    with register.engine.connect() as conn:
        row = conn.execute(select(s.decisions)).one()
    assert row.outcome == "admit" and row.permitted_until == D(2025, 3, 30) and row.crossing_id == decision.crossing_id


def test_desk_decision_is_the_engines_on_the_registers_history(register):
    # Three 30-day stays use 90 days; the fourth entry inside the window must be refused.
    doc = kaz()
    for entry, exit in [(D(2025, 1, 1), D(2025, 1, 30)), (D(2025, 2, 5), D(2025, 3, 6)), (D(2025, 3, 10), D(2025, 4, 8))]:
        assert register.record_entry(doc, entry, officer="o", border_post=POST).admitted
        register.record_exit(doc, exit, officer="o", border_post=POST)
    decision = register.record_entry(doc, D(2025, 4, 20), officer="o", border_post=POST)
    prior = Presence([(D(2025, 1, 1).toordinal(), D(2025, 1, 30).toordinal()),
                      (D(2025, 2, 5).toordinal(), D(2025, 3, 6).toordinal()),
                      (D(2025, 3, 10).toordinal(), D(2025, 4, 8).toordinal())])
    expected = judge_entry(builtin_regimes()["vn-kz"], "KAZ", "VNM", Passport("ordinary", D(2032, 1, 1)), prior, D(2025, 4, 20))
    assert (decision.admitted, decision.reasons, decision.permitted_until) == (expected.ok, expected.reasons, expected.latest_exit)
    assert decision.admitted is False and "window_limit" in decision.reasons


def test_refused_entry_is_recorded_but_is_not_a_stay(register):
    short = kaz(expires=D(2025, 7, 1))  # R2: needs 6 months from entry
    refused = register.record_entry(short, D(2025, 3, 1), officer="o", border_post=POST)
    assert not refused.admitted and refused.reasons == ("passport_validity",)
    status = register.status(refused.traveller_key, D(2025, 3, 1), actor="t")
    assert not status.in_country
    # The traveller can come back with the same document and is judged again, not "already in".
    again = register.record_entry(short, D(2025, 3, 2), officer="o", border_post=POST)
    assert not again.admitted


def test_officer_refuses_under_r6_whatever_the_engine_allows(register):
    decision = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST, refuse_basis="entry ban 12/2025")
    assert not decision.admitted and decision.reasons == ("officer_refusal",) and decision.permitted_until is None
    assert decision.texts()[-1] == "Entry refused by the officer under R6: entry ban 12/2025"
    assert decision.notes[-1] == {"code": "desk_officer_refusal", "rule": "R6", "params": {"basis": "entry ban 12/2025"}}
    history = register.history(decision.traveller_key, actor="t", on=D(2025, 3, 2))
    assert history.crossings[0]["decision"] == "refuse" and history.crossings[0]["note"] == "R6: entry ban 12/2025"
    assert history.stays == [] and not history.status.in_country
    with pytest.raises(RegisterError, match="refuse_basis"):
        register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST, refuse_basis=" ")


def test_second_entry_without_exit_is_refused_at_the_desk(register):
    register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    with pytest.raises(RegisterError, match="already in the country since 2025-03-01") as caught:
        register.record_entry(kaz(), D(2025, 3, 5), officer="o", border_post=POST)
    assert caught.value.code == "already_in_country"


def test_same_event_id_records_once(register):
    first = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST, event_id="ev-1")
    second = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST, event_id="ev-1")
    assert second.repeated and second.crossing_id == first.crossing_id and second.permitted_until == first.permitted_until
    with register.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.crossings)).scalar() == 1


def test_event_id_of_another_traveller_is_refused(register):
    register.record_entry(kaz("A1"), D(2025, 3, 1), officer="o", border_post=POST, event_id="ev-1")
    with pytest.raises(RegisterError, match="event_id"):
        register.record_entry(kaz("B2"), D(2025, 3, 1), officer="o", border_post=POST, event_id="ev-1")


def test_exit_reports_days_past_the_permitted_end(register):
    register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    record = register.record_exit(kaz(), D(2025, 4, 2), officer="o", border_post=POST)
    assert (record.entry, record.permitted_end, record.overstay_days, record.unpaired) == (D(2025, 3, 1), D(2025, 3, 30), 3, False)


def test_exit_without_entry_is_kept_and_flagged(register):
    record = register.record_exit(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    assert record.unpaired
    status = register.status(record.traveller_key, D(2025, 3, 2), actor="t")
    assert status.unpaired == ("exit_without_entry",) and not status.in_country


def test_future_and_out_of_order_dates_are_refused(register):
    with pytest.raises(RegisterError, match="in the future") as caught:
        register.record_entry(kaz(), D(2025, 6, 3), officer="o", border_post=POST)
    assert caught.value.field == "date"
    register.record_entry(kaz(), D(2025, 6, 2), officer="o", border_post=POST)  # within the 1-day tolerance
    with pytest.raises(RegisterError, match="already has a crossing on 2025-06-02") as caught:
        register.record_exit(kaz(), D(2025, 6, 1), officer="o", border_post=POST)
    assert caught.value.code == "out_of_order"


@pytest.mark.parametrize("document, field", [
    (Document("XYZ", "N1", "KAZ", "ordinary", D(2032, 1, 1)), "issuing_state"),
    (Document("KAZ", "N1", "QQQ", "ordinary", D(2032, 1, 1)), "nationality"),
    (Document("KAZ", "N-1!", "KAZ", "ordinary", D(2032, 1, 1)), "document_number"),
    (Document("KAZ", "N1", "KAZ", "tourist", D(2032, 1, 1)), "passport_type"),
])
def test_bad_documents_name_the_field(register, document, field):
    with pytest.raises(ValueError, match=field):
        register.record_entry(document, D(2025, 3, 1), officer="o", border_post=POST)


def test_a_german_at_a_vietnamese_desk_is_judged_under_the_unilateral_exemption(register):
    # Issue 9: Viet Nam exempts Germans for 45 days a stay (vnm-unilateral); day 45 from 1 March.
    decision = register.record_entry(Document("DEU", "C1", "DEU", "ordinary", D(2032, 1, 1)), D(2025, 3, 1),
                                     officer="o", border_post=POST)
    assert decision.admitted and decision.regime == "vnm-unilateral"
    assert decision.permitted_until == D(2025, 4, 14)


def test_a_traveller_no_vietnamese_regime_covers_gets_no_regime_not_a_refusal(register):
    # Issue 9: a USA citizen at a Vietnamese desk: no visa-free regime; never counted under vn-kz.
    decision = register.record_entry(Document("USA", "C2", "USA", "ordinary", D(2032, 1, 1)), D(2025, 3, 1),
                                     officer="o", border_post=POST)
    assert decision.outcome == "no_regime" and not decision.admitted and decision.regime is None
    assert decision.reasons == ("no_regime",) and "visa or permit" in decision.texts()[0]
    with register.engine.connect() as conn:
        row = conn.execute(select(s.decisions)).one()
    assert (row.outcome, row.regime, row.permitted_until) == ("no_regime", None, None)
    status = register.status(decision.traveller_key, D(2025, 3, 2), actor="t")
    assert status.regime is None and status.days_used is None and status.permitted_end is None
    assert register.overstayers(D(2025, 12, 1), actor="t") == []  # no end known: never an overstayer


def test_a_kazakh_at_a_vietnamese_desk_gets_the_regime_resolve_chooses(register):
    from visafree.engine import Question, Stay, resolve

    doc = kaz("K7")
    on = D(2025, 3, 1)
    decision = register.record_entry(doc, on, officer="o", border_post=POST)
    regimes = builtin_regimes()
    resolution = resolve(tuple(regimes.values()), Question(None, "KAZ", "VNM", on, passport=Passport("ordinary", doc.expires)))
    assert decision.regime == resolution.chosen and resolution.chosen in resolution.applicable
    assert decision.permitted_until == resolution.judged[0].entry_today.latest_exit
    # Of the regimes covering a Kazakh, the one chosen gives the latest exit.
    for judged in resolution.judged:
        assert judged.entry_today.latest_exit <= decision.permitted_until
    with register.engine.connect() as conn:
        assert conn.execute(select(s.decisions.c.regime)).scalar_one() == decision.regime
    # Judged under the regime recorded, the second stay's allowance follows the same rules.
    register.record_exit(doc, D(2025, 3, 20), officer="o", border_post=POST)
    again = register.record_entry(doc, D(2025, 4, 1), officer="o", border_post=POST)
    second = resolve(tuple(regimes.values()), Question(None, "KAZ", "VNM", D(2025, 4, 1), stays=(Stay(on, D(2025, 3, 20)),),
                                                      passport=Passport("ordinary", doc.expires)))
    assert (again.regime, again.permitted_until) == (second.chosen, second.judged[0].entry_today.latest_exit)


def test_overstayers_follow_extensions_and_shortenings(register):
    a = register.record_entry(kaz("A1"), D(2025, 4, 1), officer="o", border_post=POST)  # until 04-30
    b = register.record_entry(kaz("B2"), D(2025, 5, 20), officer="o", border_post=POST)  # until 06-18
    c = register.record_entry(kaz("C3"), D(2025, 4, 2), officer="o", border_post=POST)  # until 05-01
    register.record_exit(kaz("C3"), D(2025, 4, 20), officer="o", border_post=POST)
    on = D(2025, 5, 10)
    assert [o.traveller_key for o in register.overstayers(on, actor="t")] == [a.traveller_key]

    register.change_stay(a.traveller_key, "extension", D(2025, 5, 15), legal_basis="R7: flight cancelled (flood)", officer="o2")
    assert register.overstayers(on, actor="t") == []
    register.change_stay(b.traveller_key, "shortening", D(2025, 5, 25), legal_basis="R6: public order", officer="o2")
    late = register.overstayers(D(2025, 5, 27), actor="t")
    assert [(o.traveller_key, o.permitted_end, o.days_past_end, o.basis) for o in late] == [
        (a.traveller_key, D(2025, 5, 15), 12, "extension"), (b.traveller_key, D(2025, 5, 25), 2, "shortening")]
    # An exit on or before the day takes the traveller off the list; a later exit does not.
    register.record_exit(kaz("A1"), D(2025, 5, 30), officer="o", border_post=POST)
    assert [o.traveller_key for o in register.overstayers(D(2025, 5, 27), actor="t")] == [a.traveller_key, b.traveller_key]
    assert [o.traveller_key for o in register.overstayers(D(2025, 5, 30), actor="t")] == [b.traveller_key]
    assert c.traveller_key not in {o.traveller_key for o in register.overstayers(D(2025, 5, 30), actor="t")}


def test_stay_change_rules(register):
    d = register.record_entry(kaz(), D(2025, 4, 1), officer="o", border_post=POST)
    with pytest.raises(RegisterError, match="after the current end 2025-04-30"):
        register.change_stay(d.traveller_key, "extension", D(2025, 4, 20), legal_basis="x", officer="o")
    with pytest.raises(RegisterError, match="before the stay's entry"):
        register.change_stay(d.traveller_key, "shortening", D(2025, 3, 20), legal_basis="x", officer="o")
    with pytest.raises(RegisterError, match="legal_basis"):
        register.change_stay(d.traveller_key, "extension", D(2025, 5, 20), legal_basis=" ", officer="o")


def test_a_new_passport_is_a_new_traveller_until_an_officer_links_them(register):
    old, new = kaz("OLD1"), kaz("NEW2")
    register.record_entry(old, D(2025, 1, 1), officer="o", border_post=POST)
    register.record_exit(old, D(2025, 1, 30), officer="o", border_post=POST)
    register.record_entry(old, D(2025, 2, 1), officer="o", border_post=POST)
    register.record_exit(old, D(2025, 3, 2), officer="o", border_post=POST)
    register.record_entry(old, D(2025, 3, 4), officer="o", border_post=POST)
    register.record_exit(old, D(2025, 4, 2), officer="o", border_post=POST)
    old_key, new_key = register.key_of(old), register.key_of(new)
    assert old_key != new_key
    assert register.status(new_key, D(2025, 4, 10), actor="t").days_used is None  # nothing known of the new passport
    register.link_documents(old_key, new_key, reason="passport renewed; same name and birth date", officer="o")
    decision = register.record_entry(new, D(2025, 4, 10), officer="o", border_post=POST)
    assert not decision.admitted and decision.reasons == ("window_limit",)
    with register.engine.connect() as conn:
        link = conn.execute(select(s.document_links)).one()
    assert link.officer == "o" and "renewed" in link.reason
    # Withdrawing the link is recorded too, and separates the histories again.
    register.withdraw_link(link.id, reason="different person after all", officer="o3")
    separate = register.status(new_key, D(2025, 4, 10), actor="t")
    assert separate.keys == (new_key,) and separate.days_used is None  # its one entry was refused
    assert register.status(old_key, D(2025, 4, 10), actor="t").days_used == 90
    with register.engine.connect() as conn:
        assert [(r.corrects, r.withdraws) for r in conn.execute(select(s.document_links).order_by(s.document_links.c.id))] == [
            (None, False), (link.id, True)]


def test_correction_withdraws_without_deleting(register):
    first = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    register.correct_crossing(first.crossing_id, reason="wrong passport scanned", officer="o2")
    assert not register.status(first.traveller_key, D(2025, 3, 2), actor="t").in_country
    with register.engine.connect() as conn:
        rows = conn.execute(select(s.crossings.c.id, s.crossings.c.corrects, s.crossings.c.withdraws).order_by(s.crossings.c.id)).all()
    assert [(r.corrects, r.withdraws) for r in rows] == [(None, False), (first.crossing_id, True)]
    with pytest.raises(RegisterError, match="already corrected"):
        register.correct_crossing(first.crossing_id, reason="again", officer="o2")


def test_correction_moves_a_date(register):
    first = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    exit_ = register.record_exit(kaz(), D(2025, 3, 3), officer="o", border_post=POST)
    register.correct_crossing(exit_.crossing_id, reason="stamp misread", officer="o2", new_date=D(2025, 4, 3))
    history = register.history(first.traveller_key, actor="t", on=D(2025, 4, 5))
    assert [(x["entry"], x["exit"]) for x in history.stays] == [(D(2025, 3, 1), D(2025, 4, 3))]


def test_every_read_is_audited(register):
    d = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    register.status(d.traveller_key, D(2025, 3, 2), actor="auditor-1")
    register.history(d.traveller_key, actor="auditor-2")
    register.overstayers(D(2025, 5, 1), actor="auditor-3")
    actions = [(e["actor"], e["action"]) for e in reversed(register.audit_entries(traveller_key=d.traveller_key))]
    assert actions == [("o", "desk_entry"), ("auditor-1", "status"), ("auditor-2", "history"), ("auditor-3", "overstayers")]


def test_tokens_are_stored_as_hashes(register):
    token = register.create_token("officer", "alice", created_by="admin")
    assert register.authenticate(token).role == "officer"
    assert register.authenticate(token + "x") is None
    with register.engine.connect() as conn:
        stored = conn.execute(select(s.tokens.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    register.revoke_token(register.authenticate(token).id, revoked_by="admin")
    assert register.authenticate(token) is None


def test_raw_document_number_is_nowhere_in_the_database(register, register_url, tmp_path):
    secret = "Q7X3Z9W1K"
    register.record_entry(kaz(secret), D(2025, 3, 1), officer="o", border_post=POST)
    register.record_exit(kaz(secret), D(2025, 3, 5), officer="o", border_post=POST)
    key = register.key_of(kaz(secret))
    register.history(key, actor="t")
    register.engine.dispose()
    if register_url.startswith("sqlite"):
        path = register_url.removeprefix("sqlite:///")
        blob = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
        assert blob and secret.encode() not in blob
        assert key.encode() in blob  # the check looks at the right bytes
    else:
        with register.engine.connect() as conn:
            tables = conn.execute(text("SELECT string_agg(t::text, '|') FROM crossings t")).scalar()
            everything = "".join(
                conn.execute(text(f"SELECT coalesce(string_agg(t::text, '|'), '') FROM {name} t")).scalar() for name in
                ("crossings", "decisions", "stay_changes", "document_links", "audit_log"))
        assert key in tables and secret not in everything


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "keys" / "register.key"
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == first and len(first) >= 32
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key_file(path)


def test_config_from_environment(tmp_path):
    config = RegisterConfig.from_env({"VISAFREE_DATABASE_URL": f"sqlite:///{tmp_path}/r.sqlite"})
    assert config.key_file == tmp_path / "register.key"
    pg = RegisterConfig.from_env({"VISAFREE_DATABASE_URL": "postgresql://u@h/db", "VISAFREE_KEY_FILE": "/k"})
    assert pg.database_url.startswith("postgresql+psycopg://") and str(pg.key_file) == "/k"
    with pytest.raises(ConfigError, match="at least 32"):
        RegisterConfig.from_env({"VISAFREE_REGISTER_KEY": "short"}).load_key({"VISAFREE_REGISTER_KEY": "short"})
    assert RegisterConfig.from_env({}).database_url == "sqlite:///var/register.sqlite"


def test_the_key_decides_the_pseudonym(make_register):
    a = make_register()
    assert a.traveller_key("KAZ", "N1") == a.traveller_key("kaz", "n1<<")
    assert a.traveller_key("KAZ", "N1") != a.traveller_key("VNM", "N1")
    from visafree.register.service import Register
    other = Register(a.engine, b"another key of at least 32 chars!!", clock=a.clock)
    assert other.traveller_key("KAZ", "N1") != a.traveller_key("KAZ", "N1")


def test_offset_timestamps_become_the_destinations_local_date(register):
    from visafree.register.ingest import parse_row

    row = {"event_id": "e", "issuing_state": "KAZ", "document_number": "N1", "nationality": "KAZ",
           "direction": "entry", "border_post": "HAN", "time": "2025-03-01T17:30:00+00:00"}
    record = parse_row(register, row)  # 17:30 UTC is 00:30 the next day in Ha Noi (UTC+7)
    assert record["local_date"] == D(2025, 3, 2) and record["local_time"] == dt.time(0, 30)
    record = parse_row(register, {**row, "time": "2025-03-01T23:55"})  # local time as stamped
    assert record["local_date"] == D(2025, 3, 1)


#: Every column that holds a traveller's pseudonym or an event id (migration 0006).
IDENTIFIER_COLUMNS = {("crossings", "event_id"), ("crossings", "traveller_key"), ("decisions", "traveller_key"),
                      ("stay_changes", "traveller_key"), ("document_links", "traveller_key"),
                      ("document_links", "linked_key"), ("audit_log", "traveller_key")}


def test_keys_and_event_ids_compare_byte_for_byte(register):
    """Migration 0006: on PostgreSQL every identifier column has the "C" collation, and no
    other text column does (SQLite's text compares as bytes already: no collation declared)."""
    with register.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type IN ('character varying', 'text')").all()
            assert {(t, c) for t, c, collation in rows if collation == "C"} == IDENTIFIER_COLUMNS
        else:
            for table, _column in IDENTIFIER_COLUMNS:
                assert "COLLATE" not in conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar().upper()


def test_the_corrections_index_holds_only_corrections_and_serves_their_lookup(register):
    """Migration 0005: ix_crossings_corrects is partial (corrects IS NOT NULL), so an ingest keeps
    no entry for its rows, and the look-up of a crossing's correction still uses it."""
    first = register.record_entry(kaz(), D(2025, 3, 1), officer="o", border_post=POST)
    register.correct_crossing(first.crossing_id, reason="wrong passport scanned", officer="o2")
    lookup = f"SELECT id FROM crossings WHERE corrects = {int(first.crossing_id)}"
    with register.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_crossings_corrects'").scalar()
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {lookup}"))
        else:
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_crossings_corrects'").scalar()
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookup}"))
        assert "corrects IS NOT NULL" in definition.replace("(", "").replace(")", "")
        assert "ix_crossings_corrects" in plan
        assert conn.exec_driver_sql(lookup).scalar() is not None
