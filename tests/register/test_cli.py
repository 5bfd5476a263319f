"""The docs/register.md walkthrough, command by command, in a fresh directory (SQLite default)."""

import datetime as dt
import re

import pytest
from typer.testing import CliRunner

from visafree.cli import app
from visafree.register.db import head_revision

from .helpers import mrz

LINE1, LINE2 = mrz("N12345678", dt.date(2030, 5, 6))


@pytest.fixture
def fresh(tmp_path, monkeypatch, wide_console):
    monkeypatch.chdir(tmp_path)
    for name in ("VISAFREE_DATABASE_URL", "VISAFREE_REGISTER_KEY", "VISAFREE_KEY_FILE", "VISAFREE_REGISTER_COUNTRY", "VISAFREE_OFFICER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args):
    return CliRunner().invoke(app, ["register", *args], catch_exceptions=False)


def test_walkthrough(fresh):
    init = run("init")
    assert init.exit_code == 0 and f"sqlite:///var/register.sqlite (schema revision {head_revision()})" in init.output
    for name in ("register.sqlite", "register.key"):  # both owner-only
        assert oct((fresh / "var" / name).stat().st_mode)[-3:] == "600", name

    token = run("token", "create", "--role", "officer", "--label", "desk-1")
    assert token.exit_code == 0 and re.search(r"^vfr_[\w-]{40,}$", token.stdout, re.M)

    entry = run("entry", "--post", "Noi Bai airport", "--date", "2026-10-01", "--mrz", LINE1, "--mrz", LINE2)
    assert entry.exit_code == 0, entry.output
    assert "ADMIT 2026-10-01 — permitted until 2026-10-30 (limited by per_stay_limit; regime vn-kz)" in entry.output

    listed = run("overstayers", "--on", "2026-11-26", "--csv", "-")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0] == "traveller_key,nationality,entry,border_post,permitted_end,days_past_end,basis,stay_basis"
    assert lines[1].endswith(",KAZ,2026-10-01,Noi Bai airport,2026-10-30,27,desk,visa_free") and len(lines) == 2

    table = run("overstayers", "--on", "2026-11-26")
    assert "Overstayers on 2026-11-26: 1" in table.output

    out = run("exit", "--post", "Noi Bai airport", "--date", "2026-11-26", "--mrz", LINE1, "--mrz", LINE2)
    assert "27 day(s) past the permitted end" in out.output
    everything = init.output + token.output + entry.output + listed.output + table.output + out.output
    assert "N12345678" not in everything
    assert b"N12345678" not in (fresh / "var" / "register.sqlite").read_bytes()


def test_refusal_exit_code_and_bad_mrz(fresh):
    run("init")
    short = mrz("N99", dt.date(2026, 12, 1))
    refused = run("entry", "--post", "HAN", "--date", "2026-10-01", "--mrz", short[0], "--mrz", short[1])
    assert refused.exit_code == 1 and "REFUSE" in refused.output and "passport_validity" in refused.output
    broken = run("entry", "--post", "HAN", "--mrz", LINE1, "--mrz", LINE2[:27] + "0" + LINE2[28:])
    assert broken.exit_code == 2 and "MRZ expiry date: check digit" in broken.output


def test_extension_link_and_history_from_the_command_line(fresh):
    run("init")
    run("entry", "--post", "HAN", "--date", "2026-10-01", "--issuing-state", "KAZ", "--document", "OLD11",
        "--expires", "2031-01-01")
    old = run("keyof", "--issuing-state", "KAZ", "--document", "OLD11").stdout.strip()
    new = run("keyof", "--issuing-state", "KAZ", "--document", "NEW22").stdout.strip()
    assert re.fullmatch("[0-9a-f]{64}", old) and old != new
    extended = run("extend", "--key", old, "--until", "2026-11-30", "--basis", "R7: hospitalised")
    assert "now permitted until 2026-11-30" in extended.output
    assert run("overstayers", "--on", "2026-11-26", "--csv", "-").stdout.count("\n") == 1  # header only
    assert run("link", "--key", old, "--to-key", new, "--reason", "renewed passport").exit_code == 0
    history = run("history", "--key", new, "--on", "2026-11-26")
    assert "extension (R7) to 2026-11-30: R7: hospitalised" in history.output and "linked documents: 2 keys" in history.output
    audit = run("audit", "--key", new)
    assert "history" in audit.output


def test_an_officer_name_too_long_or_with_control_characters_is_refused_by_name(register_env, monkeypatch):
    from typer.testing import CliRunner

    from visafree.cli import app

    for name, value in register_env.items():
        if name.startswith("VISAFREE_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()
    for officer in ("o" * 129, "bad\x00name"):
        done = runner.invoke(app, ["register", "overstayers", "--on", "2025-05-01", "--officer", officer])
        assert done.exit_code == 2 and "--officer:" in done.output and "Traceback" not in done.output
