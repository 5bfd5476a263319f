"""The HTTP API: the v1 contract over HTTP, regimes, calendar, limits, languages.

Expected dates are derived from RULES.md in the comments (entry day is day 1, R3 = 30 days per
stay, R4 = 90 days in the window [d - 179, d]), never copied from output.
"""

import datetime as dt

import httpx
import pytest
from icalendar import Calendar

from visafree.contract import ERROR_CODES
from visafree.engine import MESSAGES
from visafree.i18n import translator
from visafree.regimes import builtin_regimes

D = dt.date
KZ_VN = {"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM"}


def check(client, body, **params):
    return client.post("/api/v1/check", json=body, params=params)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert {"vn-kz", "schengen"} <= set(r.json()["regimes"])


def test_kazakh_in_vietnam_leave_by_is_day_30(client):
    # Stays: Jan 1-25 (25 days) and an open stay from Mar 1; on Mar 10.
    # Day of stay on Mar 10 = 10 (Mar 1 is day 1). Window [Mar 10 - 179, Mar 10] holds all
    # 25 + 10 = 35 days, 55 left. R3: day 30 is Mar 1 + 29 = Mar 30. R4 would allow far more
    # (35 + 20 more days = 55 < 90 by Mar 30), so R3 sets the date.
    body = {**KZ_VN, "on": "2025-03-10",
            "stays": [{"entry": "2025-01-01", "exit": "2025-01-25"}, {"entry": "2025-03-01"}]}
    r = check(client, body)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["in_country"] is True
    assert a["window"] == {"start": (D(2025, 3, 10) - dt.timedelta(days=179)).isoformat(), "end": "2025-03-10"}
    assert (a["days_used"], a["days_remaining"]) == (35, 55)
    assert a["current_stay"]["day"] == 10
    assert a["current_stay"]["latest_exit"] == (D(2025, 3, 1) + dt.timedelta(days=29)).isoformat()
    assert a["current_stay"]["limited_by"] == "per_stay_limit"
    assert a["overstay_days"] == 0 and a["violations"] == []
    assert "display" not in a  # no language asked: the plain v1 contract


def test_window_limit_binds_before_the_30_days(client):
    # Prior presence: Jan 1-30 (30), Feb 10-Mar 11 (30), Apr 1-10 (10) = 70 days, all inside the
    # window of any day up to Jun 29 (Jun 29 - 179 = Jan 1). Entering Jun 1, on day d the window
    # holds 70 + (d - Jun 1 + 1) days; <= 90 means d <= Jun 20. R3 would allow Jun 30, so R4 binds.
    body = {**KZ_VN, "on": "2025-06-05", "stays": [
        {"entry": "2025-01-01", "exit": "2025-01-30"}, {"entry": "2025-02-10", "exit": "2025-03-11"},
        {"entry": "2025-04-01", "exit": "2025-04-10"}, {"entry": "2025-06-01"}]}
    a = check(client, body).json()
    assert a["current_stay"]["latest_exit"] == "2025-06-20"
    assert a["current_stay"]["limited_by"] == "window_limit"
    assert a["days_used"] == 75  # 70 + Jun 1..5
    note = next(n for n in a["explanation"] if n["code"] == "latest_exit_window")
    assert note["rule"] == "R4" and note["params"]["over"] == 91


def test_schengen_has_no_per_stay_limit(client):
    # USA -> FRA: Jan 10 - Mar 1 (51 days), back since May 20, on Jun 1. No R3-like limit, so only
    # the 90/180 window: 51 + (d - May 20 + 1) <= 90 gives d <= May 20 + 38 = Jun 27, before
    # Jan 10 leaves the window (Jan 10 + 180 = Jul 9), so the 51 days count throughout.
    body = {"regime": "schengen", "nationality": "USA", "destination": "FRA", "on": "2025-06-01",
            "stays": [{"entry": "2025-01-10", "exit": "2025-03-01"}, {"entry": "2025-05-20"}]}
    a = check(client, body).json()
    assert a["current_stay"]["latest_exit"] == (D(2025, 5, 20) + dt.timedelta(days=38)).isoformat() == "2025-06-27"
    assert a["current_stay"]["limited_by"] == "window_limit"


def test_vietnamese_traveller_to_kazakhstan_is_covered_and_others_are_not(client):
    body = {"regime": "vn-kz", "nationality": "VNM", "destination": "KAZ", "on": "2025-03-10",
            "stays": [{"entry": "2025-03-01"}]}
    a = check(client, body).json()
    assert a["explanation"][0]["code"] == "coverage_ok"
    assert a["current_stay"]["latest_exit"] == "2025-03-30"
    # RULES.md §1: a country's own citizens are not covered.
    own = check(client, {**body, "nationality": "KAZ"}, lang="en").json()
    assert own["explanation"][0]["code"] == "coverage_no"
    # Named by its title, never by its id (issue 12).
    assert own["explanation"][0]["text"].startswith(f"{own['regime_title']} does not cover citizens of Kazakhstan entering Kazakhstan")


def test_overstay_is_reported(client):
    # Entered Mar 1 and left Apr 5: day 31 (Mar 31) breaks R3; Mar 31..Apr 5 = 6 days of overstay.
    body = {**KZ_VN, "on": "2025-04-10", "stays": [{"entry": "2025-03-01", "exit": "2025-04-05"}]}
    a = check(client, body).json()
    assert a["overstay_days"] == 6
    assert a["violations"][0]["date"] == "2025-03-31" and a["violations"][0]["code"] == "per_stay_limit"


def test_planned_trip_over_30_days_is_refused_with_its_reason(client):
    # Apr 1 to May 5 is 35 days (both ends count): more than R3's 30.
    body = {**KZ_VN, "on": "2025-03-10", "stays": [],
            "planned": [{"entry": "2025-04-01", "exit": "2025-05-05"}], "trip_days": 30}
    a = check(client, body, lang="en").json()
    p = a["planned"][0]
    assert p["ok"] is False and p["reasons"] == ["per_stay_limit"]
    assert p["latest_exit"] == "2025-04-30"  # day 30 from Apr 1
    texts = [n["text"] for n in a["explanation"]]
    assert any("lasts 35 days" in t and "the per-stay limit" not in t for t in texts)
    assert any("the per-stay limit" in t for t in texts)  # reason codes rendered by name
    # No history at all: a 30-day trip can start on the reference date itself.
    assert a["earliest_entry"] == {"trip_days": 30, "date": "2025-03-10", "reasons": []}


FULL_WINDOW = [{"entry": "2025-01-01", "exit": "2025-01-30"}, {"entry": "2025-02-01", "exit": "2025-03-02"},
               {"entry": "2025-03-04", "exit": "2025-04-02"}]


def test_earliest_return_after_a_full_window(client):
    # 30 + 30 + 30 = 90 days used by Apr 2. A one-day entry on s needs the days in
    # [s - 179, s - 1] to be at most 89, so Jan 1 must have left the window: s - 179 > Jan 1,
    # s >= Jan 1 + 180 days = Jun 30. Nothing earlier: until then all 90 days are in the window.
    a = check(client, {**KZ_VN, "on": "2025-04-10", "stays": FULL_WINDOW, "trip_days": 1}).json()
    assert (a["days_used"], a["days_remaining"], a["in_country"]) == (90, 0, False)
    assert a["earliest_entry"]["date"] == (D(2025, 1, 1) + dt.timedelta(days=180)).isoformat() == "2025-06-30"
    params = {**KZ_VN, "on": "2025-04-10", "stay": [f"{s['entry']}/{s['exit']}" for s in FULL_WINDOW],
              "trip_days": 1, "lang": "kk"}
    events = Calendar.from_ical(client.get("/api/v1/calendar.ics", params=params).content).walk("VEVENT")
    assert [(e.decoded("dtstart"), str(e["summary"])) for e in events] == [(D(2025, 6, 30), "Ең ерте қайта келу күні")]
    # The GET builds the POST's file: the regime named by its Kazakh title, never by its id (issue 12).
    title = translator("kk").title(builtin_regimes()["vn-kz"])
    assert title != builtin_regimes()["vn-kz"].title and str(events[0]["description"]).startswith(title + "\n")
    assert "vn-kz" not in events[0].to_ical().decode()


def test_languages_translate_text_and_dates(client):
    body = {**KZ_VN, "on": "2025-03-10", "stays": [{"entry": "2025-03-01"}]}
    vi = check(client, body, lang="vi")
    assert vi.headers["content-language"] == "vi"
    a = vi.json()
    leave = next(n for n in a["explanation"] if n["code"] == "latest_exit_per_stay")
    assert leave["text"].startswith("Phải xuất cảnh chậm nhất vào ngày 30 tháng 3 năm 2025")
    assert a["display"]["dates"]["2025-03-30"] == "ngày 30 tháng 3 năm 2025"
    ru = client.post("/api/v1/check", json=body, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}).json()
    assert ru["display"]["lang"] == "ru"
    assert any(n["text"].startswith("Выехать не позднее 30 марта 2025") for n in ru["explanation"])
    kk = check(client, body, lang="kk").json()
    assert any("наурыз" in n["text"] for n in kk["explanation"])  # Kazakh month name, Cyrillic
    # The answer itself never depends on the language.
    # Titles are texts too (regime files carry them per language); the answer is the rest.
    strip = lambda x: {k: v for k, v in x.items() if k not in ("explanation", "display", "regime_title", "resolution")}  # noqa: E731
    assert strip(a) == strip(ru) == strip(kk) == strip(check(client, body).json())


# ------------------------------------------------------------------------------------ errors

ERROR_CASES = [
    ("invalid_date", {**KZ_VN, "on": "2025-02-30"}, "on"),
    ("invalid_date", {**KZ_VN, "on": "2025-03-10", "stays": [{"entry": 20250101}]}, "stays[0].entry"),
    ("exit_before_entry", {**KZ_VN, "on": "2025-03-10", "stays": [{"entry": "2025-01-25", "exit": "2025-01-01"}]},
     "stays[0].exit"),
    ("overlapping_stays", {**KZ_VN, "on": "2025-03-10", "stays": [
        {"entry": "2025-01-01", "exit": "2025-01-20"}, {"entry": "2025-01-10", "exit": "2025-01-25"}]}, "stays[1].entry"),
    ("multiple_open_stays", {**KZ_VN, "on": "2025-03-10", "stays": [{"entry": "2025-01-01"}, {"entry": "2025-02-01"}]},
     "stays[1].exit"),
    ("unknown_regime", {**KZ_VN, "regime": "atlantis", "on": "2025-03-10"}, "regime"),
    ("invalid_request", {**KZ_VN}, "on"),
    ("invalid_request", {**KZ_VN, "on": "2025-03-10", "colour": "blue"}, "colour"),
    ("invalid_request", {**KZ_VN, "on": "2025-03-10", "nationality": "KZ"}, "nationality"),
    ("invalid_request", {**KZ_VN, "on": "2025-03-10", "trip_days": 0}, "trip_days"),
    ("invalid_request", {**KZ_VN, "on": "2025-03-10", "planned": [{"entry": "2025-04-01"}]}, "planned[0].exit"),
]


@pytest.mark.parametrize("code, body, field", ERROR_CASES)
def test_error_codes(client, code, body, field):
    r = check(client, body)
    assert r.status_code == 422, r.text
    assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"], "field": field}}
    assert r.json()["error"]["message"]


def test_unsupported_language_is_refused(client):
    r = check(client, {**KZ_VN, "on": "2025-03-10"}, lang="de")
    assert r.status_code == 422 and r.json()["error"]["field"] == "lang"
    # An Accept-Language the server cannot serve is no error: it falls back to English.
    r = client.post("/api/v1/check", json={**KZ_VN, "on": "2025-03-10"}, headers={"Accept-Language": "de"})
    assert r.status_code == 200 and r.json()["display"]["lang"] == "en"


def test_every_error_code_is_reachable():
    assert {c for c, _, _ in ERROR_CASES} == set(ERROR_CODES)


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b"[" * 100_000])
def test_bodies_that_are_not_a_request_object(client, raw):
    r = client.post("/api/v1/check", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_limits_stays_count_and_date_range(client):
    from visafree.api import API_LIMITS

    many = [{"entry": (D(2000, 1, 1) + dt.timedelta(days=2 * i)).isoformat(),
             "exit": (D(2000, 1, 1) + dt.timedelta(days=2 * i)).isoformat()} for i in range(API_LIMITS.max_stays + 1)]
    r = check(client, {**KZ_VN, "on": "2025-03-10", "stays": many})
    assert r.status_code == 422 and r.json()["error"]["field"] == "stays"
    assert str(API_LIMITS.max_stays) in r.json()["error"]["message"]
    # At the limit the same history is accepted.
    assert check(client, {**KZ_VN, "on": "2025-03-10", "stays": many[:-1]}).status_code == 200
    for day in ((API_LIMITS.min_date - dt.timedelta(days=1)).isoformat(), (API_LIMITS.max_date + dt.timedelta(days=1)).isoformat()):
        r = check(client, {**KZ_VN, "on": day})
        assert r.status_code == 422 and r.json()["error"] == {
            "code": "invalid_request", "message": r.json()["error"]["message"], "field": "on"}


def test_body_size_limit_is_413(client):
    from visafree.api import MAX_BODY_BYTES

    r = client.post("/api/v1/check", content=b" " * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"


def test_unknown_paths_and_methods_use_the_error_shape(client):
    assert client.get("/api/v1/nothing").json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/check")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


# ------------------------------------------------------------------------------------ regimes

def test_regimes(client):
    listed = {r["id"]: r for r in client.get("/api/v1/regimes").json()["regimes"]}
    assert {"vn-kz", "schengen"} <= set(listed)
    vnkz = client.get("/api/v1/regimes/vn-kz").json()
    # RULES.md §1: in force from 2024-05-25, both directions, 30 days per stay, 90 in 180.
    assert vnkz["in_force"][0]["since"] == "2024-05-25" and vnkz["in_force"][0]["until"] is None
    pairs = {(n, d) for c in vnkz["coverage"] for n in c["nationalities"] for d in c["destinations"]}
    assert pairs == {("KAZ", "VNM"), ("VNM", "KAZ")}
    params = {p["name"]: p["values"][-1]["value"] for p in vnkz["parameters"]}
    assert (params["per_stay_max_days"], params["window_days"], params["window_max_days"]) == (30, 180, 90)
    assert {"R1", "R2", "R3", "R4"} <= {r["id"] for r in vnkz["rules"]}
    r = client.get("/api/v1/regimes/atlantis")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_regime"


# ------------------------------------------------------------------------------------ calendar

def test_calendar_ics_round_trips(client):
    # Open stay from Mar 1: leave by Mar 30 (R3). Earlier stay Jan 1-25 (25 days) and a 20-day
    # trip: from the reference date Mar 10 a trip Mar 10..29 needs 25 + 20 = 45 <= 90, so Mar 10.
    params = {**KZ_VN, "on": "2025-03-10", "stay": ["2025-01-01/2025-01-25", "2025-03-01/"], "trip_days": 20,
              "lang": "ru"}
    r = client.get("/api/v1/calendar.ics", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = {str(e["uid"]).split("-")[0]: e for e in cal.walk("VEVENT")}
    assert events["leave"].decoded("dtstart") == D(2025, 3, 30)
    assert "Выехать не позднее" in str(events["leave"]["summary"])
    assert events["earliest"].decoded("dtstart") == D(2025, 3, 10)
    assert events["leave"].walk("VALARM")  # a reminder before the leave-by day
    # Same question, same UIDs: importing twice updates rather than duplicates.
    again = Calendar.from_ical(client.get("/api/v1/calendar.ics", params=params).content)
    assert {str(e["uid"]) for e in again.walk("VEVENT")} == {str(e["uid"]) for e in cal.walk("VEVENT")}


@pytest.mark.parametrize("params, code, field", [
    ({**KZ_VN, "on": "2025-03-10", "stay": ["2025-01-01"]}, "invalid_request", "stays[0]"),
    ({**KZ_VN, "on": "2025-03-10", "stay": ["2025-01-09/2025-01-01"]}, "exit_before_entry", "stays[0].exit"),
    ({**KZ_VN, "on": "10.03.2025"}, "invalid_date", "on"),
    ({"regime": "vn-kz", "on": "2025-03-10"}, "invalid_request", "nationality"),
    ({**KZ_VN, "on": "2025-03-10", "stay": ["2024-01-01/2024-01-01"] * 201}, "invalid_request", "stays"),
])
def test_calendar_errors(client, params, code, field):
    r = client.get("/api/v1/calendar.ics", params=params)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field


# ------------------------------------------------------------------------------------ docs, page

def test_openapi_has_examples_for_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = op["responses"]["200"]["content"]
            assert any("example" in c or "examples" in c for c in ok.values()), (method, path)
    body = spec["paths"]["/api/v1/check"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/CheckRequest"} and body["examples"]
    assert "CheckRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_i18n_endpoint(client):
    m = client.get("/api/v1/i18n/ru").json()["messages"]
    assert m["Leave by"] == "Выехать не позднее"
    assert set(MESSAGES.values()) <= set(m)
    assert client.get("/api/v1/i18n/de").status_code == 404


def test_extra_routers_are_mounted():
    from fastapi import APIRouter
    from fastapi.testclient import TestClient

    from visafree.api import create_app

    router = APIRouter(prefix="/api/v1/register")

    @router.get("/ping")
    def ping():
        return {"pong": True}

    with TestClient(create_app(extra_routers=[router])) as c:
        assert c.get("/api/v1/register/ping").json() == {"pong": True}


# ------------------------------------------------------------------------------------ real server

def test_register_router_is_mounted_when_its_layer_is_installed():
    from visafree.api import create_app

    try:
        import visafree.register.api  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("register layer not installed")
    paths = create_app().openapi()["paths"]
    assert any(p.startswith("/api/v1/register/") for p in paths)


def test_real_server_round_trip(live_url):
    body = {**KZ_VN, "on": "2025-03-10", "stays": [{"entry": "2025-03-01"}]}
    with httpx.Client(base_url=live_url, timeout=10) as http:
        a = http.post("/api/v1/check", json=body).json()
        assert a["current_stay"]["latest_exit"] == "2025-03-30"
        r = http.post("/api/v1/check", json={**body, "regime": "nope"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_regime"
        assert http.get("/healthz").status_code == 200
        ics = http.get("/api/v1/calendar.ics", params={**KZ_VN, "on": "2025-03-10", "stay": "2025-03-01/"})
        assert [e.decoded("dtstart") for e in Calendar.from_ical(ics.content).walk("VEVENT")] == [D(2025, 3, 30)]


def test_real_server_refuses_a_chunked_body_that_grows_too_large(live_url):
    from visafree.api import MAX_BODY_BYTES

    def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(MAX_BODY_BYTES // 1024 + 10):
            yield b" " * 1024

    with httpx.Client(base_url=live_url, timeout=10) as http:
        r = http.post("/api/v1/check", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
