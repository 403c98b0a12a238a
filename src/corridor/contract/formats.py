"""The file formats Corridor reads and writes, by name: the choices of `ingest --format` and
`indicators --format`.

They live here, in the light contract package, so that the CLI can offer them in ``--help``
without importing the readers and exporters (pyarrow, polars) that implement them.
"""

from __future__ import annotations

from typing import Final

#: `corridor ingest --format`: ``auto`` detects the format from the file
INTAKE_FORMATS: Final = (
    "auto",
    "csv",
    "xlsx",
    "hxl",
    "dhis2-json",
    "dhis2-csv",
    "dhis2-xml",
    "adx",
    "dtm-fmr",
    "dtm-fmr-xlsx",
    "geojson",
)

#: `corridor indicators --format`
INDICATOR_FORMATS: Final = ("table", "csv", "json", "hxl", "dhis2-json", "adx")
