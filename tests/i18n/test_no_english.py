"""No English left in a Vietnamese, Russian or Kazakh answer: the README's journeys and every error
code, through the CLI and the API. A word counts as English when the English catalogue uses it;
codes, ids, formats and names (countries, regime ids) are allowed."""

import json
import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from visafree.cli import app as cli_app
from visafree.contract import ERROR_CODES
from visafree.i18n import catalogue, plural_catalogue, translator
from visafree.regimes import builtin_regimes

LANGS = ("vi", "ru", "kk")
WORD = r"[A-Za-z][A-Za-z_]{2,}"
REGIMES = builtin_regimes()
#: The countries the built-in regimes name: their names are the only proper names allowed.
COUNTRIES = {code for regime in REGIMES.values() for entry in regime.coverage
             for code in entry.nationalities | entry.destinations}
#: Codes, formats and keys a message may quote as they are.
ALLOWED = {
    "yyyy", "mm", "dd", "entry_day_counts", "true", "false", "rules", "json", "utf", "iso", "kaz", "vnm", "usa",
    "fra", "entry", "exit", "type", "expires", "lang", "visafree", "stays", "planned", "request", "post", "api",
    "check", "regimes", "regime", "stay", "from", "to", "on", "plan", "trip", "days", "passport", "file",
    "content", "length", *ERROR_CODES, "not_found", "method_not_allowed", "request_too_large", "no_regime",
}


def english_words() -> set[str]:
    texts = list(catalogue("en").values()) + [f for forms in plural_catalogue("en").values() for f in forms]
    return {w.lower() for text in texts for w in re.findall(WORD, text)}


ENGLISH = english_words()


def names(lang: str) -> set[str]:
    """Words of proper names a translation keeps: countries in that language, regime ids."""
    t = translator(lang)
    words = {w.lower() for code in COUNTRIES for w in re.findall(r"[A-Za-z]+", t.country(code))}
    words |= {w.lower() for rid in REGIMES for w in re.findall(r"[A-Za-z]+", rid)}
    return words


def leaks(text: str, lang: str) -> list[str]:
    # Option names (--from) and quoted input ('2025-02-30') are the user's own words.
    text = re.sub(r"--[a-z-]+|'[^']*'|`[^`]*`", " ", text)
    allowed = ALLOWED | names(lang)
    return sorted({w for w in re.findall(WORD, text) if w.lower() in ENGLISH and w.lower() not in allowed})


# The README's journeys (README.md, "A traveller's answers"), an overstay, Schengen, and no regime.
JOURNEYS = {
    "kazakh-tourist": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-01-10:2025-01-24", "--stay", "2025-03-01:2025-03-28",
                       "--stay", "2025-05-02:2025-05-30", "--on", "2025-06-10", "--plan", "2025-07-01:2025-07-31",
                       "--trip-days", "21", "--passport-expires", "2026-01-15"],
    "vietnamese-engineer": ["--from", "VNM", "--to", "KAZ", "--stay", "2025-02-03:2025-02-28", "--stay", "2025-03-05:2025-03-20",
                            "--stay", "2025-04-01:2025-04-30", "--stay", "2025-06-20:", "--on", "2025-07-05",
                            "--passport-expires", "2027-05-01"],
    "overstay": ["--regime", "vn-kz", "--from", "KAZ", "--to", "VNM", "--stay", "2025-03-01:2025-04-05", "--on", "2025-04-10",
                 "--plan", "2025-08-01:2025-09-15", "--trip-days", "200", "--passport-expires", "2025-06-01"],
    "schengen": ["--from", "USA", "--to", "FRA", "--stay", "2025-01-10:2025-03-01", "--stay", "2025-05-20:", "--on", "2025-06-01"],
    "no-regime": ["--from", "KAZ", "--to", "FRA", "--on", "2025-06-01"],
}
# One bad input per error code (and a few more for invalid_request), given on the command line.
BAD = {
    "invalid_date": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-02-30:2025-03-05", "--on", "2025-04-10"],
    "exit_before_entry": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-03-05:2025-03-01", "--on", "2025-04-10"],
    "overlapping_stays": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-03-01:2025-03-10", "--stay", "2025-03-05:2025-03-12",
                          "--on", "2025-04-10"],
    "multiple_open_stays": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-03-01:", "--stay", "2025-03-20:", "--on", "2025-04-10"],
    "unknown_regime": ["--regime", "zz-top", "--from", "KAZ", "--to", "VNM", "--on", "2025-04-10"],
    "invalid_request": ["--from", "KAZX", "--to", "VNM", "--on", "2025-04-10"],
    "invalid_request-span": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-03-01", "--on", "2025-04-10"],
    "invalid_request-future": ["--from", "KAZ", "--to", "VNM", "--stay", "2025-05-01:2025-05-03", "--on", "2025-04-10"],
    "invalid_request-nothing": [],
}


def run_cli(*args: str):
    return CliRunner().invoke(cli_app, ["check", *args], env={"COLUMNS": "300"})


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("journey", sorted(JOURNEYS))
def test_cli_answers_have_no_english(journey, lang):
    result = run_cli(*JOURNEYS[journey], "--lang", lang)
    assert result.exit_code in (0, 3), result.output
    assert len(result.output) > 80
    assert leaks(result.output, lang) == [], result.output


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_errors_have_no_english(case, lang):
    result = run_cli(*BAD[case], "--lang", lang)
    assert result.exit_code == 2, result.output
    code = case.split("-")[0]
    assert f"[{code}]" in result.output and "Traceback" not in result.output
    assert leaks(result.output, lang) == [], result.output
    as_json = json.loads(run_cli(*BAD[case], "--lang", lang, "--json").stdout.splitlines()[0])
    assert as_json["error"]["code"] == code and leaks(as_json["error"]["message"], lang) == []


def test_cli_unknown_language_is_a_clear_error():
    result = run_cli("--from", "KAZ", "--to", "VNM", "--lang", "de")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "unsupported language 'de'; expected one of vi, en, ru, kk" in " ".join(result.output.split())


@pytest.mark.parametrize("lang", LANGS)
def test_cli_regimes_listing_and_help_are_translated(lang):
    listing = CliRunner().invoke(cli_app, ["regimes", "--lang", lang], env={"COLUMNS": "300"})
    assert listing.exit_code == 0
    for header in ("Rule", "Content", "Parameters", "Source", "Covers", "In force"):
        assert translator(lang).gettext(header) in listing.output
    # The legal sources quote English texts; the labels are the CLI's own.
    assert not re.search(r"^  (covers|in force):", listing.output, re.M) and "┃ what" not in listing.output
    from visafree.cli.check import _help_language, install
    import typer

    assert _help_language(["check", "--lang", lang], {}) == lang
    assert _help_language([], {"LANG": f"{lang}_KZ.UTF-8"}) == lang
    local = typer.Typer()
    install(local, help_lang=lang)
    help_text = CliRunner().invoke(local, ["check", "--help"], env={"COLUMNS": "300"}).output
    assert translator(lang).gettext("Reference date (default: today).") in help_text
    assert "Reference date (default: today)." not in help_text


API_JOURNEYS = {
    "kazakh-tourist": {"nationality": "KAZ", "destination": "VNM", "on": "2025-06-10",
                       "stays": [{"entry": "2025-01-10", "exit": "2025-01-24"}, {"entry": "2025-03-01", "exit": "2025-03-28"},
                                 {"entry": "2025-05-02", "exit": "2025-05-30"}],
                       "planned": [{"entry": "2025-07-01", "exit": "2025-07-31"}], "trip_days": 21,
                       "passport": {"type": "ordinary", "expires": "2026-01-15"}},
    "vietnamese-engineer": {"nationality": "VNM", "destination": "KAZ", "on": "2025-07-05",
                            "stays": [{"entry": "2025-02-03", "exit": "2025-02-28"}, {"entry": "2025-03-05", "exit": "2025-03-20"},
                                      {"entry": "2025-04-01", "exit": "2025-04-30"}, {"entry": "2025-06-20"}],
                            "passport": {"type": "ordinary", "expires": "2027-05-01"}},
    "overstay-diplomatic": {"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                            "stays": [{"entry": "2025-03-01", "exit": "2025-04-05"}],
                            "passport": {"type": "diplomatic", "expires": "2025-06-01", "issued": "2010-01-01"}},
    "no-regime": {"nationality": "KAZ", "destination": "FRA", "on": "2025-06-01"},
}
API_BAD = {
    "invalid_date": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10", "stays": [{"entry": "2025-02-30"}]},
    "exit_before_entry": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                          "stays": [{"entry": "2025-03-05", "exit": "2025-03-01"}]},
    "overlapping_stays": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                          "stays": [{"entry": "2025-03-01", "exit": "2025-03-10"}, {"entry": "2025-03-05", "exit": "2025-03-12"}]},
    "multiple_open_stays": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                            "stays": [{"entry": "2025-03-01"}, {"entry": "2025-03-20"}]},
    "unknown_regime": {"regime": "zz-top", "nationality": "KAZ", "destination": "VNM", "on": "2025-04-10"},
    "invalid_request": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10", "colour": "red"},
    "invalid_request-planned": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                                "planned": [{"entry": "2025-03-01", "exit": "2025-03-03"}]},
    "invalid_request-range": {"nationality": "KAZ", "destination": "VNM", "on": "2300-01-01"},
    "invalid_request-passport": {"nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
                                 "passport": {"type": "golden", "expires": "2030-01-01"}},
}


@pytest.fixture(scope="module")
def client():
    from visafree.api.app import create_app

    return TestClient(create_app(include_optional=False))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("journey", sorted(API_JOURNEYS))
def test_api_answers_have_no_english(client, journey, lang):
    r = client.post("/api/v1/check", json=API_JOURNEYS[journey], headers={"Accept-Language": lang})
    assert r.status_code == 200 and r.headers["content-language"] == lang
    body = r.json()
    texts = [n["text"] for n in body["explanation"]] + list(body.get("display", {}).get("reasons", {}).values())
    assert texts
    for text in texts:
        assert leaks(text, lang) == [], text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(API_BAD))
def test_api_errors_have_no_english(client, case, lang):
    r = client.post(f"/api/v1/check?lang={lang}", json=API_BAD[case])
    assert r.status_code == 422 and r.headers["content-language"] == lang
    error = r.json()["error"]
    assert error["code"] == case.split("-")[0]
    assert leaks(error["message"], lang) == [], error["message"]
    english = client.post("/api/v1/check", json=API_BAD[case]).json()["error"]
    assert error["message"] != english["message"] and error["field"] == english["field"]


@pytest.mark.parametrize("lang", LANGS)
def test_api_http_errors_have_no_english(client, lang):
    headers = {"Accept-Language": f"{lang},en;q=0.5"}
    answers = {
        "not_found": client.get("/no/such/page", headers=headers),
        "method_not_allowed": client.put("/api/v1/check", headers=headers),
        "request_too_large": client.post("/api/v1/check", content=b"x" * 300_000, headers=headers),
        "invalid_request": client.get("/api/v1/calendar.ics?nationality=KAZ", headers=headers),
    }
    for code, r in answers.items():
        assert r.json()["error"]["code"] == code and r.headers["content-language"] == lang
        assert leaks(r.json()["error"]["message"], lang) == [], r.json()


def test_english_stays_english(client):
    r = client.post("/api/v1/check", json=API_BAD["invalid_date"])
    assert r.json()["error"]["message"] == "stays[0].entry: '2025-02-30' is not a date (YYYY-MM-DD)"
    assert r.headers["content-language"] == "en"


# The border register (issue 12): the desk's lines and errors, and the register API's error messages.
REGISTER_ALLOWED = {"mrz", "bearer", "token", "body", "issuing_state", "document_number", "traveller_key",
                    # codes and values a reader types as they are (--help, ids, file formats)
                    "ordinary", "diplomatic", "service", "official", "single", "double", "multiple", "short_stay",
                    "e_visa", "transit", "on_arrival", "other", "officer", "auditor", "admin", "history", "csv",
                    "jsonl", "parquet", "rejects", "user", "cli", "icao", "mrv", "docs", "basis", "md", "td1", "td2"}


@pytest.mark.parametrize("lang", LANGS)
def test_register_cli_and_api_errors_have_no_english(lang, tmp_path, monkeypatch):
    import datetime as dt

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from visafree.register import open_register
    from visafree.register.api import get_register, router
    from visafree.register.mrz import make_td3

    monkeypatch.chdir(tmp_path)
    for name in ("VISAFREE_DATABASE_URL", "VISAFREE_REGISTER_KEY", "VISAFREE_KEY_FILE", "VISAFREE_REGISTER_COUNTRY", "VISAFREE_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    line1, line2 = make_td3(issuing_state="KAZ", document_number="N12345678", nationality="KAZ",
                            birth=dt.date(1990, 1, 2), expires=dt.date(2030, 5, 6))
    bad2 = line2[:-1] + ("0" if line2[-1] != "0" else "1")

    def reg(*args):
        return CliRunner().invoke(cli_app, ["register", "--lang", lang, *args], catch_exceptions=False)

    assert reg("init").exit_code == 0
    passport = ("--mrz", line1, "--mrz", line2)
    outputs = [
        reg("entry", "--post", "HAN", "--date", "2026-10-01", *passport),
        reg("status", *passport, "--on", "2026-10-05"),
        reg("exit", "--post", "HAN", "--date", "2026-11-26", *passport),
        reg("entry", "--post", "HAN", "--mrz", line1, "--mrz", bad2),
        reg("entry", "--post", "HAN", "--mrz", line1),
        reg("entry", "--post", "HAN", "--date", "2026-02-30", *passport),
        reg("entry", "--post", "HAN"),
    ]
    for result in outputs:
        # Notes of the engine are the traveller's explanation (translated in the traveller CLI).
        lines = [line for line in result.output.splitlines() if not line.startswith("  ") or "next" in line]
        assert [w for w in leaks("\n".join(lines), lang) if w.lower() not in REGISTER_ALLOWED] == [], result.output

    web = FastAPI()
    web.include_router(router)
    register = open_register()
    web.dependency_overrides[get_register] = lambda: register
    with TestClient(web) as client:
        token = register.create_token("officer", "desk", created_by="test")
        auth = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
        answers = [
            client.post("/api/v1/register/status", json={}, headers={"Accept-Language": lang}),
            client.post("/api/v1/register/status", json={}, headers=auth),
            client.post("/api/v1/register/entries", json={"passport": {"mrz": [line1, bad2]}, "date": "2026-10-01",
                                                          "border_post": "HAN"}, headers=auth),
            client.post("/api/v1/register/entries", json={"passport": {}, "date": "2026-10-01", "border_post": "HAN"},
                        headers=auth),
            client.post("/api/v1/register/entries", json={"date": "x"}, headers=auth),
        ]
    for answer in answers:
        assert answer.status_code in (401, 422) and answer.headers["content-language"] == lang
        message = answer.json()["error"]["message"]
        assert [w for w in leaks(message, lang) if w.lower() not in REGISTER_ALLOWED] == [], message


def _no_register_english(text: str, lang: str) -> list[str]:
    # Event ids ("desk-<uuid>", "…#correction-<hex>") are ids, not words.
    text = re.sub(r"desk-[0-9a-f-]+(#correction-[0-9a-f]+)?|#correction-[0-9a-f]+", " ", text)
    return [w for w in leaks(text, lang) if w.lower() not in REGISTER_ALLOWED]


@pytest.mark.parametrize("lang", LANGS)
def test_register_tables_notes_and_errors_have_no_english(lang, tmp_path, monkeypatch, wide_console):
    """The register's tables (history, review, audit, token list, overstayers) with their cells,
    the desk's notes (stored as codes, said in the language), the status and every register
    error code: no English in vi, ru, kk (issue 12)."""
    import datetime as dt
    import json as json_

    from visafree.register import open_register
    from visafree.register.mrz import make_td3
    from visafree.register.words import REGISTER_ERRORS, error_message

    monkeypatch.chdir(tmp_path)
    for name in ("VISAFREE_DATABASE_URL", "VISAFREE_REGISTER_KEY", "VISAFREE_KEY_FILE", "VISAFREE_REGISTER_COUNTRY", "VISAFREE_LANG"):
        monkeypatch.delenv(name, raising=False)
    line1, line2 = make_td3(issuing_state="KAZ", document_number="N12345678", nationality="KAZ",
                            birth=dt.date(1990, 1, 2), expires=dt.date(2030, 5, 6))
    other1, other2 = make_td3(issuing_state="KAZ", document_number="N87654321", nationality="KAZ",
                              birth=dt.date(1991, 3, 4), expires=dt.date(2030, 5, 6))

    def reg(*args):
        return CliRunner().invoke(cli_app, ["register", "--lang", lang, *args], catch_exceptions=False)

    assert reg("init").exit_code == 0
    passport = ("--mrz", line1, "--mrz", line2)
    assert reg("entry", "--post", "HAN", "--date", "2026-08-01", *passport).exit_code == 0
    assert reg("exit", "--post", "HAN", "--date", "2026-08-10", *passport).exit_code == 0
    entry = reg("entry", "--post", "HAN", "--date", "2026-10-01", *passport)
    assert entry.exit_code == 0
    refused = reg("entry", "--post", "HAN", "--date", "2026-10-01", "--refuse", "12/2026", "--mrz", other1, "--mrz", other2)
    assert refused.exit_code == 1
    t = translator(lang)
    # The notes are the engine's codes said in the language: the R3 leave-by line, and the officer's R6 refusal.
    assert t.gettext("Entry refused by the officer under R6: {basis}").format(basis="12/2026") in refused.output
    assert "Leave by" not in entry.output and t.format_date(dt.date(2026, 10, 30)) in entry.output
    register = open_register()
    key = register.key_of(register_document(line1, line2, register))
    crossings = register.history(key, actor="test").crossings
    exit_id = next(c["id"] for c in crossings if c["direction"] == "exit")
    assert reg("correct", str(exit_id), "--reason", "QĐ-5", "--date", "2026-08-12").exit_code == 0
    assert reg("extend", "--until", "2026-11-20", "--basis", "R7 5/2026", *passport).exit_code == 0
    assert reg("token", "create", "--role", "auditor", "--label", "A1").exit_code == 0
    outputs = {
        "history": reg("history", *passport, "--on", "2026-10-05"),
        "status": reg("status", *passport, "--on", "2026-10-05"),
        "review": reg("review"),
        "audit": reg("audit"),
        "token list": reg("token", "list"),
        "overstayers": reg("overstayers", "--on", "2026-12-01"),
        "refused": refused, "entry": entry,
    }
    for name, result in outputs.items():
        assert result.exit_code == 0 or name == "refused", (name, result.output)
        assert _no_register_english(result.output, lang) == [], (name, result.output)
    for header in ("source", "decision", "reasons", "event"):
        assert t.gettext(header) in outputs["history"].output
    for header in ("desk", "desk end", "end now"):
        assert t.gettext(header) in outputs["review"].output
    for header, cell in (("role", "cell.auditor"), ("created by", "cell.admin")):
        assert t.gettext(header) in outputs["token list"].output or t.gettext(cell) in outputs["token list"].output
    assert t.gettext("cell.desk_entry") in outputs["audit"].output
    assert t.gettext("cell.admit") in outputs["history"].output and t.gettext("value.visa_free") not in ("visa_free",)
    # The review shows the desk's notes as stored, in the language; the JSON keeps the codes.
    assert t.gettext("decision {id}: {note}").split("{")[0] in outputs["review"].output
    as_json = json_.loads(reg("review", "--json").stdout)
    assert as_json and all("code" in n for item in as_json for n in item["desk_notes"])
    # Every register error code has its own catalogued message in the language.
    for code in REGISTER_ERRORS:
        said = error_message(lang, RuntimeError(code), f"{code}: a refusal written whole in English")
        said_for = getattr(type("E", (Exception,), {"code": code}), "code")
        said = error_message(lang, type("E", (Exception,), {"code": code})("x"), "x: written whole in English")
        assert said == t.gettext("register.error." + code) != "register.error." + code and said_for == code
        assert _no_register_english(said, lang) == [], (code, said)
    assert len({t.gettext("register.error." + c) for c in REGISTER_ERRORS}) == len(REGISTER_ERRORS)


def register_document(line1, line2, register):
    from visafree.register.api import document_from_mrz

    return document_from_mrz([line1, line2], register.local_today())


@pytest.mark.parametrize("lang", LANGS)
def test_register_help_is_translated(lang):
    """`visafree register --help` and its commands' help through the traveller CLI's mechanism
    (visafree.cli.check._help_language, _Words): every help text of the register in the language."""
    import typer

    from visafree.cli import register as register_cli

    from visafree.cli import check as check_cli

    t = translator(lang)
    local = typer.Typer()
    check_cli.install(local, help_lang=lang)  # as visafree.cli does: the panels' titles, then the layers
    register_cli.install(local, help_lang=lang)
    # Command names are typed as they are.
    commands = {c.name or c.callback.__name__.strip("_") for a in (register_cli.register_app, register_cli.token_app)
                for c in a.registered_commands} | {"rotate", "key", "token", "exit"}
    try:
        pages = {args: " ".join(CliRunner().invoke(local, ["register", *args, "--help"], env={"COLUMNS": "400"}).output.split())
                 for args in ((), ("entry",), ("history",), ("ingest",), ("token",), ("token", "create"))}
        sources = set(register_cli._HELP_SOURCES.values())
        assert len(sources) > 50
        for source in sources:
            assert t.gettext(source) != source, source
        assert " ".join(t.gettext(register_cli.REGISTER_HELP).split()) in pages[()]
        assert " ".join(t.gettext("Border post.").split()) in pages[("entry",)]
        assert " ".join(t.gettext(register_cli.TOKEN_HELP).split()) in pages[("token",)]
        for page in pages.values():
            assert "Border post." not in page and "The border register:" not in page and "(audited)" not in page
            # Click's own words: the usage line and --help's text.
            page = re.sub(r"Usage: root( [a-z-]+)* \[OPTIONS\]( COMMAND \[ARGS\]\.\.\.)?|Show this message and exit\.", " ", page)
            page = re.sub(r"\$[A-Z_]+|<[a-z ]+>|\{path\}|\bpath\b", " ", page)  # variables, metavars, argument names
            assert [w for w in _no_register_english(page, lang) if w.lower() not in commands] == [], page
    finally:
        check_cli.install(typer.Typer(), help_lang="en")
        register_cli.install(typer.Typer(), help_lang="en")  # the shared option objects back in English
