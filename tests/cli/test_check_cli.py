"""`visafree check` and `visafree regimes` through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VISAFREE = shutil.which("visafree") or str(Path(sys.executable).with_name("visafree"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([VISAFREE, *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "100", "LANG": "C.UTF-8"})


KAZAKH_TOURIST = {
    "regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": "2024-08-15",
    "stays": [{"entry": "2024-06-01", "exit": "2024-06-20"}, {"entry": "2024-08-01", "exit": None}],
    "planned": [{"entry": "2024-10-01", "exit": "2024-11-20"}], "trip_days": 14,
    "passport": {"type": "ordinary", "expires": "2026-01-31"},
}


def test_flags_and_request_file_give_the_same_json(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(KAZAKH_TOURIST))
    from_file = run("check", str(request), "--json")
    from_flags = run("check", "--regime", "vn-kz", "--from", "KAZ", "--to", "VNM", "--stay", "2024-06-01:2024-06-20",
                     "--stay", "2024-08-01:", "--on", "2024-08-15", "--plan", "2024-10-01:2024-11-20", "--trip-days", "14",
                     "--passport-expires", "2026-01-31", "--json")
    assert from_file.returncode == from_flags.returncode == 0, from_file.stderr + from_flags.stderr
    body = json.loads(from_file.stdout)
    assert body == json.loads(from_flags.stdout)
    # 20 days in June + 15 days in August (R4); day 15 of the stay, leave by day 30 (R3).
    assert (body["days_used"], body["days_remaining"]) == (35, 55)
    assert body["current_stay"] == {"entry": "2024-08-01", "day": 15, "latest_exit": "2024-08-30", "limited_by": "per_stay_limit",
                                    "basis": "visa_free", "entry_problems": []}
    assert body["planned"][0]["reasons"] == ["per_stay_limit"]
    # 2024-10-01 to 2024-11-20 is 51 days: R3 covers 30, a visa is needed from day 31 (R5).
    assert (body["planned"][0]["visa_needed_days"], body["planned"][0]["visa_needed_from"]) == (21, "2024-10-31")


def test_stdin_and_readable_output():
    result = run("check", "-", stdin=json.dumps(KAZAKH_TOURIST))
    assert result.returncode == 0, result.stderr
    assert "Leave by" in result.stdout and "August 30, 2024" in result.stdout
    # Rules are named by their titles, not by their ids (issue 12).
    assert "Explanation" in result.stdout and "At most 30 days per stay" in " ".join(result.stdout.split())


def test_readable_output_in_russian():
    result = run("check", "-", "--lang", "ru", stdin=json.dumps(KAZAKH_TOURIST))
    assert result.returncode == 0, result.stderr
    assert "Leave by" not in result.stdout
    assert "2024" in result.stdout and any("а" <= ch <= "я" for ch in result.stdout)


def test_bad_input_exits_2_naming_the_field_without_traceback():
    result = run("check", "--from", "KAZ", "--to", "VNM", "--stay", "2024-06-01:2024-06-10",
                 "--stay", "2024-06-05:2024-06-12", "--on", "2024-07-01", "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"] == {
        "code": "overlapping_stays", "field": "stays[1].entry",
        "message": json.loads(result.stdout)["error"]["message"]}
    assert "stays[1]" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, code", [
    (["--from", "KAZ", "--to", "VNM", "--stay", "2024-02-30:", "--on", "2024-07-01"], "invalid_date"),
    (["--regime", "atlantis", "--from", "KAZ", "--to", "VNM", "--on", "2024-07-01"], "unknown_regime"),
    (["--from", "KAZ", "--to", "VNM", "--stay", "2024-06-01", "--on", "2024-07-01"], "invalid_request"),
])
def test_each_error_is_named(args, code):
    result = run("check", *args, "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["error"]["code"] == code
    assert "Traceback" not in result.stderr


def test_not_json_and_missing_file_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for target in (str(bad), str(tmp_path / "missing.json")):
        result = run("check", target)
        assert result.returncode == 2 and "invalid_request" in result.stderr and "Traceback" not in result.stderr


def test_batch_answers_every_line_in_order_and_goes_on_after_a_bad_one():
    good = json.dumps(KAZAKH_TOURIST)
    lines = [good, "{broken", json.dumps({**KAZAKH_TOURIST, "on": "2024-13-01"}), json.dumps({**KAZAKH_TOURIST, "on": "2024-08-20"})]
    result = run("check", "--batch", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["current_stay"]["day"] == 15 and out[3]["current_stay"]["day"] == 20
    assert out[1]["error"]["code"] == "invalid_request" and out[1]["error"]["line"] == 2
    assert out[2]["error"]["code"] == "invalid_date" and out[2]["error"]["field"] == "on"


def test_regimes_lists_rules_and_sources():
    table = run("regimes")
    assert table.returncode == 0 and "vn-kz" in table.stdout and "schengen" in table.stdout
    data = {r["id"]: r for r in json.loads(run("regimes", "--json").stdout)}
    assert {r["id"] for r in data["vn-kz"]["rules"]} >= {"R1", "R2", "R3", "R4", "R5", "R6", "R7"}
    assert data["vn-kz"]["in_force"][0]["since"] == "2024-05-25"


def test_a_broken_regime_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('id = "x"\nsurprise = 1\n')
    result = run("regimes", "--regime-file", str(path))
    assert result.returncode == 2 and "surprise" in result.stderr and "Traceback" not in result.stderr


# --- Resolution (RULES.md §4): no --regime, the answer finds the regime ---------------------

def test_without_regime_the_schengen_traveller_is_answered_under_schengen():
    done = run("check", "--from", "USA", "--to", "FRA", "--stay", "2025-01-10:2025-01-24", "--on", "2025-02-01", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["regime"] == "schengen" and body["resolution"]["requested"] is False
    assert "schengen" in body["resolution"]["applicable"]
    assert (body["days_used"], body["days_remaining"]) == (15, 75)


def test_without_regime_the_kazakh_tourist_is_answered_as_with_it():
    without = json.loads(run("check", "--from", "KAZ", "--to", "VNM", "--stay", "2024-06-01:2024-06-20",
                             "--on", "2024-07-01", "--json").stdout)
    named = json.loads(run("check", "--regime", "vn-kz", "--from", "KAZ", "--to", "VNM", "--stay", "2024-06-01:2024-06-20",
                           "--on", "2024-07-01", "--json").stdout)
    assert named["resolution"] == {**named["resolution"], "requested": True, "chosen": "vn-kz", "why": "requested"}
    assert "vn-kz" in without["resolution"]["applicable"]
    if without["regime"] == "vn-kz":  # another regime may be more favourable; then it says why
        assert without["days_used"] == named["days_used"] == 20


def test_no_regime_exits_3_and_says_a_visa_is_needed():
    done = run("check", "--from", "KAZ", "--to", "FRA", "--on", "2025-06-01")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "No visa-free regime known for citizens of Kazakhstan entering France on June 1, 2025" in " ".join(done.stdout.split())
    body = json.loads(run("check", "--from", "KAZ", "--to", "FRA", "--on", "2025-06-01", "--json").stdout)
    assert (body["status"], body["regime"], body["explanation"][0]["code"]) == ("no_regime", None, "no_regime")
    russian = run("check", "--from", "KAZ", "--to", "FRA", "--on", "2025-06-01", "--lang", "ru")
    assert russian.returncode == 3 and "Безвизовый режим" in russian.stdout


def test_regimes_from_to_on_lists_what_applies_with_citations():
    done = run("regimes", "--from", "USA", "--to", "FRA", "--on", "2025-06-01", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [r["id"] for r in listed] == ["schengen"] and listed[0]["rules"][0]["citation"]
    none = run("regimes", "--from", "KAZ", "--to", "FRA", "--on", "2025-06-01")
    assert none.returncode == 3 and "no_regime" in none.stdout
    bad = run("regimes", "--from", "KAZ")
    assert bad.returncode == 2 and "--from and --to go together" in bad.stderr
