"""The register in vi, ru and kk (issue 12): CLI outcome lines, errors, the API's error messages
and the MRZ reader's errors through the catalogues, in docs/glossary.md's terms; codes, fields,
JSON and English output unchanged; no document number or MRZ value in any language."""

import datetime as dt
import re
import string

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from visafree.cli import app
from visafree.i18n import translator
from visafree.regimes import builtin_regimes
from visafree.register.api import get_register, router
from visafree.register.mrz import LABELS, MRZ_ERRORS, MRZError, read_mrz

from .helpers import D, mrz

LANGS = ("vi", "ru", "kk")
NUMBER = "N12345678"
LINE1, LINE2 = mrz(NUMBER, dt.date(2030, 5, 6))
#: The glossary's words for "stay" / "overstay" / "host country" (docs/glossary.md).
STAY = {"vi": "tạm trú", "ru": "пребывани", "kk": "болу"}
HOST = {"vi": "nước sở tại", "ru": "стране пребывания", "kk": "болу ел"}


@pytest.fixture
def fresh(tmp_path, monkeypatch, wide_console):
    monkeypatch.chdir(tmp_path)
    for name in ("VISAFREE_DATABASE_URL", "VISAFREE_REGISTER_KEY", "VISAFREE_KEY_FILE", "VISAFREE_REGISTER_COUNTRY",
                 "VISAFREE_OFFICER", "VISAFREE_LANG"):
        monkeypatch.delenv(name, raising=False)
    assert CliRunner().invoke(app, ["register", "init"]).exit_code == 0
    return tmp_path


def run(lang, *args):
    return CliRunner().invoke(app, ["register", "--lang", lang, *args], catch_exceptions=False)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", LANGS)
def test_desk_journey_is_said_in_the_language(fresh, lang):
    t = translator(lang)
    passport = ("--mrz", LINE1, "--mrz", LINE2)
    entry = run(lang, "entry", "--post", "Noi Bai", "--date", "2026-10-01", *passport)
    assert entry.exit_code == 0, entry.output
    # R3: day 30 of the stay is the last one (vn-kz); the dates written as the language writes them.
    admitted = t.gettext("{entry}: permitted until {until} (limited by {limited_by}; regime {regime}{on_basis})").format(
        entry=t.format_date(D(2026, 10, 1)), until=t.format_date(D(2026, 10, 30)), limited_by=t.reason("per_stay_limit"),
        regime=t.title(builtin_regimes()["vn-kz"]), on_basis="")
    assert f"{t.gettext('ADMIT')} {admitted}" in entry.output
    assert "ADMIT" not in entry.output and "permitted until" not in entry.output and "vn-kz" not in entry.output

    status = run(lang, "status", *passport, "--on", "2026-10-05")
    assert HOST[lang] in status.output and t.format_date(D(2026, 10, 30)) in status.output
    assert "in the country" not in status.output and "window" not in status.output

    table = run(lang, "overstayers", "--on", "2026-11-26")
    assert t.gettext("Overstayers on {day}: {count}").format(day=t.format_date(D(2026, 11, 26)), count=1) in table.output

    out = run(lang, "exit", "--post", "Noi Bai", "--date", "2026-11-26", *passport)
    # 27 days past 2026-10-30 (R5: the exit day counts), in the plural form the language gives 27.
    assert t.npgettext("register", "{n} day past the permitted end", "{n} days past the permitted end", 27).format(n=27) \
        in out.output
    assert STAY[lang] in out.output and "past the permitted end" not in out.output
    everything = entry.output + status.output + table.output + out.output
    assert NUMBER not in everything and LINE2 not in everything


def test_english_lines_are_unchanged(fresh):
    entry = run("en", "entry", "--post", "Noi Bai", "--date", "2026-10-01", "--mrz", LINE1, "--mrz", LINE2)
    assert "ADMIT 2026-10-01 — permitted until 2026-10-30 (limited by per_stay_limit; regime vn-kz)" in entry.output
    status = run("en", "status", "--mrz", LINE1, "--mrz", LINE2, "--on", "2026-10-05")
    assert "in the country since 2026-10-01; permitted until 2026-10-30" in status.output


def test_language_from_the_environment_and_unknown_language(fresh, monkeypatch):
    monkeypatch.setenv("VISAFREE_LANG", "ru")
    result = CliRunner().invoke(app, ["register", "entry", "--post", "X", "--date", "2026-02-30"])
    assert result.exit_code == 2 and "ошибка:" in result.output
    unknown = run("de", "status", "--key", "a" * 64)
    assert unknown.exit_code == 2
    assert "unsupported language 'de'; expected one of vi, en, ru, kk" in " ".join(unknown.output.split())


@pytest.mark.parametrize("lang", LANGS)
def test_cli_errors_are_translated_and_echo_no_mrz(fresh, lang):
    bad = LINE2[:-1] + ("0" if LINE2[-1] != "0" else "1")  # composite check digit wrong
    result = run(lang, "entry", "--post", "X", "--mrz", LINE1, "--mrz", bad)
    assert result.exit_code == 2
    t = translator(lang)
    expected = t.gettext(MRZ_ERRORS["mrz_check_digit"]).format(label=t.gettext(LABELS["composite"]))
    assert expected in " ".join(result.output.split())
    assert "check digit" not in result.output and NUMBER not in result.output and bad not in result.output
    date = run(lang, "entry", "--post", "X", "--mrz", LINE1, "--mrz", LINE2, "--date", "2026-02-30")
    assert "is not a real date" not in date.output and "'2026-02-30'" in date.output


@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_every_mrz_error_and_label_is_in_the_catalogue_with_the_same_placeholders(lang):
    t = translator(lang)
    for code, template in MRZ_ERRORS.items():
        said = t.gettext(template)
        assert fields(said) == fields(template), (lang, code)
        assert (said == template) == (lang == "en"), (lang, code)
    for label in LABELS.values():
        assert (t.gettext(label) == label) == (lang == "en"), (lang, label)


@pytest.mark.parametrize("lang", LANGS)
def test_mrz_error_from_the_reader_is_said_whole(lang):
    from visafree.register.words import error_message

    with pytest.raises(MRZError) as caught:
        read_mrz([LINE1, LINE2[:30]], reference_date=D(2026, 1, 1))
    said = error_message(lang, caught.value, str(caught.value))
    assert said != str(caught.value) and not re.search(r"[A-Z]{3}\d", said)


@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_russian_plural_forms_of_days_past_the_end(lang):
    t = translator(lang)
    forms = {n: t.npgettext("register", "{n} day past the permitted end", "{n} days past the permitted end", n)
             for n in (1, 2, 5, 21, 22, 25, 111)}
    if lang == "ru":
        assert [forms[n].split()[-1] for n in (1, 2, 5, 21, 22, 25, 111)] == \
            ["день", "дня", "дней", "день", "дня", "дней", "дней"]
    if lang == "en":
        assert forms[1] == "{n} day past the permitted end" and forms[2] == "{n} days past the permitted end"


@pytest.fixture
def api(register):
    web = FastAPI()
    web.include_router(router)
    web.dependency_overrides[get_register] = lambda: register
    token = register.create_token("officer", "desk", created_by="test")
    with TestClient(web) as client:
        yield client, token


@pytest.mark.parametrize("lang", LANGS)
def test_api_errors_follow_accept_language_and_lang(api, lang):
    client, token = api
    t = translator(lang)
    # No token: 401 in the language asked by Accept-Language, code and field unchanged.
    anon = client.post("/api/v1/register/status", json={"traveller_key": "a" * 64}, headers={"Accept-Language": f"{lang},en;q=0.5"})
    assert anon.status_code == 401 and anon.headers["content-language"] == lang
    assert anon.json()["error"] == {"code": "unauthorized", "message": t.gettext("a valid bearer token is required"), "field": None}
    # A bad MRZ: 422 via ?lang=, the MRZ error's own template, no value read from the document.
    bad = LINE2[:-1] + ("0" if LINE2[-1] != "0" else "1")
    body = {"passport": {"mrz": [LINE1, bad]}, "date": "2026-10-01", "border_post": "HAN"}
    refused = client.post(f"/api/v1/register/entries?lang={lang}", json=body, headers={"Authorization": f"Bearer {token}"})
    error = refused.json()["error"]
    assert refused.status_code == 422 and refused.headers["content-language"] == lang
    assert error["message"] == t.gettext(MRZ_ERRORS["mrz_check_digit"]).format(label=t.gettext(LABELS["composite"]))
    assert NUMBER not in refused.text and bad not in refused.text
    missing = client.post("/api/v1/register/status", json={}, headers={"Authorization": f"Bearer {token}", "Accept-Language": lang})
    assert missing.status_code == 422 and missing.json()["error"]["message"] != "give passport or traveller_key"


def test_api_errors_stay_english_by_default(api):
    client, token = api
    anon = client.post("/api/v1/register/status", json={"traveller_key": "a" * 64})
    assert anon.headers["content-language"] == "en"
    assert anon.json()["error"]["message"] == "a valid bearer token is required"


def test_register_block_is_in_all_four_catalogues():
    from pathlib import Path

    import visafree.i18n as i18n

    blocks = {}
    for lang in ("vi", "en", "ru", "kk"):
        text = (Path(i18n.__file__).parent / "locales" / lang / "LC_MESSAGES" / "visafree.po").read_text("utf-8")
        assert text.count("# register (issue 12)") == 1
        blocks[lang] = re.findall(r'^msgid "(.*)"$', text.split("# register (issue 12)")[1], re.M)
    assert blocks["vi"] == blocks["en"] == blocks["ru"] == blocks["kk"] and len(blocks["en"]) > 60


@pytest.mark.parametrize("lang", LANGS)
def test_api_no_regime_next_step_is_said_in_the_language(api, lang):
    client, token = api
    passport = {"issuing_state": "USA", "document_number": "X1234567", "nationality": "USA", "expires": "2032-01-01"}
    answer = client.post(f"/api/v1/register/entries?lang={lang}", json={"passport": passport, "date": "2025-03-01",
                                                                         "border_post": "HAN"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["decision"] == "no_regime"
    step = answer.json()["next_step"]
    assert step == {"message": translator(lang).gettext("no visa-free regime known: check a visa or permit"),
                    "resend_with": "basis"}
    assert step["message"] != "no visa-free regime known: check a visa or permit" and "X1234567" not in answer.text


# The desk's notes are stored with the decision as codes and params (decisions.notes, migration
# 0004), on SQLite and PostgreSQL, and said in the reader's language wherever they are shown.
def test_desk_notes_are_stored_as_codes_and_said_in_each_language(register):
    import json as json_

    from sqlalchemy import select

    from visafree.register import notes as desk_notes
    from visafree.register import schema as s

    from .helpers import kaz

    first = register.record_entry(kaz("N1"), D(2025, 3, 1), officer="o", border_post="HAN")
    assert first.admitted and first.permitted_until == D(2025, 3, 30)
    codes = [n["code"] for n in first.notes]
    assert "latest_exit_per_stay" in codes and all(set(n) == {"code", "rule", "params"} for n in first.notes)
    refused = register.record_entry(kaz("N2"), D(2025, 3, 1), officer="o", border_post="HAN", refuse_basis="QĐ 12/2025")
    with register.engine.connect() as conn:
        stored = dict(conn.execute(select(s.decisions.c.crossing_id, s.decisions.c.notes)).all())
    # Codes and params, never a sentence: the English text is not what the row holds.
    leave = next(n for n in json_.loads(stored[first.crossing_id]) if n["code"] == "latest_exit_per_stay")
    assert leave["params"]["date"] == {"$date": "2025-03-30"} and "Leave by" not in stored[first.crossing_id]
    assert json_.loads(stored[refused.crossing_id])[-1] == {"code": "desk_officer_refusal", "rule": "R6",
                                                            "params": {"basis": "QĐ 12/2025"}}
    # The same event again answers the stored decision with its notes.
    again = register.record_entry(kaz("N1"), D(2025, 3, 1), officer="o", border_post="HAN", event_id=first.event_id)
    assert again.repeated and again.notes == first.notes
    for lang in LANGS:
        t = translator(lang)
        said = first.texts(lang)
        # The R3 line with the date as the language writes it, the regime by its title, never its id.
        assert any(t.format_date(D(2025, 3, 30)) in line for line in said), said
        assert not any("vn-kz" in line or "Leave by" in line for line in said), said
        assert refused.texts(lang)[-1] == t.gettext("Entry refused by the officer under R6: {basis}").format(basis="QĐ 12/2025")
        history = register.history(first.traveller_key, actor="t", on=D(2025, 3, 2))
        assert desk_notes.texts(lang, history.crossings[0]["notes"], history.crossings[0]["regime"]) == said
    assert first.texts("en") == [desk_notes.render("en", n) for n in first.notes]
    assert any(line.startswith("Leave by 2025-03-30") for line in first.texts("en"))


def test_migration_0004_keeps_decisions_made_before_it_readable(make_register):
    """A register at revision 0003 (no decisions.notes) upgraded to the head: its decisions read as
    before (no notes), a value that is not coded JSON is shown as stored, new ones store codes."""
    from alembic import command
    from sqlalchemy import text, update

    from visafree.register import schema as s
    from visafree.register.db import _alembic_config, current_revision, head_revision, migrate

    from .helpers import kaz

    register = make_register()
    old = register.record_entry(kaz("N1"), D(2025, 3, 1), officer="o", border_post="HAN")
    with register.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0003")
    assert current_revision(register.engine) == "0003"
    with register.engine.connect() as conn:
        assert "notes" not in {c["name"] for c in __import__("sqlalchemy").inspect(conn).get_columns("decisions")}
    try:
        assert migrate(register.engine) == head_revision() == "0007"
        history = register.history(old.traveller_key, actor="t", on=D(2025, 3, 2))
        assert history.crossings[0]["decision"] == "admit" and history.crossings[0]["notes"] == ()
        repeated = register.record_entry(kaz("N1"), D(2025, 3, 1), officer="o", border_post="HAN", event_id=old.event_id)
        assert repeated.repeated and repeated.notes == () and repeated.permitted_until == D(2025, 3, 30)
        with register.engine.begin() as conn:
            conn.execute(update(s.decisions).where(s.decisions.c.crossing_id == old.crossing_id)
                         .values(notes="Leave by 2025-03-30: it is day 30 of the stay"))
        history = register.history(old.traveller_key, actor="t", on=D(2025, 3, 2))
        assert history.crossings[0]["notes"] == ({"text": "Leave by 2025-03-30: it is day 30 of the stay"},)
        new = register.record_entry(kaz("N2"), D(2025, 3, 1), officer="o", border_post="HAN")
        assert any(n["code"] == "latest_exit_per_stay" for n in new.notes)
        with register.engine.connect() as conn:
            assert conn.execute(text("SELECT notes FROM decisions WHERE crossing_id = :i"),
                                {"i": new.crossing_id}).scalar().startswith('[{"code"')
    finally:
        migrate(register.engine)


@pytest.mark.parametrize("lang", LANGS)
def test_api_answers_notes_and_status_in_the_language(lang, register):
    from visafree.register.notes import REGISTER_NOTES

    web = FastAPI()
    web.include_router(router)
    web.dependency_overrides[get_register] = lambda: register
    token = register.create_token("officer", "desk", created_by="test")
    t = translator(lang)
    with TestClient(web) as client:
        auth = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
        body = {"passport": {"issuing_state": "KAZ", "document_number": "N7", "nationality": "KAZ",
                             "expires": "2032-01-01"}, "date": "2025-03-01", "border_post": "HAN", "refuse_basis": "QĐ 1"}
        answer = client.post("/api/v1/register/entries", json=body, headers=auth)
        assert answer.status_code == 200 and answer.headers["content-language"] == lang
        data = answer.json()
        assert data["notes"][-1] == t.gettext(REGISTER_NOTES["desk_officer_refusal"]).format(basis="QĐ 1")
        assert data["note_codes"][-1] == {"code": "desk_officer_refusal", "rule": "R6", "params": {"basis": "QĐ 1"}}
        history = client.post("/api/v1/register/history", json={"traveller_key": data["traveller_key"], "on": "2025-03-02"},
                              headers=auth)
        assert history.headers["content-language"] == lang
        crossing = history.json()["crossings"][0]
        assert crossing["notes"] == data["notes"] and crossing["note_codes"] == data["note_codes"]
