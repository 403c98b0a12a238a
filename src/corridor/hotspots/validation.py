"""Validation of the ranking against the demonstration world's hidden truth.

::

    python -m corridor.hotspots.validation DEMO_DIR [--seed 2024] [--year 2025] [--json]

DEMO_DIR is a folder made by ``corridor demo`` (a workspace with ``truth/``), or one holding
``truth/`` and ``ws/``, or an empty/new folder: the world is then generated there with ``--seed``
and ingested into ``DEMO_DIR/ws``. The ranking of year Y is compared with the truth of year Y:
true new HIV infections and true outbreak cases per site, per head and in total (Spearman rank
correlation over all sites, precision@10 = share of the true top 10 found in the ranked top 10).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.ranking import HotspotResult, rank_sites
from corridor.hotspots.warehouse import resolve_window
from corridor.storage.engine import Engine

if TYPE_CHECKING:
    from corridor.workspace import Workspace

TARGETS: dict[str, str] = {
    "new_infections_per_1000": "true new HIV infections per 1,000 people",
    "new_infections": "true new HIV infections",
    "outbreak_cases_per_10k": "true outbreak cases per 10,000 people",
    "outbreak_cases": "true outbreak cases",
}


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    x = pd.Series(np.asarray(a, dtype=float)).rank()
    y = pd.Series(np.asarray(b, dtype=float)).rank()
    return float(x.corr(y))


def precision_at(k: int, ranked: Sequence[str], truth: Mapping[str, float]) -> float:
    """Share of the true top ``k`` (by ``truth``) among the first ``k`` of ``ranked``.

    Ties at the k-th true value are shared out: with ``r`` places left for ``t`` tied sites,
    each tied site in the ranked top counts ``r / t`` (the expected precision when the truth's
    ties are broken at random, never by the ranking itself).
    """
    values = pd.Series(truth, dtype=float)
    k = min(k, len(values))
    if k == 0:
        return float("nan")
    kth = float(values.sort_values(ascending=False).iloc[k - 1])
    above = set(values.index[values > kth])
    tied = set(values.index[values == kth])
    share = (k - len(above)) / len(tied)
    top = set(list(ranked)[:k])
    return (len(top & above) + share * len(top & tied)) / k


def truth_by_site(truth_dir: str | Path, year: int) -> pd.DataFrame:
    """Per site, year ``year``: population, new infections, outbreak cases, and per head."""
    d = Path(truth_dir)
    people = pd.read_csv(d / "population.csv")
    pop = people[people["year"] == year].groupby("site")["population"].sum()
    infections = pd.read_csv(d / "new_infections.csv")
    ni = infections[infections["year"] == year].groupby("site")["new_infections"].sum()
    outbreak = pd.read_csv(d / "outbreak_cases.csv")
    ob = outbreak[outbreak["year"] == year].groupby("site")["cases"].sum()
    out = pd.DataFrame({"population": pop})
    out["new_infections"] = ni.reindex(out.index).fillna(0)
    out["outbreak_cases"] = ob.reindex(out.index).fillna(0)
    out["new_infections_per_1000"] = 1000 * out["new_infections"] / out["population"]
    out["outbreak_cases_per_10k"] = 10_000 * out["outbreak_cases"] / out["population"]
    return out


def compare(result: HotspotResult, truth: pd.DataFrame, k: int = 10) -> dict[str, Any]:
    """Metrics of a ranking against a truth frame (index: site code)."""
    table = result.table.to_pandas()
    table = table[table["place_code"].isin(truth.index)]
    ranked = list(table["place_code"])
    n = len(ranked)
    top = set(ranked[:k])
    out: dict[str, Any] = {
        "period": result.period,
        "n_sites": n,
        "k": k,
        "chance_precision": round(k / n, 3) if n else None,
        "weights": result.weights,
        "targets": {},
    }
    for target, label in TARGETS.items():
        values = truth.loc[ranked, target]
        true_top = list(values.sort_values(ascending=False, kind="stable").index[:k])
        p_top = table.set_index("place_code")["p_top10"]
        out["targets"][target] = {
            "label": label,
            "spearman": round(spearman(table["score"], values), 3),
            "precision_at_10": round(precision_at(k, ranked, values.to_dict()), 3),
            "true_top10_found": sorted(top & set(true_top)),
            "mean_p_top10_of_true_top10": round(float(p_top.loc[true_top].mean()), 3),
            "by_component": {
                c: round(spearman(table[c], values), 3)
                for c in COMPONENTS
                if table[c].notna().any()
            },
        }
    return out


def validate_against_truth(
    source: Engine | Workspace,
    truth_dir: str | Path,
    *,
    year: int | None = None,
    weights: Mapping[str, Any] | None = None,
    draws: int = 500,
    seed: int = 1,
) -> dict[str, Any]:
    """Rank the sites for calendar year ``year`` (default: the latest year with data) and
    compare with the truth of that year."""
    engine: Engine = source if isinstance(source, Engine) else source.engine
    if year is None:
        year = resolve_window(engine, None).end.year
    result = rank_sites(engine, period=str(year), weights=weights, draws=draws, seed=seed)
    report = compare(result, truth_by_site(truth_dir, year))
    report["year"] = year
    report["draws"] = draws
    report["seed"] = seed
    return report


def demo_workspace(folder: Path, seed: int) -> tuple[Workspace, Path]:
    """The workspace and truth folder of a demonstration world in ``folder`` (built if absent)."""
    from corridor.workspace import init_workspace, open_workspace

    if (folder / "corridor.toml").is_file() and (folder / "truth").is_dir():
        return open_workspace(folder), folder / "truth"
    if (folder / "ws" / "corridor.toml").is_file() and (folder / "truth").is_dir():
        return open_workspace(folder / "ws"), folder / "truth"
    from corridor.demo import generate_world

    manifest = generate_world(folder, seed=seed)
    ws = init_workspace(folder / "ws")
    for f in manifest.files:
        mapping = folder / "sources" / f.mapping if f.mapping else None
        ws.ingest(
            [folder / "sources" / f.path], f.kind, format=f.format, mapping=mapping, quarantine=True
        )
    return ws, folder / "truth"


def _format(report: dict[str, Any]) -> str:
    lines = [
        f"year {report['year']} ({report['n_sites']} sites; chance precision@10 = "
        f"{report['chance_precision']}); weights "
        + ", ".join(f"{k} {v:.2f}" for k, v in report["weights"].items()),
        f"{'target':<26} {'spearman':>8} {'prec@10':>8}  mean P(top10) of the true top 10",
    ]
    for name, t in report["targets"].items():
        lines.append(
            f"{name:<26} {t['spearman']:>8.3f} {t['precision_at_10']:>8.1f}  "
            f"{t['mean_p_top10_of_true_top10']:.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corridor.hotspots.validation")
    parser.add_argument("demo_dir", type=Path)
    parser.add_argument("--seed", type=int, default=2024, help="seed of a world to generate")
    parser.add_argument("--year", type=int, help="calendar year to rank (default: latest)")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    ws, truth = demo_workspace(args.demo_dir, args.seed)
    try:
        report = validate_against_truth(ws, truth, year=args.year, draws=args.draws)
    finally:
        ws.close()
    print(json.dumps(report, indent=2) if args.json else _format(report))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
