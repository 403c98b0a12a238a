"""Identifiers of the demonstration world: DHIS2 UIDs and flow-monitoring point codes.

UIDs are derived from stable names (not from the seed), so the same site keeps its org unit UID
across seeds, as it would in a real DHIS2 instance.
"""

from __future__ import annotations

import hashlib
import string
from typing import Final

from corridor.demo.geography import SITES

ALPHABET: Final = string.ascii_letters + string.digits
#: DHIS2's default category option combo (and attribute option combo): "no disaggregation"
DEFAULT_COC: Final = "HllvX50cXC0"


def dhis2_uid(key: str) -> str:
    """An 11-character DHIS2 UID (letter first, then [A-Za-z0-9]) derived from ``key``."""
    n = int.from_bytes(hashlib.sha256(f"corridor-demo/{key}".encode()).digest(), "big")
    chars = [string.ascii_letters[n % 52]]
    n //= 52
    for _ in range(10):
        chars.append(ALPHABET[n % 62])
        n //= 62
    return "".join(chars)


def org_unit_uids() -> dict[str, str]:
    """Site code -> DHIS2 org unit UID, for the sites that report services."""
    return {s.code: dhis2_uid(f"ou/{s.code}") for s in SITES if s.reporting != "none"}


def fmp_codes() -> dict[str, str]:
    """Point-of-entry site code -> flow-monitoring point code (``fmp-ke-001``...)."""
    out: dict[str, str] = {}
    counters: dict[str, int] = {}
    for s in SITES:
        if s.is_poe:
            counters[s.iso2] = counters.get(s.iso2, 0) + 1
            out[s.code] = f"fmp-{s.iso2}-{counters[s.iso2]:03d}"
    return out


def data_element_uid(element: str) -> str:
    return dhis2_uid(f"de/{element}")


def category_option_combo_uid(sex: str, age_band: str, group: str) -> str:
    if not (sex or age_band or group):
        return DEFAULT_COC
    return dhis2_uid(f"coc/{sex}/{age_band}/{group}")
