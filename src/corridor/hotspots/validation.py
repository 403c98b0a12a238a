"""Validation of the ranking against the demonstration world's hidden truth.

::

    python -m corridor.hotspots.validation FOLDER [--seeds 2024 7 99] [--years 2023 2024 2025]

generates (or reuses) the demonstration world of each seed under ``FOLDER/seed-N``, ranks the
sites for each year and compares the estimate with the truth of that year (true new HIV
infections per 1,000 residents): Spearman rank correlation, precision@10 (share of the true top
10 in the ranked top 10), next to each single observed measure and a random ranking; the share
of sites whose true rank lies in their 90% rank interval, and whose true rate lies in the 90%
interval of the rate (``ranking.RATE_INTERVAL_COVERAGE`` records what it measured); the median
ratio of estimate to true rate; the Brier skill score of ``p_top10`` against the constant 10/N,
and its calibration table. ``corridor hotspots --validate`` does the
same for the workspace of ``corridor demo`` (its ``truth/`` folder).
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

from corridor.errors import QueryError
from corridor.hotspots.components import SPEC_BY_NAME
from corridor.hotspots.ranking import HotspotResult, rank_sites
from corridor.hotspots.warehouse import resolve_window
from corridor.storage.engine import Engine

if TYPE_CHECKING:
    from corridor.workspace import Workspace

#: the nine rankings of the acceptance test: three worlds x three years
SEEDS: tuple[int, ...] = (2024, 7, 99)
YEARS: tuple[int, ...] = (2023, 2024, 2025)
RANDOM_RANKINGS = 200
CALIBRATION_BINS: tuple[tuple[float, float], ...] = (
    (0.0, 0.05), (0.05, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0),
)  # fmt: skip


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


def true_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of the truth, 1 = highest; ties share the lowest rank."""
    return np.asarray(pd.Series(-np.asarray(values, dtype=float)).rank(method="min"), dtype=int)


def measure_orientation(result: HotspotResult) -> dict[str, np.ndarray]:
    """Each single observed measure, oriented so that higher = more vulnerable (coverage
    measures as their gap to target), NaN where the site does not have it."""
    table = result.table
    out: dict[str, np.ndarray] = {}
    for name, spec in SPEC_BY_NAME.items():
        if name not in table.column_names:
            continue
        v = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)
        if not np.isfinite(v).any():
            continue
        out[name] = np.clip(1.0 - v / spec.target, 0.0, None) if spec.target else v
    return out


def ranking_metrics(
    score: np.ndarray, truth: np.ndarray, codes: Sequence[str], k: int = 10
) -> dict[str, float]:
    """Spearman over the sites that have a score, precision@k with missing scores last."""
    s = np.asarray(score, dtype=float)
    ok = np.isfinite(s)
    order = np.lexsort((np.arange(s.size), -np.where(ok, s, -np.inf)))
    ranked = [codes[i] for i in order]
    return {
        "spearman": spearman(s[ok], truth[ok]) if ok.sum() > 2 else float("nan"),
        "precision_at_10": precision_at(k, ranked, dict(zip(codes, truth, strict=True))),
        "sites": int(ok.sum()),
    }


def compare(result: HotspotResult, truth: pd.DataFrame, k: int = 10) -> dict[str, Any]:
    """The estimate and each single measure against the truth (index: site code).

    Target: true new HIV infections per 1,000 residents in the window's year. Also the
    calibration of the uncertainty: the share of sites whose true rank lies in their rank
    interval, and the Brier score of ``p_top10`` against the constant ``k / N``.
    """
    table = result.table.to_pandas()
    keep = table["place_code"].isin(truth.index).to_numpy()
    table = table[keep]
    codes = [str(c) for c in table["place_code"]]
    n = len(codes)
    y = truth.loc[codes, "new_infections_per_1000"].to_numpy(dtype=float)
    rate = table["new_infections_per_1000"].to_numpy(dtype=float)
    true_rank = true_ranks(y)
    in_top = (true_rank <= k).astype(float)
    p_top = table["p_top10"].to_numpy(dtype=float)
    brier = float(np.mean((p_top - in_top) ** 2))
    brier_ref = float(np.mean((k / n - in_top) ** 2))
    inside = (true_rank >= table["rank_low"].to_numpy()) & (true_rank <= table["rank_high"])
    rows: dict[str, dict[str, float]] = {"estimate": ranking_metrics(rate, y, codes, k)}
    for name, values in measure_orientation(result).items():
        rows[name] = ranking_metrics(values[keep], y, codes, k)
    rng = np.random.default_rng(0)
    rand = [ranking_metrics(rng.random(n), y, codes, k) for _ in range(RANDOM_RANKINGS)]
    rows["random"] = {
        "spearman": float(np.mean([r["spearman"] for r in rand])),
        "precision_at_10": float(np.mean([r["precision_at_10"] for r in rand])),
        "sites": n,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = rate / y
    return {
        "period": result.period,
        "n_sites": n,
        "k": k,
        "level": result.level,
        "rows": rows,
        "rank_interval_coverage": float(np.mean(inside)),
        "brier": brier,
        "brier_constant": brier_ref,
        "brier_skill": 1.0 - brier / brier_ref if brier_ref > 0 else float("nan"),
        "median_estimate_over_truth": float(np.nanmedian(ratio[np.isfinite(ratio)])),
        "rate_interval_coverage": float(
            np.mean(
                (y >= table["new_infections_per_1000_low"].to_numpy())
                & (y <= table["new_infections_per_1000_high"].to_numpy())
            )
        ),
        "calibration": calibration_table(p_top, in_top),
    }


def calibration_table(p: np.ndarray, outcome: np.ndarray) -> list[dict[str, float]]:
    """Sites grouped by p_top10: mean p_top10 and the share truly in the top 10."""
    out = []
    for lo, hi in CALIBRATION_BINS:
        sel = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        out.append(
            {
                "low": lo,
                "high": hi,
                "sites": int(sel.sum()),
                "mean_p_top10": float(p[sel].mean()) if sel.any() else float("nan"),
                "share_in_true_top10": float(outcome[sel].mean()) if sel.any() else float("nan"),
            }
        )
    return out


def validate_against_truth(
    source: Engine | Workspace,
    truth_dir: str | Path,
    *,
    year: int | None = None,
    draws: int = 500,
    seed: int = 1,
) -> dict[str, Any]:
    """Rank the sites for calendar year ``year`` (default: the latest year with data) and
    compare with the truth of that year. ``draws`` must be at least 1: the validation checks
    the intervals and ``p_top10``, which 0 draws do not have."""
    if draws < 1:
        raise QueryError(
            f"validation needs uncertainty draws (got {draws}): it checks the rank intervals "
            "and p_top10; use --draws 1 or more"
        )
    engine: Engine = source if isinstance(source, Engine) else source.engine
    if year is None:
        year = resolve_window(engine, None).end.year
    result = rank_sites(engine, period=str(year), draws=draws, seed=seed, level=0.9)
    report = compare(result, truth_by_site(truth_dir, year))
    report["year"] = year
    report["draws"] = draws
    report["seed"] = seed
    return report


def summarise_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over several rankings (e.g. three seeds x three years)."""
    names = list(reports[0]["rows"])
    rows = {
        name: {
            m: float(np.nanmean([r["rows"][name][m] for r in reports if name in r["rows"]]))
            for m in ("spearman", "precision_at_10")
        }
        for name in names
    }
    singles = [k for k in names if k not in ("estimate", "random")]
    best = max(singles, key=lambda k: rows[k]["spearman"]) if singles else None
    bins = []
    for b_i, (lo, hi) in enumerate(CALIBRATION_BINS):
        sites = sum(r["calibration"][b_i]["sites"] for r in reports)

        def wsum(key: str, b_i: int = b_i) -> float:
            return float(sum(
                r["calibration"][b_i][key] * r["calibration"][b_i]["sites"]
                for r in reports if r["calibration"][b_i]["sites"]
            ))  # fmt: skip

        bins.append(
            {
                "low": lo,
                "high": hi,
                "sites": sites,
                "mean_p_top10": wsum("mean_p_top10") / sites if sites else float("nan"),
                "share_in_true_top10": wsum("share_in_true_top10") / sites
                if sites
                else float("nan"),
            }
        )
    return {
        "rankings": len(reports),
        "rows": rows,
        "best_single_measure": best,
        "rank_interval_coverage": [r["rank_interval_coverage"] for r in reports],
        "mean_rank_interval_coverage": float(
            np.mean([r["rank_interval_coverage"] for r in reports])
        ),
        "brier_skill": float(
            1.0 - sum(r["brier"] for r in reports) / sum(r["brier_constant"] for r in reports)
        ),
        "rate_interval_coverage": [r["rate_interval_coverage"] for r in reports],
        "mean_rate_interval_coverage": float(
            np.mean([r["rate_interval_coverage"] for r in reports])
        ),
        "median_estimate_over_truth": [r["median_estimate_over_truth"] for r in reports],
        "calibration": bins,
    }


def validate_worlds(
    folder: Path,
    seeds: Sequence[int] = SEEDS,
    years: Sequence[int] = YEARS,
    *,
    draws: int = 500,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Generate (or reuse) the worlds of ``seeds`` under ``folder`` and validate every year."""
    reports = []
    for s in seeds:
        ws, truth = demo_workspace(Path(folder) / f"seed-{s}", s)
        try:
            for y in years:
                rep = validate_against_truth(ws, truth, year=y, draws=draws)
                rep["world_seed"] = s
                reports.append(rep)
        finally:
            ws.close()
    return reports, summarise_reports(reports)


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


def format_summary(summary: dict[str, Any], reports: Sequence[dict[str, Any]]) -> str:
    """The comparison table: the estimate against each single measure and a random ranking."""
    lines = [
        f"{summary['rankings']} ranking(s) against true new HIV infections per 1,000 residents",
        f"{'ranking':<26} {'spearman':>8} {'prec@10':>8}",
    ]
    for name, row in summary["rows"].items():
        lines.append(f"{name:<26} {row['spearman']:>8.3f} {row['precision_at_10']:>8.3f}")
    lines.append(f"best single measure: {summary['best_single_measure']}")
    cover = ", ".join(f"{100 * c:.0f}%" for c in summary["rank_interval_coverage"])
    lvl = round(100 * reports[0]["level"])
    lines.append(f"{lvl}% rank intervals holding the true rank: {cover}")
    rate_cover = ", ".join(f"{100 * c:.0f}%" for c in summary["rate_interval_coverage"])
    lines.append(f"{lvl}% rate intervals holding the true rate: {rate_cover}")
    ratio = ", ".join(f"{r:.2f}" for r in summary["median_estimate_over_truth"])
    lines.append(f"median estimate / true rate: {ratio}")
    lines.append(f"p_top10 Brier skill score vs the constant 10/N: {summary['brier_skill']:.3f}")
    lines.append("p_top10 calibration (bin: sites, mean p_top10, share in the true top 10):")
    for b in summary["calibration"]:
        if b["sites"]:
            lines.append(
                f"  {b['low']:.2f}-{b['high']:.2f}: {b['sites']:>4} "
                f"{b['mean_p_top10']:.3f} {b['share_in_true_top10']:.3f}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corridor.hotspots.validation")
    parser.add_argument("folder", type=Path, help="folder for the generated worlds (reused)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--years", type=int, nargs="+", default=list(YEARS))
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the full reports as JSON")
    args = parser.parse_args(argv)
    reports, summary = validate_worlds(args.folder, args.seeds, args.years, draws=args.draws)
    if args.json:
        print(json.dumps({"summary": summary, "reports": reports}, indent=2, default=float))
    else:
        print(format_summary(summary, reports))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
