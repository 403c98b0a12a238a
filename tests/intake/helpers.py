"""Small builders of input files for the intake tests."""

from __future__ import annotations

from pathlib import Path

PLACES_CSV = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor,population,dhis2_uid,fmp_code
KEN,Kenya,country,,KEN,0.1,37.9,,,,
UGA,Uganda,country,,uga,1.3,32.3,,,,
ke-malaba,Malaba (KE),border_crossing,ken,ken,0.636,34.275,northern,15000,OrgMalabaK1,fmp-ke-001
ug-malaba,Malaba (UG),border_crossing,uga,uga,0.64,34.27,northern,12000,OrgMalabaU1,
ke-mombasa,Mombasa,seaport,ken,ken,-4.04,39.69,northern,1200000,,
"""

SERVICES_HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"


def write(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(text.encode(encoding))
    return path
