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
REGISTER_ALLOWED = {"mrz", "bearer", "token", "body", "issuing_state", "document_number", "traveller_key"}


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
