"""Issue 10, "Time zones": every destination's zone from the IANA database, posts with their
own zone (west Kazakhstan before 2024-03-01 is not Almaty time), offsets converted at the desk
as at ingest."""

from __future__ import annotations

import datetime as dt

import pytest

from visafree.register.countries import ISO_3166_ALPHA3
from visafree.register.ingest import ingest
from visafree.register.zones import country_zones, default_zone, zone_for

from .helpers import D, kaz

HEADER = "event_id,issuing_state,document_number,nationality,direction,time,border_post\n"


def test_every_inhabited_country_has_its_zones_from_the_iana_table():
    zones = country_zones()
    # zone.tab leaves out two uninhabited territories (Bouvet Island, Heard and McDonald Islands).
    assert ISO_3166_ALPHA3 - set(zones) == {"BVT", "HMD"}
    assert (default_zone("VNM"), default_zone("KAZ"), default_zone("DEU"), default_zone("FRA")) == (
        "Asia/Ho_Chi_Minh", "Asia/Almaty", "Europe/Berlin", "Europe/Paris")
    assert default_zone("USA") is None and default_zone("RUS") is None  # several zones, no single default
    assert {z for z, _ in zones["KAZ"]} >= {"Asia/Almaty", "Asia/Oral", "Asia/Aqtobe", "Asia/Atyrau", "Asia/Aqtau"}
    assert str(zone_for("KAZ", "uralsk AIRPORT")) == "Asia/Oral" and str(zone_for("KAZ", "Almaty airport")) == "Asia/Almaty"


def test_an_offset_at_the_desk_is_converted_to_the_local_date(register):
    # 23:30 at UTC-5 on 20 March is 11:30 on 21 March in Viet Nam (UTC+7).
    at = dt.time(23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    decision = register.record_entry(kaz("Z1"), D(2025, 3, 20), officer="o", border_post="HAN", at=at)
    assert decision.entry == D(2025, 3, 21)
    history = register.history(decision.traveller_key, actor="t", on=D(2025, 3, 22))
    assert (history.crossings[0]["date"], history.crossings[0]["time"]) == (D(2025, 3, 21), dt.time(11, 30))
    exit_record = register.record_exit(kaz("Z1"), D(2025, 3, 25), officer="o", border_post="HAN",
                                       at=dt.time(20, 0, tzinfo=dt.timezone.utc))
    assert exit_record.exit == D(2025, 3, 26)


def test_a_west_kazakhstan_post_keeps_its_own_zone_at_ingest(make_register, tmp_path):
    register = make_register(destination="KAZ")
    path = tmp_path / "kaz.csv"
    # 18:30 UTC on 1 February 2024: 23:30 in Oral (UTC+5), but 00:30 on 2 February in Almaty,
    # whose zone was UTC+6 until the tz database's change of 1 March 2024.
    path.write_text(HEADER + "k1,KAZ,W1,KAZ,entry,2024-02-01T18:30:00+00:00,Uralsk airport\n"
                             "k2,KAZ,W2,KAZ,entry,2024-02-01T18:30:00+00:00,Almaty airport\n"
                             "k3,KAZ,W3,KAZ,entry,2024-06-01T18:30:00+00:00,Almaty airport\n")
    assert ingest(register, path).stored == 3
    days = {}
    for number in ("W1", "W2", "W3"):
        crossing = register.history(register.traveller_key("KAZ", number), actor="t", on=D(2024, 7, 1)).crossings[0]
        days[number] = (crossing["date"], crossing["time"])
    assert days == {"W1": (D(2024, 2, 1), dt.time(23, 30)), "W2": (D(2024, 2, 2), dt.time(0, 30)),
                    "W3": (D(2024, 6, 1), dt.time(23, 30))}  # one zone, UTC+5, after 1 March 2024


def test_an_offset_where_the_zone_is_not_known_is_refused_by_name(make_register):
    from visafree.register.service import Document

    register = make_register(destination="USA")
    with pytest.raises(ValueError, match="time: has an offset"):
        register.record_entry(Document("KAZ", "U1", "KAZ", "ordinary", D(2032, 1, 1)), D(2025, 3, 1), officer="o",
                              border_post="JFK", at=dt.time(10, 0, tzinfo=dt.timezone.utc))
