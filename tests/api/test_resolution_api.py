"""POST /api/v1/check without `regime`: the server finds the regime (RULES.md §4)."""


def test_without_regime_us_traveller_in_france_is_counted_under_schengen(client):
    r = client.post("/api/v1/check", json={"nationality": "USA", "destination": "FRA", "on": "2025-02-01",
                                           "stays": [{"entry": "2025-01-10", "exit": "2025-01-24"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["regime"]) == ("ok", "schengen")
    assert body["resolution"]["requested"] is False and "schengen" in body["resolution"]["applicable"]
    assert (body["days_used"], body["days_remaining"]) == (15, 75)  # Jan 10-24: 15 days of 90


def test_no_regime_is_an_answer_in_the_language_asked(client):
    r = client.post("/api/v1/check", json={"nationality": "KAZ", "destination": "FRA", "on": "2025-06-01"},
                    params={"lang": "vi"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["regime"], body["resolution"]["chosen"]) == ("no_regime", None, None)
    assert body["explanation"][0]["code"] == "no_regime"
    assert body["explanation"][0]["text"].startswith("Không có chế độ miễn thị thực")


def test_a_named_regime_is_used_as_given(client):
    r = client.post("/api/v1/check", json={"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM",
                                           "on": "2024-08-15", "stays": [{"entry": "2024-08-01"}]})
    body = r.json()
    assert body["regime"] == "vn-kz" and body["resolution"]["why"] == "requested"
    assert body["current_stay"]["latest_exit"] == "2024-08-30"  # R3: day 30 from 1 August
