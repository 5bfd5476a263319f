"""The register's HTTP API: roles, the desk over HTTP, audit, and no document number in logs."""

import logging

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from visafree.register.api import get_register, router

from .helpers import D, mrz

ENTRY = {"passport": {"mrz": list(mrz("N55501234", D(2031, 1, 1)))}, "date": "2025-04-01", "border_post": "HAN"}
KEY = "a" * 64
# (method, path, json body or None, roles allowed)
ENDPOINTS = [
    ("POST", "/api/v1/register/entries", ENTRY, {"officer"}),
    ("POST", "/api/v1/register/exits", {**ENTRY, "date": "2025-04-05"}, {"officer"}),
    ("POST", "/api/v1/register/status", {"traveller_key": KEY}, {"officer", "auditor"}),
    ("POST", "/api/v1/register/history", {"traveller_key": KEY}, {"officer", "auditor"}),
    ("POST", "/api/v1/register/stay-changes", {"traveller_key": KEY, "kind": "extension", "new_end": "2025-05-30", "legal_basis": "R7"}, {"officer"}),
    ("POST", "/api/v1/register/links", {"traveller_key": KEY, "linked_key": "b" * 64, "reason": "renewed"}, {"officer"}),
    ("GET", "/api/v1/register/overstayers?on=2025-05-01", None, {"officer", "auditor"}),
    ("POST", "/api/v1/register/ingest?format=csv", None, {"officer"}),
    ("GET", "/api/v1/register/audit", None, {"auditor"}),
    ("POST", "/api/v1/register/tokens", {"role": "officer", "label": "x"}, {"admin"}),
    ("GET", "/api/v1/register/tokens", None, {"admin"}),
    ("DELETE", "/api/v1/register/tokens/999", None, {"admin"}),
]


@pytest.fixture
def api(register):
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_register] = lambda: register
    tokens = {role: register.create_token(role, f"{role}-1", created_by="test") for role in ("officer", "auditor", "admin")}
    with TestClient(app) as client:
        yield client, tokens, register


def call(client, method, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, path, json=body, headers=headers)


def test_every_endpoint_is_covered_by_the_matrix():
    routes = {(m, r.path) for r in router.routes for m in r.methods}
    covered = {(m, p.split("?")[0].replace("/999", "/{token_id}")) for m, p, _, _ in ENDPOINTS}
    assert routes == covered


@pytest.mark.parametrize("method, path, body, allowed", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_no_endpoint_answers_without_a_token_of_the_right_role(api, method, path, body, allowed):
    client, tokens, register = api
    assert call(client, method, path, body).status_code == 401
    assert call(client, method, path, body, "vfr_not-a-token").status_code == 401
    assert client.request(method, path, json=body, headers={"Authorization": f"Basic {tokens['officer']}"}).status_code == 401
    for role, token in tokens.items():
        status = call(client, method, path, body, token).status_code
        if role in allowed:
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)


def test_revoked_token_stops_working(api):
    client, tokens, register = api
    token = register.create_token("officer", "leaver", created_by="test")
    token_id = register.authenticate(token).id
    assert call(client, "DELETE", f"/api/v1/register/tokens/{token_id}", None, tokens["admin"]).status_code == 200
    assert call(client, "POST", "/api/v1/register/entries", ENTRY, token).status_code == 401


def test_desk_over_http_and_the_audit_trail(api, caplog):
    client, tokens, register = api
    caplog.set_level(logging.DEBUG)
    admitted = call(client, "POST", "/api/v1/register/entries", ENTRY, tokens["officer"])
    assert admitted.status_code == 200, admitted.text
    body = admitted.json()
    assert body["decision"] == "admit" and body["permitted_until"] == "2025-04-30" and body["regime"] == "vn-kz"
    key = body["traveller_key"]
    late = call(client, "GET", "/api/v1/register/overstayers?on=2025-05-03&format=csv", None, tokens["auditor"])
    assert late.status_code == 200 and late.headers["content-type"].startswith("text/csv")
    assert late.text.splitlines()[1].startswith(f"{key},KAZ,2025-04-01,HAN,2025-04-30,3,desk")
    status = call(client, "POST", "/api/v1/register/status", {"passport": ENTRY["passport"], "on": "2025-05-03"}, tokens["auditor"])
    assert status.json()["days_past_end"] == 3
    audit = call(client, "GET", f"/api/v1/register/audit?traveller_key={key}", None, tokens["auditor"]).json()
    assert [(a["action"], a["actor"].split(":")[2]) for a in reversed(audit)] == [
        ("desk_entry", "officer-1"), ("overstayers", "auditor-1"), ("status", "auditor-1")]
    assert "N55501234" not in caplog.text


def test_bad_mrz_is_a_422_naming_the_field(api):
    client, tokens, _ = api
    line1, line2 = ENTRY["passport"]["mrz"]
    broken = {**ENTRY, "passport": {"mrz": [line1, line2[:9] + "0" + line2[10:]]}}
    answer = call(client, "POST", "/api/v1/register/entries", broken, tokens["officer"])
    error = answer.json()["error"]  # the v1 shape, not nested as a string (issue 10)
    assert answer.status_code == 422 and error["field"] == "mrz.line2.document_number" and isinstance(error["message"], str)
    assert error["code"] and "{" not in error["message"]


def test_get_register_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VISAFREE_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("VISAFREE_KEY_FILE", str(tmp_path / "env.key"))
    monkeypatch.delenv("VISAFREE_REGISTER_KEY", raising=False)
    # Before `register init` the API answers 503 naming the fix, and creates no key.
    with pytest.raises(HTTPException) as refused:
        get_register()
    assert refused.value.status_code == 503 and "register init" in refused.value.detail["message"]
    assert not (tmp_path / "env.key").exists()
    from visafree.register import open_register

    open_register(init=True).engine.dispose()
    register = get_register()
    assert str(register.engine.url).endswith("env.sqlite") and (tmp_path / "env.key").exists()
    assert get_register() is register


def test_ingest_over_http(api):
    client, tokens, register = api
    log = ("event_id,issuing_state,document_number,nationality,direction,time,border_post\n"
           "w1,KAZ,W0001,KAZ,entry,2025-03-01T10:00,HAN\n"
           "w2,KAZ,W0002,ZZZ,entry,2025-03-01T10:00,HAN\n")
    headers = {"Authorization": f"Bearer {tokens['officer']}", "Content-Type": "text/csv"}
    first = client.post("/api/v1/register/ingest?format=csv", content=log, headers=headers).json()
    assert (first["read"], first["stored"], first["rejected"]) == (2, 1, 1)
    assert first["rejects"] == [{"line": "3", "event_id": "w2", "field": "nationality",
                                 "reason": "nationality: unknown country code 'ZZZ' (ISO 3166-1 alpha-3 or ICAO 9303 code expected)"}]
    again = client.post("/api/v1/register/ingest?format=csv", content=log, headers=headers).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
