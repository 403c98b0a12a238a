"""The service totals of the ranking summed per site, with numpy (no pandas group-by)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from corridor.storage.recordkeys import KEY_MODULUS


class SiteTotals:
    """The service totals (``read_service_totals``) summed per site with numpy: one pass over
    the rows to place them, then one ``bincount`` per (element, groups) asked for. Rows are
    added in their order, as ``groupby().sum()`` adds them (the counts are whole numbers, so
    the sums are exact either way)."""

    def __init__(self, services: pd.DataFrame, codes: pd.Index) -> None:
        self.n = len(codes)
        pos = codes.get_indexer(pd.Index(services["place_code"]))
        on_site = pos >= 0
        self.pos = pos[on_site]
        self.element = services["data_element"].to_numpy(dtype=object)[on_site]
        self.group = services["population_group"].to_numpy(dtype=object)[on_site]
        # a missing value or key adds nothing, as in a pandas sum
        self.value = np.nan_to_num(services["value"].to_numpy(dtype=float)[on_site])
        self.key = np.nan_to_num(services["key"].to_numpy(dtype=float)[on_site])

    def __call__(self, element: str, groups: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per site: the element's value summed over ``groups`` and its cell key (the sum of
        the parts' keys mod 2^32, the key of the rows that make the sum); NaN at sites with no
        row."""
        rows = (self.element == element) & np.isin(self.group, list(groups))
        at = self.pos[rows]
        present = np.bincount(at, minlength=self.n) > 0
        value = np.bincount(at, weights=self.value[rows], minlength=self.n)
        key = np.bincount(at, weights=self.key[rows], minlength=self.n) % KEY_MODULUS
        return np.where(present, value, np.nan), np.where(present, key, np.nan)
