"""``corridor hotspots``: the explained ranking of sites (spaces of vulnerability)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from corridor.cli.common import err_console, print_table, to_csv, to_json, workspace, write_output
from corridor.errors import QueryError

# corridor.hotspots.COMPONENTS, repeated so that --help need not import the ranking (numpy,
# pandas, networkx); tests/cli/test_cli_startup.py checks that the two agree.
COMPONENTS = ("mobility", "burden", "service_gap", "bridging")

FORMATS = ("table", "csv", "json", "hxl")
TABLE_ROWS = 20

BASE_COLUMNS = (
    "rank",
    "place_code",
    "name",
    "place_type",
    "country_code",
    "lat",
    "lon",
    "score",
    "score_low",
    "score_high",
    "rank_low",
    "rank_high",
    "p_top10",
    *COMPONENTS,
    "main_driver",
    "flags",
)
HXL_TAGS: dict[str, str] = {
    "rank": "#x_rank",
    "place_code": "#loc+code",
    "name": "#loc+name",
    "place_type": "#loc+type",
    "country_code": "#country+code",
    "lat": "#geo+lat",
    "lon": "#geo+lon",
    "score": "#x_score",
    "score_low": "#x_score+low",
    "score_high": "#x_score+high",
    "rank_low": "#x_rank+low",
    "rank_high": "#x_rank+high",
    "p_top10": "#x_p_top10",
    "main_driver": "#x_driver",
    "flags": "#x_flags",
    **{c: f"#x_component+{c}" for c in COMPONENTS},
}
DIGITS: dict[str, int] = {
    "score": 2,
    "score_low": 2,
    "score_high": 2,
    "p_top10": 3,
    "lat": 5,
    "lon": 5,
    **dict.fromkeys(COMPONENTS, 4),
}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, float):
            if not math.isfinite(v):
                v = None
            elif k in DIGITS:
                v = round(v, DIGITS[k])
            else:
                v = float(f"{v:.6g}")
        out[k] = v
    return out


@click.command("hotspots")
@click.option("--top", type=click.IntRange(min=1), help="Show the first N sites only.")
@click.option(
    "--period", help="Period or range: 2024, 2024Q3, 2023Q1:2024Q4 (default: last 12 months)."
)
@click.option(
    "--weights",
    "weights_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML/JSON file: component -> weight (mobility, burden, service_gap, bridging).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--explain", "explain_code", metavar="PLACE_CODE", help="Explain one site's score.")
@click.option("--sensitivity", "show_sensitivity", is_flag=True,
              help="How the top 10 changes when each weight moves by +/-50%.")  # fmt: skip
@click.option("--draws", type=click.IntRange(min=0), default=500, show_default=True,
              help="Uncertainty draws (bootstrap of counts x perturbed weights).")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE, not stdout."
)
@click.pass_context
def hotspots_command(
    ctx: click.Context,
    top: int | None,
    period: str | None,
    weights_file: Path | None,
    fmt: str,
    explain_code: str | None,
    show_sensitivity: bool,
    draws: int,
    seed: int,
    out: Path | None,
) -> None:
    """Rank sites as spaces of vulnerability: mobility, burden, service gap and bridging.

    Scores are 0-100 with an uncertainty interval, a rank interval and the probability of being
    in the top 10. Raw measures pass through disclosure control. Method: docs/hotspots.md.
    """
    from corridor.hotspots import SPECS, load_weights, rank_sites, sensitivity

    if explain_code and show_sensitivity:
        raise QueryError("choose one of --explain and --sensitivity")
    weights = load_weights(weights_file) if weights_file is not None else None
    ws = workspace(ctx)
    threshold = ws.settings.suppression_threshold
    with err_console.status("ranking sites…"):
        result = rank_sites(ws.engine, period=period, weights=weights, draws=draws, seed=seed)
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False)

    if explain_code:
        info = result.explain(explain_code, threshold=threshold)
        _write_explanation(info, fmt, out)
        return
    if show_sensitivity:
        rows = sensitivity(result).to_pylist()
        cols = list(rows[0]) if rows else ["component"]
        rows = [_clean(r) for r in rows]
        if fmt == "table":
            for r in rows:
                r["new_weight"] = f"{r['new_weight']:.3f}"
                r["jaccard"] = f"{r['jaccard']:.2f}"
                r["mean_abs_rank_change"] = f"{r['mean_abs_rank_change']:.2f}"
            print_table(
                rows,
                [
                    "component",
                    "direction",
                    "new_weight",
                    "entered",
                    "left",
                    "jaccard",
                    "mean_abs_rank_change",
                ],
                title=f"top-10 changes when a weight moves +/-50% ({result.period})",
            )
        elif fmt == "json":
            write_output(to_json(rows), out)
        else:
            write_output(to_csv(rows, cols), out)
        return

    rows = [_clean(r) for r in result.disclosed(threshold).to_pylist()]
    if top is not None:
        rows = rows[:top]
    if fmt == "table":
        shown = rows[: top or TABLE_ROWS]
        for r in shown:
            r["score"] = f"{r['score']:.1f} ({r['score_low']:.1f}-{r['score_high']:.1f})"
            r["rank"] = f"{r['rank']} ({r['rank_low']}-{r['rank_high']})"
            r["p_top10"] = f"{r['p_top10']:.2f}"
            r["site"] = f"{r['name']} ({r['place_code']}, {r['country_code'].upper()})"
            r["flags"] = (r["flags"] or "").replace(";", " ")
        cols = ["rank", "site", "place_type", "score", "p_top10", "main_driver", "flags"]
        weights_text = ", ".join(f"{k} {v:.2f}" for k, v in result.weights.items())
        print_table(
            shown,
            cols,
            title=f"spaces of vulnerability, {result.period} (weights: {weights_text}; "
            f"{round(100 * result.level)}% intervals, {result.draws} draws)",
        )
        if len(rows) > len(shown):
            err_console.print(f"{len(rows) - len(shown)} more site(s): use --top or --format csv")
        return
    columns = [*BASE_COLUMNS, *(spec.name for spec in SPECS)]
    if fmt == "json":
        doc = {
            "period": result.period,
            "weights": result.weights,
            "normalization": result.normalization,
            "draws": result.draws,
            "seed": result.seed,
            "interval_level": result.level,
            "suppression_threshold": threshold,
            "notes": result.notes,
            "sites": [{c: r.get(c) for c in columns} for r in rows],
        }
        write_output(to_json(doc), out)
    elif fmt == "hxl":
        write_output(
            to_csv(rows, columns, tags=[HXL_TAGS.get(c, f"#x_measure+{c}") for c in columns]), out
        )
    else:
        write_output(to_csv(rows, columns), out)


def _write_explanation(info: dict[str, Any], fmt: str, out: Path | None) -> None:
    if fmt == "json":
        write_output(to_json(info), out)
        return
    rows = [
        {
            "component": c["component"],
            "weight": c["weight"],
            "value": c["value"],
            "contribution": c["contribution"],
            "percentile": c["percentile"],
            "median_site_value": c["median_site_value"],
            "vs_median_site": c["vs_median_site"],
            "measures": "; ".join(
                f"{m['measure']}="
                + (
                    "suppressed"
                    if m["suppressed"]
                    else "imputed"
                    if m["imputed"]
                    else ""
                    if m["value"] is None
                    else f"{m['value']:.4g}"
                )
                for m in c["measures"]
            ),
        }
        for c in info["components"]
    ]
    cols = list(rows[0]) if rows else ["component"]
    if fmt in ("csv", "hxl"):
        write_output(to_csv(rows, cols), out)
        return
    lines = [info["summary"], ""]
    for c in info["components"]:
        lines.append(
            f"{c['component']}: {c['contribution']:.1f} points (weight {c['weight']:.2f} x "
            f"{c['value']:.2f}; percentile {c['percentile']:.0f}; "
            f"{c['vs_median_site']:+.1f} vs the median site)"
        )
        for m in c["measures"]:
            if m["suppressed"]:
                shown = "suppressed (small count)"
            elif m["imputed"]:
                shown = "no data (imputed from similar sites)"
            else:
                shown = "" if m["value"] is None else f"{m['value']:.4g}"
                if m["target"] is not None:
                    shown += f" (target {m['target']:g})"
            lines.append(f"  {m['measure']}: {shown}; percentile {m['percentile']:.0f}")
    write_output("\n".join(lines) + "\n", out)
