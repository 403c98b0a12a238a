"""Places of the demonstration world: countries, admin areas, sites, corridors and crossings.

Coordinates of crossings and hubs come from the facts sheet (approximate, within a few km); the
other coordinates are approximate public locations. Catchment populations, traffic at sites that
are not points of entry, remoteness and the reporting arrangements are [assumed] (docs/demo.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from corridor.demo.facts import COUNTRIES, COUNTRY

CORRIDORS: Final[dict[str, str]] = {
    "northern": "Northern Corridor (Mombasa-Kampala-Kigali)",
    "central": "Central Corridor (Dar es Salaam-Kigali/Bujumbura)",
    "dar_es_salaam": "Dar es Salaam Corridor (TAZARA/TANZAM)",
    "north_south": "North-South Corridor (Durban-Lubumbashi)",
    "beira": "Beira Corridor",
    "maputo": "Maputo Corridor",
    "trans_kalahari": "Trans-Kalahari Corridor",
}

POE_TYPES: Final = ("border_crossing", "seaport")


@dataclass(frozen=True, slots=True)
class Site:
    """A demonstration site (a place below country/admin level)."""

    code: str
    name: str
    place_type: str
    country: str  # ISO3, upper-case
    lat: float
    lon: float
    population: int  # resident catchment population [assumed]
    reporting: str  # DHIS2 reporting: full (group x sex x age) | sex | total | none
    remoteness: float  # 0 (well served) .. 1 (remote); lowers service coverage [assumed]
    trucks: float = 0.0  # trucks/day passing or stopping (sites that are not points of entry)
    travellers: float = 0.0  # other travellers/day passing (sites that are not points of entry)
    admin1: str = ""  # parent admin1 code, when the world has one
    fmp_from: str = ""  # first month (YYYY-MM) of an active flow-monitoring point, "" if none
    extra_corridors: tuple[str, ...] = ()  # corridors of a site off the trunk routes

    @property
    def is_poe(self) -> bool:
        return self.place_type in POE_TYPES

    @property
    def iso2(self) -> str:
        return COUNTRY[self.country].iso2


def _s(
    code: str,
    name: str,
    place_type: str,
    lat: float,
    lon: float,
    population: int,
    reporting: str,
    remoteness: float,
    trucks: float = 0.0,
    travellers: float = 0.0,
    *,
    admin1: str = "",
    fmp_from: str = "",
    extra: tuple[str, ...] = (),
) -> Site:
    country = next(c.iso3 for c in COUNTRIES if c.iso2 == code[:2])
    return Site(
        code, name, place_type, country, lat, lon, population, reporting, remoteness,
        trucks, travellers, admin1, fmp_from, extra,
    )  # fmt: skip


BC, SP, TS, MI, FI = "border_crossing", "seaport", "truck_stop", "mine", "fishing_site"
CS, FC, MK, UH = "construction_site", "farm_compound", "market", "urban_hotspot"

#: admin1 areas (Kenyan counties, codes after the official county numbers): code, name, lat, lon,
#: population (KNBS 2019 census, rounded)
ADMIN1: Final[tuple[tuple[str, str, float, float, int], ...]] = (
    ("ke001", "Mombasa County", -4.04, 39.67, 1_208_000),
    ("ke006", "Taita-Taveta County", -3.40, 38.37, 341_000),
    ("ke016", "Machakos County", -1.52, 37.26, 1_422_000),
    ("ke032", "Nakuru County", -0.30, 36.08, 2_162_000),
    ("ke034", "Kajiado County", -2.10, 36.78, 1_118_000),
    ("ke040", "Busia County", 0.43, 34.20, 894_000),
    ("ke042", "Kisumu County", -0.09, 34.77, 1_156_000),
    ("ke047", "Nairobi County", -1.29, 36.82, 4_397_000),
)

# fmt: off
SITES: Final[tuple[Site, ...]] = (
    # Kenya
    _s("ke-mombasa", "Mombasa port (Changamwe)", SP, -4.040, 39.690, 250_000, "full", 0.10,
       admin1="ke001", fmp_from="2023-01"),
    _s("ke-mlolongo", "Mlolongo truck stop", TS, -1.390, 36.940, 60_000, "full", 0.20, 3000, 5000,
       admin1="ke016"),
    _s("ke-nairobi", "Nairobi (Eastleigh)", UH, -1.280, 36.850, 300_000, "sex", 0.05, 1500, 20000,
       admin1="ke047"),
    _s("ke-naivasha", "Naivasha flower farms", FC, -0.770, 36.400, 80_000, "sex", 0.30, 2000, 3000,
       admin1="ke032"),
    _s("ke-dunga", "Dunga landing site (Kisumu)", FI, -0.143, 34.737, 15_000, "full", 0.35, 0, 800,
       admin1="ke042"),
    _s("ke-malaba", "Malaba (Kenya)", BC, 0.636, 34.275, 40_000, "full", 0.30, admin1="ke040",
       fmp_from="2019-01"),
    _s("ke-busia", "Busia (Kenya)", BC, 0.461, 34.110, 60_000, "full", 0.25, admin1="ke040",
       fmp_from="2021-07"),
    _s("ke-namanga", "Namanga (Kenya)", BC, -2.545, 36.790, 15_000, "sex", 0.40, admin1="ke034"),
    _s("ke-taveta", "Taveta", BC, -3.395, 37.675, 20_000, "sex", 0.40, admin1="ke006",
       fmp_from="2023-01"),
    # Uganda
    _s("ug-malaba", "Malaba (Uganda)", BC, 0.630, 34.260, 30_000, "sex", 0.35),
    _s("ug-busia", "Busia (Uganda)", BC, 0.466, 34.090, 65_000, "full", 0.30),
    _s("ug-kampala", "Kampala (Kisenyi)", UH, 0.315, 32.570, 300_000, "sex", 0.05, 1500, 20000),
    _s("ug-lukaya", "Lukaya", TS, -0.148, 31.874, 20_000, "full", 0.35, 1500, 2000),
    _s("ug-kasensero", "Kasensero landing site", FI, -0.848, 31.786, 12_000, "full", 0.55, 0, 1500),
    _s("ug-rwenshama", "Rwenshama landing site (Lake Edward)", FI, -0.400, 29.780, 8_000, "total",
       0.70, 0, 500),
    _s("ug-karuma", "Karuma hydropower project", CS, 2.250, 32.240, 12_000, "sex", 0.50, 300, 1500),
    _s("ug-katuna", "Katuna (Uganda)", BC, -1.425, 30.010, 10_000, "total", 0.50),
    _s("ug-mpondwe", "Mpondwe (Bwera)", BC, 0.040, 29.725, 40_000, "sex", 0.45, fmp_from="2019-07"),
    _s("ug-elegu", "Elegu", BC, 3.560, 32.070, 15_000, "sex", 0.55, fmp_from="2020-01"),
    # Rwanda
    _s("rw-gatuna", "Gatuna (Rwanda)", BC, -1.433, 30.018, 8_000, "total", 0.35),
    _s("rw-rusumo", "Rusumo (Rwanda)", BC, -2.380, 30.785, 10_000, "sex", 0.35),
    _s("rw-kigali", "Kigali (Nyabugogo)", UH, -1.940, 30.050, 200_000, "sex", 0.05, 800, 10000),
    # Tanzania
    _s("tz-namanga", "Namanga (Tanzania)", BC, -2.550, 36.785, 12_000, "total", 0.45),
    _s("tz-holili", "Holili", BC, -3.370, 37.630, 10_000, "total", 0.45),
    _s("tz-rusumo", "Rusumo (Tanzania)", BC, -2.385, 30.780, 8_000, "sex", 0.50),
    _s("tz-kabanga", "Kabanga", BC, -2.890, 30.520, 10_000, "total", 0.55),
    _s("tz-dar-es-salaam", "Dar es Salaam port", SP, -6.820, 39.290, 300_000, "full", 0.10),
    _s("tz-kariakoo", "Kariakoo market (Dar es Salaam)", MK, -6.818, 39.272, 100_000, "total", 0.10,
       200, 30000, extra=("central", "dar_es_salaam")),
    _s("tz-isaka", "Isaka dry port", TS, -3.900, 32.930, 15_000, "sex", 0.45, 800, 2000),
    _s("tz-geita", "Geita gold mine", MI, -2.870, 32.230, 60_000, "sex", 0.45, 100, 2500),
    _s("tz-makambako", "Makambako", TS, -8.850, 34.830, 40_000, "full", 0.35, 1200, 3000),
    _s("tz-tunduma", "Tunduma", BC, -9.300, 32.770, 60_000, "full", 0.35, fmp_from="2021-01"),
    _s("tz-rufiji", "Julius Nyerere hydropower project (Rufiji)", CS, -7.800, 37.850, 15_000, "sex",
       0.60, 150, 1000, extra=("dar_es_salaam",)),
    # Burundi
    _s("bi-bujumbura", "Bujumbura Nord", UH, -3.360, 29.360, 200_000, "sex", 0.15, 300, 8000),
    _s("bi-gatumba", "Gatumba", BC, -3.330, 29.250, 20_000, "total", 0.45, fmp_from="2023-01"),
    _s("bi-kobero", "Kobero", BC, -2.895, 30.515, 8_000, "total", 0.55),
    # DR Congo
    _s("cd-kasindi", "Kasindi", BC, 0.040, 29.710, 30_000, "total", 0.70),
    _s("cd-uvira", "Uvira (Kavimvira)", BC, -3.370, 29.150, 150_000, "total", 0.55),
    _s("cd-bukavu", "Bukavu", UH, -2.510, 28.860, 200_000, "sex", 0.40, 100, 8000),
    _s("cd-kamituga", "Kamituga", MI, -3.060, 28.180, 60_000, "total", 0.80, 20, 1500),
    _s("cd-kasumbalesa", "Kasumbalesa (DR Congo)", BC, -12.270, 27.795, 40_000, "total", 0.55),
    _s("cd-lubumbashi", "Lubumbashi", UH, -11.680, 27.480, 300_000, "sex", 0.25, 900, 10000),
    # South Sudan
    _s("ss-nimule", "Nimule", BC, 3.600, 32.060, 30_000, "none", 0.80),
    _s("ss-juba", "Juba (Konyo Konyo)", MK, 4.850, 31.600, 200_000, "total", 0.50, 300, 6000),
    # Zambia
    _s("zm-nakonde", "Nakonde", BC, -9.330, 32.755, 50_000, "full", 0.35),
    _s("zm-kapiri-mposhi", "Kapiri Mposhi", TS, -13.970, 28.680, 40_000, "full", 0.30, 1500, 4000),
    _s("zm-lusaka", "Lusaka (Kamwala)", UH, -15.430, 28.290, 300_000, "sex", 0.05, 1200, 15000),
    _s("zm-ndola", "Ndola", UH, -12.970, 28.640, 150_000, "sex", 0.15, 900, 6000),
    _s("zm-kitwe", "Kitwe (Nkana mine)", MI, -12.800, 28.210, 150_000, "sex", 0.20, 900, 6000),
    _s("zm-chingola", "Chingola (Nchanga mine)", MI, -12.530, 27.850, 100_000, "sex", 0.25, 900,
       4000),
    _s("zm-kasumbalesa", "Kasumbalesa (Zambia)", BC, -12.255, 27.805, 20_000, "full", 0.40,
       fmp_from="2020-07"),
    _s("zm-chirundu", "Chirundu (Zambia)", BC, -16.030, 28.850, 15_000, "full", 0.40),
    _s("zm-kazungula", "Kazungula (Zambia)", BC, -17.785, 25.268, 10_000, "sex", 0.45),
    _s("zm-mazabuka", "Nakambala sugar estate (Mazabuka)", FC, -15.850, 27.760, 40_000, "sex", 0.35,
       300, 2000),
    # Zimbabwe
    _s("zw-beitbridge", "Beitbridge (Zimbabwe)", BC, -22.215, 30.000, 50_000, "full", 0.30,
       fmp_from="2019-01"),
    _s("zw-masvingo", "Masvingo", TS, -20.070, 30.830, 30_000, "sex", 0.30, 700, 4000),
    _s("zw-harare", "Harare (Mbare market)", MK, -17.860, 31.040, 200_000, "sex", 0.10, 1200,
       15000),
    _s("zw-chirundu", "Chirundu (Zimbabwe)", BC, -16.040, 28.855, 10_000, "full", 0.45),
    _s("zw-forbes", "Forbes (Mutare)", BC, -18.990, 32.700, 40_000, "sex", 0.30),
    # Mozambique
    _s("mz-beira", "Beira port", SP, -19.820, 34.870, 200_000, "sex", 0.20),
    _s("mz-chimoio", "Chimoio", TS, -19.120, 33.480, 50_000, "full", 0.30, 1100, 4000),
    _s("mz-machipanda", "Machipanda", BC, -18.985, 32.720, 8_000, "total", 0.50),
    _s("mz-moatize", "Moatize coal mine (Tete)", MI, -16.120, 33.740, 60_000, "sex", 0.45, 300,
       2500),
    _s("mz-zobue", "Zobue", BC, -15.600, 34.430, 10_000, "total", 0.60),
    _s("mz-ressano-garcia", "Ressano Garcia", BC, -25.440, 31.990, 20_000, "full", 0.35,
       fmp_from="2021-01"),
    _s("mz-maputo", "Maputo port", SP, -25.970, 32.570, 250_000, "sex", 0.10),
    _s("mz-namaacha", "Namaacha", BC, -25.980, 32.020, 15_000, "total", 0.45),
    # Malawi
    _s("mw-mwanza", "Mwanza (Malawi)", BC, -15.605, 34.510, 10_000, "sex", 0.45),
    _s("mw-blantyre", "Blantyre (Limbe)", UH, -15.800, 35.050, 200_000, "sex", 0.10, 300, 6000),
    _s("mw-mangochi", "Mangochi (Lake Malawi)", FI, -14.480, 35.260, 40_000, "sex", 0.45, 50, 1500),
    # South Africa
    _s("za-beitbridge", "Beitbridge (South Africa)", BC, -22.225, 29.995, 20_000, "full", 0.30),
    _s("za-musina", "Musina farms (Limpopo)", FC, -22.350, 30.040, 30_000, "sex", 0.40, 700, 3000),
    _s("za-johannesburg", "Johannesburg (Hillbrow)", UH, -26.190, 28.050, 300_000, "full", 0.05,
       3000, 30000),
    _s("za-carletonville", "Carletonville gold mines", MI, -26.360, 27.400, 100_000, "full", 0.25,
       100, 3000),
    _s("za-harrismith", "Harrismith truck stop", TS, -28.270, 29.130, 30_000, "full", 0.25, 4000,
       6000),
    _s("za-durban", "Durban port", SP, -29.870, 31.030, 300_000, "sex", 0.05),
    _s("za-lebombo", "Lebombo (Komatipoort)", BC, -25.445, 31.975, 15_000, "sex", 0.30),
    _s("za-skilpadshek", "Skilpadshek", BC, -25.275, 25.715, 5_000, "total", 0.50),
    # Botswana
    _s("bw-kazungula", "Kazungula (Botswana)", BC, -17.795, 25.258, 8_000, "sex", 0.45),
    _s("bw-gaborone", "Gaborone", UH, -24.650, 25.910, 200_000, "sex", 0.05, 500, 8000),
    _s("bw-mamuno", "Mamuno", BC, -22.280, 20.010, 3_000, "total", 0.70),
    _s("bw-pioneer-gate", "Pioneer Gate (Lobatse)", BC, -25.285, 25.705, 5_000, "total", 0.40),
    # Namibia
    _s("na-walvis-bay", "Walvis Bay port", SP, -22.960, 14.510, 100_000, "sex", 0.15),
    _s("na-windhoek", "Windhoek (Katutura)", UH, -22.530, 17.050, 150_000, "sex", 0.10, 300, 5000),
    _s("na-buitepos", "Trans-Kalahari (Buitepos)", BC, -22.280, 19.990, 2_000, "none", 0.75),
    # Eswatini
    _s("sz-lomahasha", "Lomahasha", BC, -25.990, 31.990, 8_000, "sex", 0.45),
    _s("sz-matsapha", "Matsapha-Manzini industrial area", UH, -26.490, 31.370, 100_000, "sex", 0.15,
       300, 4000),
    # Lesotho
    _s("ls-maseru-bridge", "Maseru Bridge", BC, -29.310, 27.480, 20_000, "sex", 0.30),
    _s("ls-maseru", "Maseru (Thetsane industrial area)", UH, -29.340, 27.530, 150_000, "sex", 0.15,
       300, 8000),
)

#: trunk routes of the corridors as ordered site sequences (the corridor graph's edges)
ROUTES: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "northern": (
        ("ke-mombasa", "ke-mlolongo", "ke-nairobi", "ke-naivasha", "ke-malaba", "ug-malaba",
         "ug-kampala", "ug-lukaya", "ug-katuna", "rw-gatuna", "rw-kigali"),
        ("ke-naivasha", "ke-dunga", "ke-busia", "ug-busia", "ug-kampala"),
        ("ug-kampala", "ug-mpondwe", "cd-kasindi"),
        ("ug-kampala", "ug-karuma", "ug-elegu", "ss-nimule", "ss-juba"),
        ("ke-mombasa", "ke-taveta", "tz-holili"),
        ("ke-nairobi", "ke-namanga", "tz-namanga"),
    ),
    "central": (
        ("tz-dar-es-salaam", "tz-isaka", "tz-rusumo", "rw-rusumo", "rw-kigali"),
        ("tz-isaka", "tz-geita"),
        ("tz-isaka", "tz-kabanga", "bi-kobero", "bi-bujumbura", "bi-gatumba", "cd-uvira",
         "cd-bukavu", "cd-kamituga"),
        ("rw-kigali", "cd-bukavu"),
    ),
    "dar_es_salaam": (
        ("tz-dar-es-salaam", "tz-makambako", "tz-tunduma", "zm-nakonde", "zm-kapiri-mposhi",
         "zm-ndola", "zm-kitwe", "zm-chingola", "zm-kasumbalesa", "cd-kasumbalesa",
         "cd-lubumbashi"),
    ),
    "north_south": (
        ("za-durban", "za-harrismith", "za-johannesburg", "za-beitbridge", "zw-beitbridge",
         "zw-masvingo", "zw-harare", "zw-chirundu", "zm-chirundu", "zm-lusaka",
         "zm-kapiri-mposhi", "zm-ndola", "zm-kitwe", "zm-chingola", "zm-kasumbalesa",
         "cd-kasumbalesa", "cd-lubumbashi"),
        ("za-johannesburg", "za-carletonville"),
        ("za-beitbridge", "za-musina"),
        ("bw-gaborone", "bw-kazungula", "zm-kazungula", "zm-mazabuka", "zm-lusaka"),
    ),
    "beira": (
        ("mz-beira", "mz-chimoio", "mz-machipanda", "zw-forbes", "zw-harare"),
        ("mz-beira", "mz-moatize", "mz-zobue", "mw-mwanza", "mw-blantyre"),
    ),
    "maputo": (
        ("za-johannesburg", "za-lebombo", "mz-ressano-garcia", "mz-maputo"),
        ("za-johannesburg", "sz-matsapha", "sz-lomahasha", "mz-namaacha", "mz-maputo"),
    ),
    "trans_kalahari": (
        ("na-walvis-bay", "na-windhoek", "na-buitepos", "bw-mamuno", "bw-gaborone",
         "bw-pioneer-gate", "za-skilpadshek", "za-johannesburg"),
    ),
}

#: links off the trunk routes (lake shores, feeder roads, cities and their markets)
LOCAL_LINKS: Final[tuple[tuple[str, str], ...]] = (
    ("ug-lukaya", "ug-kasensero"),
    ("ug-mpondwe", "ug-rwenshama"),
    ("cd-bukavu", "cd-kasindi"),  # via Goma and Butembo (North Kivu)
    ("tz-dar-es-salaam", "tz-kariakoo"),
    ("tz-dar-es-salaam", "tz-rufiji"),
    ("mw-blantyre", "mw-mangochi"),
    ("ls-maseru", "ls-maseru-bridge"),
    ("ls-maseru-bridge", "za-johannesburg"),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Gate:
    """A point-of-entry gate: a border crossing (two sides) or a seaport (one side).

    ``hubs_*`` are places reached on each side, nearest first; ``beyond_*`` are ISO3 countries
    beyond a side that trucks travelling towards it are bound for. ``special`` streams are
    (direction "ab"/"ba", population group, origin, next, final, mode, share of travellers).
    """

    key: str
    side_a: str
    side_b: str  # site code of the other side, "" for a seaport or a one-sided crossing
    country_b: str  # ISO3 of the other side ("" for a seaport)
    trucks: float  # trucks/day, both directions
    people: float  # other travellers/day, both directions
    source: str
    hubs_a: tuple[str, ...]
    hubs_b: tuple[str, ...] = ()
    beyond_a: tuple[str, ...] = ()
    beyond_b: tuple[str, ...] = ()
    special: tuple[tuple[str, str, str, str, str, str, float], ...] = ()
    coastal: str = ""  # seaports: the coastal partner port

    @property
    def is_port(self) -> bool:
        return self.country_b == ""


A = "[assumed]"

# fmt: off
GATES: Final[tuple[Gate, ...]] = (
    Gate("malaba", "ke-malaba", "ug-malaba", "UGA", 2150, 4000,
         "2,000-2,300 trucks/day cleared (KRA via TalkAfrica); other travellers " + A,
         ("ke-nairobi", "ke-mombasa"), ("ug-kampala",), (), ("RWA", "COD", "SSD")),
    Gate("busia", "ke-busia", "ug-busia", "UGA", 600, 8000,
         "~894 vehicles/day (TradeMark East Africa 2018), 2/3 trucks [E]; other travellers " + A,
         ("ke-nairobi", "ke-mombasa"), ("ug-kampala",), (), ("RWA", "COD")),
    Gate("katuna", "ug-katuna", "rw-gatuna", "RWA", 450, 2000,
         "closed 2019-Jan 2022 (facts sheet); volumes " + A,
         ("ug-lukaya", "ug-kampala"), ("rw-kigali",), (), ("BDI", "COD")),
    Gate("mpondwe", "ug-mpondwe", "cd-kasindi", "COD", 150, 25000,
         "~25,000 people/day (AFP 2019); trucks " + A, ("ug-kampala",)),
    Gate("elegu", "ug-elegu", "ss-nimule", "SSD", 250, 3000,
         ">300 trucks/day (2018), ~200 (2020); other travellers " + A,
         ("ug-karuma", "ug-kampala"), ("ss-juba",)),
    Gate("namanga", "ke-namanga", "tz-namanga", "TZA", 300, 1000,
         ">1,300 drivers and travellers/day [S]", ("ke-nairobi",)),
    Gate("taveta", "ke-taveta", "tz-holili", "TZA", 250, 1500, "[gap] " + A, ("ke-mombasa",)),
    Gate("rusumo", "tz-rusumo", "rw-rusumo", "RWA", 270, 1200,
         "~270 heavy trucks/day (New Times 2019); other travellers " + A,
         ("tz-isaka", "tz-dar-es-salaam"), ("rw-kigali",), (), ("COD",)),
    Gate("kabanga", "tz-kabanga", "bi-kobero", "BDI", 150, 1500, "[gap] " + A,
         ("tz-isaka", "tz-dar-es-salaam"), ("bi-bujumbura",), (), ("COD",)),
    Gate("gatumba", "bi-gatumba", "cd-uvira", "COD", 60, 6000, "[gap] " + A,
         ("bi-bujumbura",), ("cd-bukavu",),
         special=(("ab", "miner", "bi-bujumbura", "cd-bukavu", "cd-kamituga", "bus", 0.05),)),
    Gate("tunduma", "tz-tunduma", "zm-nakonde", "ZMB", 1000, 5000,
         ">1,000 lorries/day (TANROADS); other travellers " + A,
         ("tz-makambako", "tz-dar-es-salaam"), ("zm-kapiri-mposhi", "zm-lusaka"), (), ("COD",),
         special=(("ab", "migrant", "tz-dar-es-salaam", "zm-kapiri-mposhi", "", "rail", 0.05),)),
    Gate("kasumbalesa", "zm-kasumbalesa", "cd-kasumbalesa", "COD", 800, 4000,
         ">20,000 trucks/month (~800/day); other travellers " + A,
         ("zm-chingola", "tz-dar-es-salaam"), ("cd-lubumbashi",), ("ZAF",)),
    Gate("chirundu", "zw-chirundu", "zm-chirundu", "ZMB", 450, 1500,
         "open 24 h since Oct 2023; volumes " + A,
         ("zw-harare", "za-durban"), ("zm-lusaka",), ("ZAF",), ("COD",)),
    Gate("kazungula", "bw-kazungula", "zm-kazungula", "ZMB", 250, 800,
         "~250 trucks/day expected (2021); other travellers " + A,
         ("bw-gaborone", "za-johannesburg"), ("zm-lusaka",), ("ZAF",), ("COD",)),
    Gate("beitbridge", "za-beitbridge", "zw-beitbridge", "ZWE", 700, 15000,
         "~15,000 people/day off-peak, ~3x at peak (BMA 2025); ~350 trucks out/day [E]",
         ("za-johannesburg", "za-durban"), ("zw-harare",), (), ("ZMB", "MWI"),
         special=(("ba", "seasonal_worker", "zw-beitbridge", "za-musina", "", "foot", 0.06),)),
    Gate("forbes", "zw-forbes", "mz-machipanda", "MOZ", 1100, 3000,
         "~1,100 trucks/day (NewsDay 2025); other travellers " + A,
         ("zw-harare",), ("mz-beira",), ("ZMB",)),
    Gate("mwanza", "mw-mwanza", "mz-zobue", "MOZ", 250, 1500, "[gap] " + A,
         ("mw-blantyre",), ("mz-moatize", "mz-beira")),
    Gate("lebombo", "za-lebombo", "mz-ressano-garcia", "MOZ", 1000, 8000,
         "800-1,200 trucks/day (SAAFF); other travellers " + A,
         ("za-johannesburg",), ("mz-maputo",),
         special=(("ba", "miner", "mz-maputo", "za-johannesburg", "za-carletonville", "bus",
                   0.05),)),
    Gate("mamuno", "bw-mamuno", "na-buitepos", "NAM", 290, 300,
         "~290 trucks/day [E] (2023); other travellers " + A,
         ("bw-gaborone", "za-johannesburg"), ("na-windhoek", "na-walvis-bay")),
    Gate("skilpadshek", "za-skilpadshek", "bw-pioneer-gate", "BWA", 350, 1500, "[gap] " + A,
         ("za-johannesburg",), ("bw-gaborone",), (), ("NAM", "ZMB")),
    Gate("lomahasha", "sz-lomahasha", "mz-namaacha", "MOZ", 150, 1500, "[gap] " + A,
         ("sz-matsapha", "za-johannesburg"), ("mz-maputo",)),
    Gate("maseru", "ls-maseru-bridge", "", "ZAF", 300, 10000, "[gap] " + A,
         ("ls-maseru",), ("za-johannesburg",),
         special=(("ab", "miner", "ls-maseru", "za-johannesburg", "za-carletonville", "bus",
                   0.04),)),
    # seaports: trucks/day leaving with transit cargo and travellers by sea [assumed]
    Gate("mombasa", "ke-mombasa", "", "", 2500, 1500, "port traffic " + A,
         ("ke-nairobi",), beyond_a=("UGA", "RWA", "SSD", "COD"), coastal="tz-dar-es-salaam"),
    Gate("dar", "tz-dar-es-salaam", "", "", 2000, 2000, "port traffic " + A,
         ("tz-makambako", "tz-isaka"), beyond_a=("ZMB", "COD", "RWA", "BDI", "MWI"),
         coastal="ke-mombasa"),
    Gate("beira", "mz-beira", "", "", 800, 500, "port traffic " + A,
         ("mz-chimoio",), beyond_a=("ZWE", "ZMB", "MWI"), coastal="za-durban"),
    Gate("maputo", "mz-maputo", "", "", 1000, 500, "port traffic " + A,
         ("mz-ressano-garcia",), beyond_a=("ZAF", "SWZ", "ZWE"), coastal="za-durban"),
    Gate("walvis", "na-walvis-bay", "", "", 300, 300, "port traffic " + A,
         ("na-windhoek",), beyond_a=("BWA", "ZAF", "ZMB"), coastal="za-durban"),
    Gate("durban", "za-durban", "", "", 4000, 1500, "port traffic " + A,
         ("za-harrismith", "za-johannesburg"), beyond_a=("ZWE", "ZMB", "BWA", "COD"),
         coastal="mz-maputo"),
)
# fmt: on


@cache
def site_index() -> dict[str, int]:
    """Site code -> position in SITES."""
    return {s.code: i for i, s in enumerate(SITES)}


def site(code: str) -> Site:
    return SITES[site_index()[code]]


@cache
def gate_of_site() -> dict[str, Gate]:
    """Point-of-entry site code -> its gate (both sides of a crossing map to the same gate)."""
    out: dict[str, Gate] = {}
    for g in GATES:
        out[g.side_a] = g
        if g.side_b:
            out[g.side_b] = g
    return out


@cache
def site_corridors() -> dict[str, tuple[str, ...]]:
    """Site code -> corridors it lies on (trunk routes plus declared extras), in CORRIDORS order."""
    found: dict[str, set[str]] = {s.code: set(s.extra_corridors) for s in SITES}
    for corridor, routes in ROUTES.items():
        for route in routes:
            for code in route:
                found[code].add(corridor)
    return {code: tuple(c for c in CORRIDORS if c in cs) for code, cs in found.items()}


@cache
def edges() -> tuple[tuple[str, str], ...]:
    """Undirected edges of the corridor graph (consecutive route nodes and local links)."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    pairs = [
        (r[i], r[i + 1]) for routes in ROUTES.values() for r in routes for i in range(len(r) - 1)
    ]
    for a, b in [*pairs, *LOCAL_LINKS]:
        key = (a, b) if a < b else (b, a)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return tuple(out)


def corridor_countries(corridor: str) -> tuple[str, ...]:
    """ISO3 codes of the countries a corridor passes through."""
    codes: list[str] = []
    for route in ROUTES[corridor]:
        for code in route:
            c = site(code).country
            if c not in codes:
                codes.append(c)
    return tuple(codes)
