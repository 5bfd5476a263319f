"""The desk with visas and permits (issue 13): entries on a visa (typed or from its MRZ) or a
residence permit, judged by the engine by their basis (docs/basis.md, RULES.md §2), overstayers
past a visa, ID cards (TD1, TD2) read at the desk, and the no_regime traveller's next step.

Every test runs on a real SQLite file and on the real PostgreSQL (conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from visafree.cli import app as cli_app
from visafree.engine import ResidencePermit, Visa
from visafree.register.api import get_register, router
from visafree.register.mrz import MRV_A, MRV_B, TD1, format_mrz
from visafree.register.service import Document, RegisterError

from .helpers import D, kaz, mrz

# A US citizen: no visa-free regime of Viet Nam covers them (RULES.md §4: no_regime).
USA = Document("USA", "X1234567", "USA", "ordinary", D(2032, 1, 1))
EVISA = Visa(D(2025, 2, 25), D(2025, 5, 31), "single", "e_visa", 90)


def visa_mrz(nationality="USA", valid_until=D(2025, 5, 31), layout=MRV_A):
    return format_mrz(layout, issuing_state="VNM", document_number="EV1234567", nationality=nationality,
                      birth_date=D(1990, 1, 2), expires=valid_until, sex="F", name="DOE<<JANE")


def test_visa_entry_admitted_until_the_visa_or_the_window_whichever_first(register):
    # A 90-day duration from 1 March ends on 29 May (day 90, the entry day is day 1: RULES.md §2),
    # before the visa's valid_until of 31 May: the duration limits.
    first = register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN", basis=EVISA)
    assert first.outcome == "admit" and first.basis == "visa"
    assert (first.permitted_until, first.limited_by) == (D(2025, 5, 29), "visa_duration")
    assert first.regime is None  # no visa-free regime covers a US citizen: the visa decided
    # Without a duration the visa's valid_until limits (multiple entries, same traveller again).
    register.record_exit(USA, D(2025, 3, 10), officer="o", border_post="HAN")
    again = register.record_entry(USA, D(2025, 4, 1), officer="o", border_post="HAN",
                                  basis=Visa(D(2025, 3, 25), D(2025, 5, 20), "multiple"))
    assert (again.permitted_until, again.limited_by) == (D(2025, 5, 20), "visa_validity")


def test_visa_entry_limited_by_the_window_where_the_regime_limits_visas(make_register):
    # Schengen's window_bases lists visa (Regulation (EU) 2016/399, Art. 6(1)): a US citizen on a
    # long visa is still limited to 90 days in 180 (R4 kind), which comes before the visa's end.
    register = make_register(destination="FRA")
    usa = Document("USA", "X7654321", "USA", "ordinary", D(2032, 1, 1))
    decision = register.record_entry(usa, D(2025, 1, 1), officer="o", border_post="CDG",
                                     basis=Visa(D(2024, 12, 1), D(2025, 12, 31), "multiple"))
    assert decision.outcome == "admit" and decision.regime == "schengen"
    assert (decision.permitted_until, decision.limited_by) == (D(2025, 3, 31), "window_limit")


def test_visa_overstay_is_listed_by_overstayers(register):
    register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN", basis=EVISA)
    assert register.overstayers(D(2025, 5, 29), actor="a") == []
    found = register.overstayers(D(2025, 5, 31), actor="a")
    assert [(o.nationality, o.permitted_end, o.days_past_end, o.stay_basis) for o in found] == [
        ("USA", D(2025, 5, 29), 2, "visa")]
    status = register.status(found[0].traveller_key, D(2025, 5, 31), actor="a")
    assert status.in_country and status.basis == "visa" and status.days_past_end == 2


def test_a_permit_holders_days_do_not_count_in_the_window(register):
    # 1 Dec 2024 to 28 Feb 2025 under a permit, then visa-free from 1 March (vn-kz, R4): the
    # window ending 31 May holds only the visa-free days (RULES.md §2: permit days never count).
    traveller = kaz("N4040404")
    permit = register.record_entry(traveller, D(2024, 12, 1), officer="o", border_post="HAN",
                                   basis=ResidencePermit(D(2025, 2, 28)))
    assert (permit.outcome, permit.permitted_until, permit.limited_by) == ("admit", D(2025, 2, 28), "permit_validity")
    register.record_exit(traveller, D(2025, 2, 28), officer="o", border_post="HAN")
    free = register.record_entry(traveller, D(2025, 3, 1), officer="o", border_post="HAN")
    assert free.outcome == "admit" and free.basis == "visa_free"
    # R3: 30 days from 1 March; the 90 permit days left no mark on the window (R4 would refuse).
    assert (free.permitted_until, free.limited_by) == (D(2025, 3, 30), "per_stay_limit")
    register.record_exit(traveller, D(2025, 3, 30), officer="o", border_post="HAN")
    status = register.status(register.key_of(traveller), D(2025, 5, 31), actor="a")
    assert status.days_used == 30


def test_refused_when_the_visa_has_no_entries_left(register):
    register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN", basis=EVISA)
    register.record_exit(USA, D(2025, 3, 20), officer="o", border_post="HAN")
    second = register.record_entry(USA, D(2025, 4, 2), officer="o", border_post="HAN", basis=EVISA)
    assert second.outcome == "refuse" and second.reasons == ("visa_entries",)
    assert second.permitted_until is None
    assert any("used up" in n for n in second.texts()), second.notes
    # The refused entry is no stay: the traveller is not in the country.
    assert not register.status(second.traveller_key, D(2025, 4, 2), actor="a").in_country


def test_no_regime_traveller_then_admitted_on_a_visa(register):
    first = register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN")
    assert (first.outcome, first.reasons) == ("no_regime", ("no_regime",))
    assert "no visa-free regime known: check a visa or permit" in first.texts()[0]
    then = register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN", basis=EVISA)
    assert then.outcome == "admit" and then.permitted_until == D(2025, 5, 29)
    history = register.history(then.traveller_key, actor="a", on=D(2025, 3, 2))
    assert [s["entry"] for s in history.stays] == [D(2025, 3, 1)]  # one stay: the visa entry corrected the other
    assert len(history.crossings) == 2  # both crossings kept on file
    assert [s["basis"] for s in history.stays] == ["visa"]
    # On another day a no_regime traveller is not silently replaced.
    other = Document("USA", "Z9999999", "USA", "ordinary", D(2032, 1, 1))
    register.record_entry(other, D(2025, 3, 1), officer="o", border_post="HAN")
    with pytest.raises(RegisterError) as err:
        register.record_entry(other, D(2025, 3, 3), officer="o", border_post="HAN", basis=EVISA)
    assert err.value.code == "already_in_country"


def test_bad_visa_fields_are_refused_by_name(register):
    with pytest.raises(ValueError) as err:
        register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN",
                              basis=Visa(D(2025, 5, 1), D(2025, 4, 1)))
    assert err.value.field == "basis.valid_until"
    with pytest.raises(ValueError) as err:
        register.record_entry(USA, D(2025, 3, 1), officer="o", border_post="HAN",
                              basis=Visa(D(2025, 3, 1), D(2025, 4, 1), "triple"))
    assert err.value.field == "basis.entries"


@pytest.fixture
def api(register):
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_register] = lambda: register
    token = register.create_token("officer", "desk-1", created_by="test")
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


USA_PASSPORT = {"issuing_state": "USA", "document_number": "X1234567", "nationality": "USA", "expires": "2032-01-01"}


def test_api_no_regime_then_visa_from_its_mrz(api):
    client, auth = api
    body = {"passport": USA_PASSPORT, "date": "2025-03-01", "border_post": "HAN"}
    first = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert first.status_code == 200 and first.json()["decision"] == "no_regime"
    assert first.json()["next_step"]["message"] == "no visa-free regime known: check a visa or permit"
    visa = {"type": "visa", "mrz": list(visa_mrz()), "valid_from": "2025-02-25", "entries": "single",
            "duration_days": 90, "kind": "e_visa"}
    then = client.post("/api/v1/register/entries", json={**body, "basis": visa}, headers=auth)
    assert then.status_code == 200, then.text
    assert then.json()["decision"] == "admit" and then.json()["basis"] == "visa"
    assert then.json()["permitted_until"] == "2025-05-29"


def test_api_visa_mrz_with_a_bad_check_digit_is_refused_naming_the_field(api):
    client, auth = api
    line1, line2 = visa_mrz()
    # Position 28 is the valid-until date's check digit (ICAO 9303 Part 7).
    wrong = str((int(line2[27]) + 1) % 10)
    bad = line2[:27] + wrong + line2[28:]
    body = {"passport": USA_PASSPORT, "date": "2025-03-01", "border_post": "HAN",
            "basis": {"type": "visa", "mrz": [line1, bad], "valid_from": "2025-02-25"}}
    answer = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "visa_mrz.line2.valid_until" and error["code"] == "mrz_check_digit"
    assert bad not in answer.text and line2[:9] not in answer.text and "EV1234567" not in answer.text
    # A visa for another nationality than the passport's is refused by name too.
    body["basis"]["mrz"] = list(visa_mrz(nationality="CAN", layout=MRV_B))
    other = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert other.status_code == 422 and other.json()["error"]["field"] == "visa_mrz.nationality"


def test_api_bad_basis_gets_the_v1_error_shape(api):
    client, auth = api
    body = {"passport": USA_PASSPORT, "date": "2025-03-01", "border_post": "HAN",
            "basis": {"type": "visa", "valid_from": "2025-03-01", "valid_until": "2025-02-01"}}
    answer = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "basis.valid_until"
    body["basis"] = {"type": "visa", "valid_from": "2025-03-01", "valid_until": "2025-04-01", "entries": "many"}
    answer = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "basis.entries"
    for basis, field in (({"type": "visa", "valid_until": "2025-04-01"}, "basis.valid_from"),
                         ({"type": "residence_permit"}, "basis.valid_until"),
                         ({"type": "visa", "mrz": list(visa_mrz())}, "basis.valid_from")):
        answer = client.post("/api/v1/register/entries", json={**body, "basis": basis}, headers=auth)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == field, answer.text


def td1_card(expires=D(2031, 5, 6)):
    return format_mrz(TD1, issuing_state="KAZ", document_number="C12345678", nationality="KAZ",
                      birth_date=D(1990, 1, 2), expires=expires, sex="M", name="TRAVELLER<<TEST")


def test_td1_card_read_at_the_desk_is_judged_as_an_id_card(api, register):
    client, auth = api
    body = {"passport": {"mrz": list(td1_card())}, "date": "2025-03-01", "border_post": "HAN"}
    answer = client.post("/api/v1/register/entries", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    # vn-kz lists ordinary passports only: the engine's passport_type refusal, under vn-kz.
    assert answer.json()["decision"] == "refuse" and answer.json()["reasons"] == ["passport_type"]
    assert answer.json()["regime"] == "vn-kz"
    # The same card, three lines, read by the CLI's reader too (the key is the card's).
    key = register.key_of(Document("KAZ", "C12345678", "KAZ", "id_card", D(2031, 5, 6)))
    assert answer.json()["traveller_key"] == key


def test_cli_visa_entry_and_no_regime_next_step(register_env, monkeypatch):
    for name, value in register_env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    passport = ["--issuing-state", "USA", "--document", "X1234567", "--expires", "2032-01-01"]
    first = runner.invoke(cli_app, ["register", "entry", *passport, "--date", "2025-03-01", "--post", "HAN"],
                          catch_exceptions=False)
    assert first.exit_code == 3 and "no visa-free regime known: check a visa or permit" in first.output
    assert "--visa-from" in first.output
    line1, line2 = visa_mrz()
    then = runner.invoke(cli_app, ["register", "entry", *passport, "--date", "2025-03-01", "--post", "HAN",
                                   "--visa-mrz", line1, "--visa-mrz", line2, "--visa-from", "2025-02-25",
                                   "--visa-entries", "single", "--visa-days", "90", "--visa-kind", "e_visa"],
                         catch_exceptions=False)
    assert then.exit_code == 0, then.output
    assert "ADMIT" in then.output and "2025-05-29" in then.output and "on a visa" in then.output
    bad = runner.invoke(cli_app, ["register", "entry", *passport, "--date", "2025-03-02", "--post", "HAN",
                                  "--visa-mrz", line1, "--visa-mrz", line2[:27] + str((int(line2[27]) + 1) % 10) + line2[28:],
                                  "--visa-from", "2025-02-25"], catch_exceptions=False)
    assert bad.exit_code == 2 and "visa_mrz.line2.valid_until" in bad.output and line2[:9] not in bad.output
    card = runner.invoke(cli_app, ["register", "entry", *sum((["--mrz", x] for x in td1_card()), []),
                                   "--date", "2025-03-01", "--post", "HAN"], catch_exceptions=False)
    assert card.exit_code == 1 and "passport_type" in card.output
    over = runner.invoke(cli_app, ["register", "overstayers", "--on", "2025-05-31", "--csv", "-"], catch_exceptions=False)
    assert over.output.splitlines()[0].endswith(",basis,stay_basis")
    assert over.output.splitlines()[1].endswith(",2025-05-29,2,desk,visa")


def test_export_carries_the_basis_and_the_batch_agrees_with_the_engine(register_env, monkeypatch, tmp_path):
    """The analysts' export (visafree batch report --register) gives the batch the basis columns:
    90 days on an e-visa are no overstay there either (a visa-free stay would break R3 on day 31)."""
    from visafree.engine import Question, Stay, check
    from visafree.regimes import builtin_regimes
    from visafree.register import open_register

    from ..batch.conftest import read_rows

    for name, value in register_env.items():
        monkeypatch.setenv(name, value)
    register = open_register(clock=lambda: dt.datetime(2025, 6, 10, tzinfo=dt.timezone.utc))
    traveller = kaz("N9090909")
    visa = Visa(D(2025, 2, 25), D(2025, 5, 31), "single", "e_visa", 90)
    register.record_entry(traveller, D(2025, 3, 1), officer="o", border_post="HAN", basis=visa)
    register.record_exit(traveller, D(2025, 5, 29), officer="o", border_post="HAN")
    register.engine.dispose()
    out = tmp_path / "compliance"
    result = CliRunner().invoke(cli_app, ["batch", "report", "--register", "--out", str(out), "--on", "2025-06-10"])
    assert result.exit_code == 0, result.output
    expected = check(Question(builtin_regimes()["vn-kz"], "KAZ", "VNM", D(2025, 6, 10),
                              (Stay(D(2025, 3, 1), D(2025, 5, 29), visa),)))
    [row] = read_rows(str(out / "travellers.parquet"))
    assert int(row["overstay_days"]) == expected.overstay_days == 0
    assert int(row["days_used"]) == expected.days_used == 90
