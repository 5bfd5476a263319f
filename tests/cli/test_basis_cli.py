"""`visafree check` with stays on a visa or a permit (docs/basis.md, issue 13): the @ suffix of
--stay and --plan means the same as the v1 request's `basis`, the answer names the basis, and a
Vietnamese, Russian or Kazakh reader sees no English."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from visafree.cli import app as cli_app
from visafree.i18n import translator

# The no-English check of tests/i18n (one definition of what an English leak is).
_spec = importlib.util.spec_from_file_location("no_english", Path(__file__).parents[1] / "i18n" / "test_no_english.py")
no_english = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(no_english)

# The README's visa example: a Kazakh in Viet Nam on a 90-day single-entry e-visa.
E_VISA = ["--from", "KAZ", "--to", "VNM", "--stay", "2025-01-10:2025-02-05",
          "--stay", "2025-03-01:@visa:2025-02-20:2025-05-20:single:90:e_visa", "--on", "2025-04-20",
          "--plan", "2025-06-01:2025-07-15"]
E_VISA_REQUEST = {
    "nationality": "KAZ", "destination": "VNM", "on": "2025-04-20",
    "stays": [{"entry": "2025-01-10", "exit": "2025-02-05"},
              {"entry": "2025-03-01", "basis": {"type": "visa", "valid_from": "2025-02-20", "valid_until": "2025-05-20",
                                                "entries": "single", "duration_days": 90, "kind": "e_visa"}}],
    "planned": [{"entry": "2025-06-01", "exit": "2025-07-15"}],
}
PERMIT = ["--regime", "schengen", "--from", "USA", "--to", "FRA", "--stay", "2024-09-01:2025-02-28@permit:2025-02-28",
          "--stay", "2025-03-01:", "--on", "2025-05-01"]


def run_cli(*args: str):
    return CliRunner().invoke(cli_app, ["check", *args], env={"COLUMNS": "300"})


def test_the_suffix_and_the_request_give_the_same_answer(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(E_VISA_REQUEST))
    from_flags = run_cli(*E_VISA, "--json")
    from_file = run_cli(str(request), "--json")
    assert from_flags.exit_code == from_file.exit_code == 0, from_flags.output
    body = json.loads(from_flags.stdout)
    assert body == json.loads(from_file.stdout)
    # On the visa from 1 March: day 51 on 20 April; the visa ends on 20 May, before its 90th day
    # (29 May) and before the window would (78 of 90 days used, R4 does not limit a visa stay here).
    assert body["current_stay"]["basis"] == "visa"
    assert (body["current_stay"]["latest_exit"], body["current_stay"]["limited_by"]) == ("2025-05-20", "visa_validity")
    assert body["stays"][1]["basis"] == "visa" and body["overstay_days"] == 0
    # The planned 45-day trip from 1 June: R3 would cover 30 days, but the window holds 78 days
    # already (the visa days count, RULES.md §2), so 12 more, to 12 June; a visa for the other 33.
    planned = body["planned"][0]
    assert (planned["latest_exit"], planned["visa_needed_days"], planned["visa_needed_from"]) == ("2025-06-12", 33, "2025-06-13")


def test_a_permit_suffix_leaves_its_days_out():
    result = run_cli(*PERMIT, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["days_used"] == 62 and body["overstay_days"] == 0
    assert body["stays"][0]["basis"] == "residence_permit"
    assert body["current_stay"]["latest_exit"] == "2025-05-29"


@pytest.mark.parametrize("suffix, field", [
    ("@visa:2025-03-01", "stay[1].basis"),
    ("@visa:2025-03-01:2025-02-01", "stays[1].basis.valid_until"),
    ("@visa:2025-03-01:2025-05-01:triple", "stays[1].basis.entries"),
    ("@visa:2025-03-01:2025-05-01:single:0", "stays[1].basis.duration_days"),
    ("@visa:2025-03-01:2025-05-01:single:x", "stays[1].basis.duration_days"),
    ("@visa:2025-03-01:2025-05-01:single:30:golden", "stays[1].basis.kind"),
    ("@permit", "stay[1].basis"),
    ("@gold", "stay[1].basis"),
])
def test_a_bad_suffix_is_an_error_naming_the_field(suffix, field):
    result = run_cli("--from", "KAZ", "--to", "VNM", "--stay", "2025-01-01:2025-01-05", "--stay", f"2025-03-01:{suffix}",
                     "--on", "2025-04-10", "--json")
    assert result.exit_code == 2 and "Traceback" not in result.output
    error = json.loads(result.stdout.splitlines()[0])["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)


@pytest.mark.parametrize("lang", ["vi", "ru", "kk"])
@pytest.mark.parametrize("journey", [E_VISA, PERMIT])
def test_visa_answers_have_no_english(journey, lang):
    result = run_cli(*journey, "--lang", lang)
    assert result.exit_code == 0, result.output
    if journey is PERMIT:  # the permit's days drawn apart in the window, with the legend
        assert "░ " + translator(lang).gettext("under a residence permit or a long-stay visa: not counted") in result.output
    else:
        assert translator(lang).gettext("Basis") in result.output
    assert no_english.leaks(result.output, lang) == [], result.output


@pytest.mark.parametrize("lang", ["vi", "ru", "kk"])
def test_visa_errors_have_no_english(lang):
    result = run_cli("--from", "KAZ", "--to", "VNM", "--stay", "2025-03-01:@visa:2025-03-01:2025-02-01",
                     "--on", "2025-04-10", "--lang", lang)
    assert result.exit_code == 2 and "[invalid_request]" in result.output
    assert no_english.leaks(result.output, lang) == [], result.output


def test_help_documents_the_suffix():
    help_text = " ".join(run_cli("--help").output.split())
    assert "@visa:VALID_FROM:VALID_UNTIL" in help_text and "@permit:VALID_UNTIL" in help_text
