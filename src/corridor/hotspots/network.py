"""The flow network and the bridging measures: which sites link high- and low-prevalence places.

Each flow record is a journey ``origin -> observation point -> destination`` (empty ends mean the
observation point itself). The network is undirected; an edge's weight is the number of travellers
using it in the window, and its length for shortest paths is ``max weight / weight`` (busy links
are short).

Two measures per site:

* ``bridging_flow`` -- travellers whose journey touches the site (as observation point, origin or
  destination), each weighted by the range of HIV prevalence along the journey (the highest minus
  the lowest of origin, observation point and destination), per resident per year. A truck stop
  where people from a high-prevalence district pass on to a low-prevalence one, or mix with a
  low-prevalence host population, scores high; a site whose visitors come from places like itself
  scores low.
* ``betweenness`` -- flow-weighted betweenness restricted to journeys between high-prevalence places
  (prevalence at or above the median place) and low-prevalence ones (below it): the number of
  shortest paths from a high- to a low-prevalence place that pass through the site.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import pandas as pd

from corridor.contract.dimensions import TOTAL


def place_prevalence(places: pd.DataFrame, services: pd.DataFrame) -> pd.Series:
    """HIV prevalence of every place: its own estimate, else its children's, else its parent's.

    Own estimate: ``plhiv_estimated / pop_estimated`` (population group total). Areas without one
    pool their descendants (sum of PLHIV over sum of population); places still without one take
    the nearest ancestor's value, and the last resort is the median place.
    """
    codes = list(places["place_code"])
    tot = services[services["population_group"] == TOTAL]
    wide = tot.pivot_table(
        index="place_code", columns="data_element", values="value", aggfunc="sum"
    ).reindex(columns=["plhiv_estimated", "pop_estimated"])
    own: dict[str, tuple[float, float]] = {}
    for code, row in wide.iterrows():
        plhiv, pop = row["plhiv_estimated"], row["pop_estimated"]
        if pd.notna(plhiv) and pd.notna(pop) and pop > 0:
            own[str(code)] = (float(plhiv), float(pop))
    parent = dict(zip(places["place_code"], places["parent_code"], strict=True))
    children: dict[str, list[str]] = {}
    for c, p in parent.items():
        if p and p != c:
            children.setdefault(p, []).append(c)

    pooled: dict[str, tuple[float, float] | None] = {}

    def pool(code: str, seen: frozenset[str]) -> tuple[float, float] | None:
        if code in pooled:
            return pooled[code]
        if code in own:
            pooled[code] = own[code]
            return own[code]
        num = den = 0.0
        for child in children.get(code, []):
            if child in seen:
                continue
            got = pool(child, seen | {child})
            if got is not None:
                num, den = num + got[0], den + got[1]
        pooled[code] = (num, den) if den > 0 else None
        return pooled[code]

    prev: dict[str, float] = {}
    for code in codes:
        got = pool(code, frozenset({code}))
        if got is not None:
            prev[code] = got[0] / got[1]
    known = np.array(list(prev.values()), dtype=float)
    fallback = float(np.median(known)) if known.size else np.nan
    out: dict[str, float] = {}
    for code in codes:
        cur, seen = code, set()
        while cur not in prev and parent.get(cur) and cur not in seen:
            seen.add(cur)
            cur = parent[cur]
        out[code] = prev.get(cur, fallback)
    return pd.Series(out, dtype=float)


def _journeys(flows: pd.DataFrame) -> pd.DataFrame:
    """Flows with both ends filled: an empty origin/destination is the observation point."""
    j = flows.copy()
    obs = j["observation_code"]
    j["from_code"] = j["origin_code"].where(j["origin_code"] != "", obs)
    j["to_code"] = j["destination_code"].where(j["destination_code"] != "", obs)
    return j


def flow_graph(flows: pd.DataFrame) -> nx.Graph:
    """The undirected flow network: edge weight = travellers, length = max weight / weight."""
    g = nx.Graph()
    j = _journeys(flows)
    for a, b, c in (
        ("from_code", "observation_code", "count"),
        ("observation_code", "to_code", "count"),
    ):
        part = j[[a, b, c]]
        part = part[(part[a] != part[b]) & (part[c] > 0)]
        for u, v, w in part.itertuples(index=False):
            if g.has_edge(u, v):
                g[u][v]["weight"] += float(w)
            else:
                g.add_edge(u, v, weight=float(w))
    if g.number_of_edges():
        top = max(d["weight"] for _, _, d in g.edges(data=True))
        for _, _, d in g.edges(data=True):
            d["length"] = top / d["weight"]
    return g


def bridging_betweenness(graph: nx.Graph, prevalence: pd.Series, sites: Iterable[str]) -> pd.Series:
    """High-to-low prevalence betweenness of each site (NaN for sites not in the network)."""
    sites = list(sites)
    out = pd.Series(np.nan, index=sites, dtype=float)
    nodes = [n for n in graph.nodes if n in prevalence.index and pd.notna(prevalence[n])]
    if len(nodes) < 3:
        return out
    values = prevalence[nodes]
    cut = float(values.median())
    high = [n for n in nodes if values[n] >= cut]
    low = [n for n in nodes if values[n] < cut]
    if not high or not low:
        bc = dict.fromkeys(graph.nodes, 0.0)
    else:
        bc = nx.betweenness_centrality_subset(
            graph, sources=high, targets=low, normalized=False, weight="length"
        )
    for s in sites:
        if s in graph:
            out[s] = float(bc.get(s, 0.0))
    return out


def bridging_flow(flows: pd.DataFrame, prevalence: pd.Series, sites: Iterable[str]) -> pd.DataFrame:
    """Per site: travellers whose journey touches it, and the sum of travellers x the range of
    prevalence along their journey (max - min over origin, observation point, destination).

    Returns a frame indexed by site with columns ``travellers``, ``range_travellers`` and
    ``key`` (the sum of the touching records' cell keys, when ``flows`` has a ``key`` column;
    else 0); sites no journey touches are absent.
    """
    site_set = set(sites)
    j = _journeys(flows)
    if j.empty:
        return pd.DataFrame(columns=["travellers", "range_travellers", "key"], dtype=float)
    keys = j["key"] if "key" in j.columns else pd.Series(0, index=j.index)
    fill = float(prevalence.median()) if prevalence.notna().any() else 0.0
    ends = pd.concat(
        [j[c].map(prevalence).fillna(fill) for c in ("from_code", "observation_code", "to_code")],
        axis=1,
    )
    j["range"] = (ends.max(axis=1) - ends.min(axis=1)).fillna(0.0)
    parts = []
    for col in ("observation_code", "origin_code", "destination_code"):
        parts.append(
            pd.DataFrame(
                {
                    "row": j.index,
                    "site": j[col],
                    "count": j["count"],
                    "range": j["range"],
                    "key": keys,
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    long = long[long["site"].isin(site_set)].drop_duplicates(["row", "site"])
    long["range_travellers"] = long["count"] * long["range"]
    out = long.groupby("site")[["count", "range_travellers", "key"]].sum()
    return out.rename(columns={"count": "travellers"})
