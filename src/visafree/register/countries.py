"""Country codes a register accepts: ISO 3166-1 alpha-3 plus the codes ICAO Doc 9303 adds.

A code outside this set is refused by name, because a typo in a nationality silently changes
which regime (and so which rules) apply to a traveller.
"""

from __future__ import annotations

ISO_3166_ALPHA3 = frozenset("""
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR
BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG
COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH
FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM
KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL
MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR
NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU
SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA
TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB
VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
""".split())

# ICAO Doc 9303 Part 3: Germany's one-letter code, British nationality categories, UN and EU
# documents, stateless persons and refugees, and Kosovo (used by some issuers).
ICAO_EXTRA = frozenset({
    "D", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XXA", "XXB", "XXC", "XXX",
    "EUE", "RKS", "XOM", "XPO",
})

KNOWN_CODES = ISO_3166_ALPHA3 | ICAO_EXTRA


def country_code(value: str, field: str) -> str:
    """The code normalised (MRZ filler '<' removed, upper case), or ValueError naming the field."""
    code = (value or "").strip().replace("<", "").upper() if isinstance(value, str) else ""
    if code not in KNOWN_CODES:
        # The value is echoed only when it is a short code of plain letters: never a long or
        # odd string, which may be something else (a name, a number) put in the wrong column.
        shown = f" {value!r}" if isinstance(value, str) and 1 <= len(value) <= 4 and value.isascii() and value.isalnum() else ""
        raise ValueError(f"{field}: unknown country code{shown} (ISO 3166-1 alpha-3 or ICAO 9303 code expected)")
    return code
