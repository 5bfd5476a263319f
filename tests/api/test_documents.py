"""The forecast, the calendar file, the PDF report and the offline API docs (issue 11)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from visafree.api import create_app
from visafree.api.documents import font_files
from visafree.api.models import EXAMPLE_REQUEST
from visafree.contract import parse_request
from visafree.engine import forecast
from visafree.i18n import LANGUAGES
from visafree.regimes import builtin_regimes

icalendar = pytest.importorskip("icalendar")

KAZAKH = {"nationality": "KAZ", "destination": "VNM", "on": "2025-06-10",
          "stays": [{"entry": "2025-01-10", "exit": "2025-01-24"}, {"entry": "2025-03-01", "exit": "2025-03-28"},
                    {"entry": "2025-05-02", "exit": "2025-05-30"}],
          "planned": [{"entry": "2025-07-01", "exit": "2025-07-20"}, {"entry": "2025-08-15", "exit": "2025-09-20"}]}


def test_forecast_endpoint_is_the_engines_forecast(client):
    response = client.post("/api/v1/forecast", json=KAZAKH)
    assert response.status_code == 200
    body = response.json()
    question = parse_request({**KAZAKH, "regime": "vn-kz"}, builtin_regimes())
    want = forecast(question)
    assert body["regime"] == "vn-kz"  # picked by the resolution: `regime` was left out
    assert body["days_used"]["from"] == "2024-12-13"
    assert body["days_used"]["values"] == list(want.days_used)
    assert body["starts"]["longest_stay"] == list(want.longest_stay)
    assert body["starts"]["limited_by"] == list(want.limited_by)
    assert len(body["starts"]["longest_stay"]) == 365
    # Days used on the reference date: the check's days_used (72), the 180th value.
    assert body["days_used"]["values"][179] == 72
    # 1-20 July planned: the window ending 20 July starts 22 January, so 10-21 January (12
    # days) have left it and the 20 planned days have come in.
    july_20 = (dt.date(2025, 7, 20) - dt.date(2024, 12, 13)).days
    assert body["days_used"]["values"][july_20] == 72 - 12 + 20


def test_forecast_in_russian_names_the_months(client):
    body = client.post("/api/v1/forecast?lang=ru", json=KAZAKH).json()
    assert body["display"]["months"][6] == "июль"
    assert "Казахстан" in body["regime_title"] or "Вьетнам" in body["regime_title"]


def test_forecast_errors_and_no_regime(client):
    bad = client.post("/api/v1/forecast?lang=ru", json={**KAZAKH, "on": "2025-02-30"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "on"
    assert bad.headers["content-language"] == "ru"
    none = client.post("/api/v1/forecast", json={**KAZAKH, "nationality": "ZZZ", "planned": None})
    assert none.status_code == 200 and none.json()["status"] == "no_regime"
    assert client.post("/api/v1/forecast", content=b"{not json").status_code == 422


def test_calendar_has_every_planned_trip_its_leave_by_and_reminders(client):
    planned = [{"entry": (dt.date(2025, 7, 1) + dt.timedelta(days=10 * i)).isoformat(),
                "exit": (dt.date(2025, 7, 1) + dt.timedelta(days=10 * i + 2)).isoformat()} for i in range(50)]
    stays = [{"entry": (dt.date(2014, 1, 1) + dt.timedelta(days=2 * i)).isoformat(),
              "exit": (dt.date(2014, 1, 1) + dt.timedelta(days=2 * i)).isoformat()} for i in range(2000)]
    request = {"regime": "schengen", "nationality": "USA", "destination": "FRA", "on": "2025-06-10",
               "stays": stays, "planned": planned}
    response = client.post("/api/v1/calendar.ics?lang=en", json=request)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    events = [c for c in cal.walk("VEVENT")]
    trips = [e for e in events if str(e["uid"]).startswith("trip-") and "leave-by" not in str(e["uid"])]
    leave_by = [e for e in events if "leave-by" in str(e["uid"])]
    assert len(trips) == 50  # every planned trip, far beyond what a URL could carry
    assert len(leave_by) == 50
    first = trips[0]
    assert first.decoded("dtstart") == dt.date(2025, 7, 1)
    assert first.decoded("dtend") == dt.date(2025, 7, 4)  # exit 3 July, DTEND exclusive
    assert "Allowed" in str(first["summary"])
    assert all(e.walk("VALARM") for e in leave_by)
    assert leave_by[0].walk("VALARM")[0].decoded("trigger") == dt.timedelta(days=-3)
    # Not in the country, no trip length: the earliest return is there too.
    assert any(str(e["uid"]).startswith("earliest") for e in events)


def test_calendar_in_vietnamese_says_the_verdict_in_words(client):
    response = client.post("/api/v1/calendar.ics?lang=vi", json={**KAZAKH, "regime": "vn-kz"})
    cal = icalendar.Calendar.from_ical(response.content)
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    # Trip 2 (15 Aug - 20 Sep) is 37 days: over the 30 of R3.
    assert any(s.startswith("Chuyến đi dự kiến 2") and "Không được phép" in s for s in summaries), summaries
    assert response.headers["content-language"] == "vi"


def test_calendar_leave_by_says_which_rule_sets_it_whatever_the_rule(client):
    """A Belarusian with 85 days of 2025 used (vnm-blr's 90 days a calendar year): the leave-by
    event describes the fixed period's limit, as the answer's explanation does."""
    request = {"nationality": "BLR", "destination": "VNM", "on": "2025-07-03",
               "stays": [{"entry": "2025-02-01", "exit": "2025-03-02"}, {"entry": "2025-04-01", "exit": "2025-04-30"},
                         {"entry": "2025-06-01", "exit": "2025-06-22"}, {"entry": "2025-07-01", "exit": None}]}
    answer = client.post("/api/v1/check?lang=en", json=request).json()
    assert answer["current_stay"]["limited_by"] == "period_limit"
    sentence = next(n["text"] for n in answer["explanation"] if n["code"] == "latest_exit_period")
    cal = icalendar.Calendar.from_ical(client.post("/api/v1/calendar.ics?lang=en", json=request).content)
    leave_by = next(e for e in cal.walk("VEVENT") if str(e["uid"]).startswith("leave-by-"))
    assert leave_by.decoded("dtstart") == dt.date.fromisoformat(answer["current_stay"]["latest_exit"])
    assert sentence in str(leave_by["description"])


@pytest.mark.skipif(font_files() is None, reason="Debian's fonts-dejavu-core is not installed")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_pdf_report_in_every_language(client, lang):
    response = client.post(f"/api/v1/report.pdf?lang={lang}", json=EXAMPLE_REQUEST)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"DejaVuSans" in response.content  # the font that has Vietnamese and Cyrillic glyphs, embedded
    assert response.headers["content-language"] == lang


def test_pdf_report_refuses_bad_input_in_the_readers_language(client):
    response = client.post("/api/v1/report.pdf?lang=ru", json={**EXAMPLE_REQUEST, "stays": [
        {"entry": "2025-01-25", "exit": "2025-01-01"}]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "stays[0].exit"
    assert "1" in response.json()["error"]["message"] and "stays[0]" not in response.json()["error"]["message"]


def test_docs_and_redoc_are_served_from_local_assets(client):
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        scripts = re.findall(r'src="([^"]+)"', page.text) + re.findall(r'href="([^"]+)"', page.text)
        assert scripts and all(s.startswith("/") for s in scripts), scripts  # no CDN
        for asset in scripts:
            assert client.get(asset).status_code == 200, asset


def test_register_endpoints_declare_bearer_security_and_every_operation_has_an_example():
    from fastapi.testclient import TestClient

    pytest.importorskip("sqlalchemy")
    schema = TestClient(create_app()).get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        **schema["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    register = {p: ops for p, ops in schema["paths"].items() if p.startswith("/api/v1/register")}
    assert register
    for path, operations in register.items():
        for operation in operations.values():
            assert operation["security"] == [{"bearerAuth": []}], path
            assert {"401", "403"} <= set(operation["responses"]), path
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            examples = [m for r in operation["responses"].values() for m in r.get("content", {}).values()
                        if "example" in m or "examples" in m]
            assert examples, (method, path)
