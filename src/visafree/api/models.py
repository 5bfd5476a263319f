"""Pydantic models of the v1 contract, for the OpenAPI document.

`visafree.contract` stays the one parser of requests (it owns the error codes); these models
describe the same shapes so `/openapi.json` and `/docs` show them, and the tests check every
response against them. Field names follow the contract exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from visafree.contract import ERROR_CODES, REQUEST_FIELDS

PassportType = Literal["ordinary", "diplomatic", "service"]
Country = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 3166-1 alpha-3 code, e.g. KAZ, VNM, USA, FRA")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BasisIn(_Strict):
    """The basis of a stay (docs/basis.md): a visa {kind, valid_from, valid_until, entries,
    duration_days}, a residence permit {valid_until}, a long-stay visa, or visa-free."""

    type: Literal["visa_free", "visa", "residence_permit", "long_stay_visa"]
    kind: Literal["short_stay", "e_visa", "transit", "on_arrival", "other"] | None = Field(
        None, description="Visa only; default short_stay")
    valid_from: dt.date | None = Field(None, description="Visa: first day of validity (required)")
    valid_until: dt.date | None = Field(None, description="Visa or residence permit: last day of validity (required)")
    entries: Literal["single", "double", "multiple"] | None = Field(None, description="Visa only; default multiple")
    duration_days: int | None = Field(None, ge=1, le=100_000, description="Visa only: the longest stay it allows")


StayBasis = BasisIn | Literal["visa_free", "long_stay_visa"] | None
BASIS_DESCRIPTION = "The basis of the stay; omit for a visa-free stay (docs/basis.md)"


class StayIn(_Strict):
    entry: dt.date = Field(description="Day of entry, destination's local date (YYYY-MM-DD)")
    exit: dt.date | None = Field(None, description="Day of exit; omit or null while still in the country")
    basis: StayBasis = Field(None, description=BASIS_DESCRIPTION)


class PlannedIn(_Strict):
    entry: dt.date
    exit: dt.date = Field(description="A planned trip needs an exit date")
    basis: StayBasis = Field(None, description=BASIS_DESCRIPTION)


class PassportIn(_Strict):
    type: PassportType = "ordinary"
    expires: dt.date
    issued: dt.date | None = None


EXAMPLE_REQUEST = {
    "regime": "vn-kz",
    "nationality": "KAZ",
    "destination": "VNM",
    "on": "2025-03-10",
    "passport": {"type": "ordinary", "expires": "2030-01-01"},
    "stays": [{"entry": "2025-01-01", "exit": "2025-01-25"}, {"entry": "2025-03-01"}],
    "planned": [{"entry": "2025-04-01", "exit": "2025-05-05"}],
    "trip_days": 20,
}


class CheckRequest(_Strict):
    """The v1 check request."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_REQUEST]})

    regime: str | None = Field(None, description="Regime id (see GET /api/v1/regimes); leave it out and every regime "
                               "that applies is judged, the most favourable answering (`resolution`)")
    nationality: str = Country
    destination: str = Country
    on: dt.date = Field(description="Reference date: the day the question is asked about")
    stays: list[StayIn] = Field(default_factory=list, description="Recorded stays, the latest may have no exit")
    passport: PassportIn | None = None
    planned: list[PlannedIn] | None = Field(None, description="Future trips to judge, each on top of the ones before")
    trip_days: int | None = Field(None, ge=1, le=100_000, description="Length of a trip to find the earliest start for")


assert set(CheckRequest.model_fields) == REQUEST_FIELDS  # the contract and the schema must agree


class Window(BaseModel):
    start: dt.date
    end: dt.date


class CurrentStay(BaseModel):
    entry: dt.date
    day: int = Field(description="Day number of the stay on the reference date (entry day = 1)")
    latest_exit: dt.date | None = Field(description="The true last day the rules allow (leave by)")
    limited_by: str | None = Field(description="Reason code of the rule that sets latest_exit")
    basis: str = Field("visa_free", description="Basis of the stay: visa_free, visa, residence_permit or long_stay_visa")
    entry_problems: list[str] = Field(default_factory=list, description=(
        "Reason codes that made the entry itself not visa-free (e.g. passport_validity): reported "
        "apart, while latest_exit still follows the stay rules"))


class Violation(BaseModel):
    date: dt.date
    rule: str
    code: str
    days: int
    stay: int
    basis: str = Field("visa_free", description="Basis of the stay: visa_free, visa, residence_permit or long_stay_visa")


class StayOut(BaseModel):
    entry: dt.date
    exit: dt.date | None
    days: int
    first_violation: dt.date | None
    violation: str | None
    overstay_days: int
    basis: str = Field("visa_free", description="Basis of the stay: visa_free, visa, residence_permit or long_stay_visa")


class Convention(BaseModel):
    entry_day_counts: bool


class Note(BaseModel):
    rule: str
    code: str
    text: str = Field(description="Rendered in the requested language")
    params: dict[str, Any]


class PlannedOut(BaseModel):
    entry: dt.date
    exit: dt.date | None
    ok: bool
    reasons: list[str]
    latest_exit: dt.date | None
    limited_by: str | None
    basis: str = Field("visa_free", description="Basis of the stay: visa_free, visa, residence_permit or long_stay_visa")
    visa_needed_days: int | None = Field(None, description="Days of this trip the visa-free regime cannot cover")
    visa_needed_from: dt.date | None = Field(None, description="The first day of this trip that needs a visa")


class EarliestEntry(BaseModel):
    trip_days: int
    date: dt.date | None
    reasons: list[str]


class Display(BaseModel):
    """Added when a language is asked for: what a page needs to show the answer in that language."""

    lang: str
    dates: dict[str, str] = Field(description="ISO date -> the date in the language's long format")
    reasons: dict[str, str] = Field(description="Reason code -> its human name")


class Alternative(BaseModel):
    """Another regime that applies, judged but not chosen."""

    regime: str
    title: str
    days_used: int | None
    days_remaining: int | None
    overstay_days: int
    latest_exit: dt.date | None
    earliest_entry: dt.date | None
    planned_ok: list[bool] | None


class ResolutionOut(BaseModel):
    requested: bool = Field(description="The request named the regime")
    applicable: list[str] = Field(description="Ids of the regimes that apply on the reference date")
    chosen: str | None = Field(description="The regime of the answer; null with status no_regime")
    chosen_title: str | None
    why: str = Field(description="requested, only, planned, latest_exit, earliest_entry, overstay, equal, "
                                 "none_in_force or no_regime")
    alternatives: list[Alternative]


class CheckResponse(BaseModel):
    status: str = Field(description="ok, or no_regime: no visa-free regime covers the traveller "
                                    "(a visa or permit is needed); then only resolution and explanation follow")
    regime: str | None
    regime_title: str | None = None
    resolution: ResolutionOut | None = None
    on: dt.date | None = None
    nationality: str | None = None
    destination: str | None = None
    window: Window | None = None
    days_used: int | None = None
    days_remaining: int | None = None
    in_country: bool | None = None
    current_stay: CurrentStay | None = None
    overstay_days: int | None = None
    violations: list[Violation] | None = None
    stays: list[StayOut] | None = None
    passport_judged: bool | None = None
    convention: Convention | None = None
    explanation: list[Note]
    planned: list[PlannedOut] | None = None
    earliest_entry: EarliestEntry | None = None
    display: Display | None = None


class ErrorBody(BaseModel):
    code: str = Field(
        description="For POST /api/v1/check one of: " + ", ".join(ERROR_CODES)
        + "; other endpoints also use not_found, method_not_allowed, request_too_large",
        examples=["invalid_date"],
    )
    message: str
    field: str | None = Field(description="JSON path of the offending field, e.g. stays[1].exit")


class ErrorResponse(BaseModel):
    error: ErrorBody


class InForce(BaseModel):
    since: dt.date
    until: dt.date | None
    source: str


class DatedMember(BaseModel):
    code: str
    role: Literal["nationality", "destination"]
    since: dt.date | None
    until: dt.date | None


class Coverage(BaseModel):
    nationalities: list[str]
    destinations: list[str]
    rule: str
    source: str | None
    dated: list[DatedMember] = Field(description="Countries covered for periods of their own (added later, ended)")


class RegimeSummary(BaseModel):
    id: str
    title: str
    titles: dict[str, str] = Field(description="The title per language code (en, vi, ru, kk)")
    kind: str | None = Field(description="unilateral, bilateral or multilateral")
    source: str
    notes: str
    in_force: list[InForce]
    coverage: list[Coverage]


class RuleOut(BaseModel):
    id: str
    title: str
    titles: dict[str, str]
    citation: str
    text: str


class ParameterValue(BaseModel):
    since: dt.date
    until: dt.date | None
    value: Any
    source: str


class ParameterOut(BaseModel):
    name: str
    rule: str
    description: str
    values: list[ParameterValue]


class RegimeDetail(RegimeSummary):
    rules: list[RuleOut]
    parameters: list[ParameterOut]


class RegimeList(BaseModel):
    regimes: list[RegimeSummary]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    regimes: list[str]
    languages: list[str]


class Messages(BaseModel):
    lang: str
    languages: list[str]
    messages: dict[str, str]


# ------------------------------------------------------------------------ forecast (issue 11)


class ForecastWindow(BaseModel):
    days: int = Field(description="Length of the rolling window (R4), e.g. 180")
    max_days: int = Field(description="Most days of presence allowed in it, e.g. 90")


class DaysUsedSeries(BaseModel):
    start: dt.date = Field(alias="from", description="The day of values[0]: the first day of the window ending on `on`")
    values: list[int] = Field(description="Days used in the window ending on each day (recorded and planned presence)")


class StartSeries(BaseModel):
    start: dt.date = Field(alias="from", description="The start date of longest_stay[0]: the reference date")
    longest_stay: list[int] = Field(description="Longest stay allowed entering on each day, in days (0: entry refused)")
    limited_by: list[str | None] = Field(description="Reason code that sets that length or refuses the entry")


class ForecastDisplay(BaseModel):
    lang: str
    months: list[str] = Field(description="Month names in the language, January first")
    dates: dict[str, str] = Field(default_factory=dict, description="ISO date -> the date in the language's format, "
                                  "for every day of the calendar")


class Country(BaseModel):
    code: str = Field(description="ISO 3166-1 alpha-3")
    name: str


class Countries(BaseModel):
    lang: str
    nationalities: list[Country]
    destinations: list[Country]


class ForecastResponse(BaseModel):
    status: str = Field(description="ok, or no_regime: no visa-free regime covers the traveller")
    regime: str | None
    regime_title: str | None = None
    on: dt.date
    window: ForecastWindow | None
    days_used: DaysUsedSeries | None
    starts: StartSeries | None
    display: ForecastDisplay | None = None
