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
    "new_infections_per_1000",
    "new_infections_per_1000_low",
    "new_infections_per_1000_high",
    "new_infections",
    "new_infections_low",
    "new_infections_high",
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
    "new_infections_per_1000": "#x_hiv_incidence+per1000",
    "new_infections_per_1000_low": "#x_hiv_incidence+per1000+low",
    "new_infections_per_1000_high": "#x_hiv_incidence+per1000+high",
    "new_infections": "#x_hiv_incidence+num",
    "new_infections_low": "#x_hiv_incidence+num+low",
    "new_infections_high": "#x_hiv_incidence+num+high",
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
    "new_infections_per_1000": 3,
    "new_infections_per_1000_low": 3,
    "new_infections_per_1000_high": 3,
    "new_infections": 1,
    "new_infections_low": 1,
    "new_infections_high": 1,
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
    help="YAML/JSON file: component -> weight (mobility, burden, service_gap, bridging); "
    "weights the explanation's component values, not the estimate.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--explain", "explain_code", metavar="PLACE_CODE", help="Explain one site's estimate."
)
@click.option(
    "--sensitivity",
    "show_sensitivity",
    is_flag=True,
    help="How the top 10 changes when a component's multipliers move +/-50%.",
)
@click.option(
    "--validate",
    "validate",
    is_flag=True,
    help="Demo workspace: compare the estimate, each single measure and a random ranking with "
    "the world's truth (truth/ beside the workspace), 2023-2025.",
)
@click.option(
    "--draws",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Uncertainty draws (counts, multipliers, imputation and model error); 0: no intervals.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Random seed (>= 0)."
)
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
    validate: bool,
    draws: int,
    seed: int,
    out: Path | None,
) -> None:
    """Rank sites by expected new HIV infections per 1,000 residents, with intervals.

    The estimate comes from a Naomi-style model calibrated with recency testing; mobility,
    burden, service gap and bridging explain it. Each site gets a 90% model interval of the rate
    (in validation it held the true rate for fewer than 90% of sites: the output says how many),
    a rank interval and the share of draws in which it is in the top 10. Raw measures pass
    through disclosure control. Method and validation: docs/hotspots.md.
    """
    from corridor.hotspots import SPECS, load_weights, rank_sites, sensitivity
    from corridor.hotspots.explain import PERCENT_MEASURES

    if sum((explain_code is not None, show_sensitivity, validate)) > 1:
        raise QueryError("choose one of --explain, --sensitivity and --validate")
    if fmt == "hxl" and (explain_code is not None or show_sensitivity or validate):
        # HXL tags are the ranking table's; these tables have none (was: plain CSV, silently)
        raise QueryError(
            "--format hxl is for the ranking itself; with --explain, --sensitivity or --validate "
            "use table, csv or json"
        )
    weights = load_weights(weights_file) if weights_file is not None else None
    ws = workspace(ctx)
    if validate:
        _validate(ws, period, draws, seed, fmt, out)
        return
    from corridor.hotspots.disclosure import disclosure_line

    settings = ws.settings
    threshold = settings.suppression_threshold
    with err_console.status("ranking sites…"):
        result = rank_sites(
            ws.engine,
            period=period,
            weights=weights,
            draws=draws,
            seed=seed,
            testing_min_age=settings.testing_min_age,
        )
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False)

    if explain_code is not None:  # an empty code is refused by name, not ignored
        info = result.explain(explain_code, threshold=settings)
        _write_explanation(info, fmt, out)
        err_console.print(disclosure_line(settings), highlight=False)
        return
    if show_sensitivity:
        rows = sensitivity(result).to_pylist()
        cols = list(rows[0]) if rows else ["component"]
        rows = [_clean(r) for r in rows]
        if fmt == "table":
            for r in rows:
                r["factor"] = f"{r['factor']:.2f}"
                r["jaccard"] = f"{r['jaccard']:.2f}"
                r["mean_abs_rank_change"] = f"{r['mean_abs_rank_change']:.2f}"
            print_table(
                rows,
                [
                    "component",
                    "direction",
                    "factor",
                    "entered",
                    "left",
                    "jaccard",
                    "mean_abs_rank_change",
                ],
                title=f"top-10 changes when a component's multipliers move +/-50% "
                f"({result.period})",
                out=out,
            )
        elif fmt == "json":
            write_output(to_json(rows), out)
        else:
            write_output(to_csv(rows, cols), out)
        return

    rows = [_clean(r) for r in result.disclosed(settings).to_pylist()]
    note = disclosure_line(settings)
    if fmt != "json":
        err_console.print(note, highlight=False)
    if top is not None:
        rows = rows[:top]
    if fmt == "table":
        shown = rows[: top or TABLE_ROWS]
        intervals = result.has_intervals  # without draws: no interval, rank range or p_top10
        for r in shown:
            r["per 1,000"] = f"{r['new_infections_per_1000']:.1f}"
            if intervals:
                r["per 1,000"] += (
                    f" ({r['new_infections_per_1000_low']:.1f}-"
                    f"{r['new_infections_per_1000_high']:.1f})"
                )
                r["rank"] = f"{r['rank']} ({r['rank_low']}-{r['rank_high']})"
                r["p_top10"] = f"{r['p_top10']:.2f}"
            r["new infections"] = (
                "" if r["new_infections"] is None else f"{r['new_infections']:,.0f}"
            )
            r["site"] = f"{r['name']} ({r['place_code']}, {r['country_code'].upper()})"
            r["flags"] = (r["flags"] or "").replace(";", " ")
        cols = ["rank", "site", "place_type", "per 1,000", "new infections",
                *(["p_top10"] if intervals else []), "main_driver", "flags"]  # fmt: skip
        uncertainty = (
            f"{result.rate_interval_label}; {round(100 * result.level)}% rank intervals; "
            f"{result.draws} draws"
            if intervals
            else "no intervals: 0 draws"
        )
        print_table(
            shown,
            cols,
            title=f"spaces of vulnerability: expected new HIV infections per 1,000 residents "
            f"a year, {result.period} ({uncertainty})",
            out=out,
        )
        if len(rows) > len(shown):
            err_console.print(f"{len(rows) - len(shown)} more site(s): use --top or --format csv")
        return
    columns = [*BASE_COLUMNS, *(spec.name for spec in SPECS)]
    percent = [c for c in columns if c in PERCENT_MEASURES]
    for r in rows:  # rates are percentages in every file a person reads, as in the explanation
        for c in percent:
            if r.get(c) is not None:
                r[c] = round(100.0 * float(r[c]), 4)
    if fmt == "json":
        doc = {
            "period": result.period,
            "model": None
            if result.model is None
            else {
                "coefficients": result.model.coefficients,
                "model_error_sd": result.model.tau,
                "recency_sites": result.model.recency_sites,
            },
            "weights": result.weights,
            "normalization": result.normalization,
            "draws": result.draws,
            "seed": result.seed,
            "interval_level": result.level,
            "rate_interval": result.rate_interval_label or None,
            "rate_interval_coverage": result.rate_interval_coverage,
            "suppression_threshold": threshold,
            "disclosure_control": {
                "method": settings.disclosure_method,
                "threshold": threshold,
                "note": note,
            },
            "notes": result.notes,
            "units": {c: "percent" for c in percent},
            "sites": [{c: r.get(c) for c in columns} for r in rows],
        }
        write_output(to_json(doc), out)
    elif fmt == "hxl":
        write_output(
            to_csv(rows, columns, tags=[HXL_TAGS.get(c, f"#x_measure+{c}") for c in columns]), out
        )
    else:
        write_output(to_csv(rows, columns), out)


def _validation_years(period: str | None) -> list[int]:
    """The calendar years ``--validate`` compares: a year (``2024``) or a range of years
    (``2023:2025``); without a period the years of ``validation.YEARS``. A quarter, month or
    week is refused: the truth is by year, and ignoring the period would validate other years."""
    import re

    from corridor.hotspots.validation import YEARS

    if period is None:
        return list(YEARS)
    found = re.fullmatch(r"\s*(\d{4})\s*(?::\s*(\d{4})\s*)?", period)
    if found is None:
        raise QueryError(
            f"--period {period!r}: --validate compares whole calendar years with the truth; "
            "give a year (2024) or a range of years (2023:2025)"
        )
    first = int(found.group(1))
    last = int(found.group(2) or first)
    if last < first:
        raise QueryError(f"--period {period!r}: the range ends ({last}) before it starts ({first})")
    return list(range(first, last + 1))


def _validate(
    ws: Any, period: str | None, draws: int, seed: int, fmt: str, out: Path | None
) -> None:
    from corridor.hotspots.validation import (
        format_summary,
        summarise_reports,
        validate_against_truth,
    )

    truth = Path(ws.path) / "truth"
    if not (truth / "new_infections.csv").is_file():
        raise QueryError(
            f"--validate needs the demonstration world's truth in {truth} (a workspace made by "
            "`corridor demo`); to validate on several generated worlds run "
            "`python -m corridor.hotspots.validation FOLDER`"
        )
    years = _validation_years(period)
    with err_console.status("validating against the truth…"):
        reports = [validate_against_truth(ws, truth, year=y, draws=draws, seed=seed) for y in years]
    summary = summarise_reports(reports)
    if fmt == "json":
        write_output(to_json({"summary": summary, "reports": reports}), out)
    elif fmt in ("csv", "hxl"):
        rows = [{"ranking": k, **v} for k, v in summary["rows"].items()]
        write_output(to_csv(rows, ["ranking", "spearman", "precision_at_10"]), out)
    else:
        write_output(format_summary(summary, reports) + "\n", out)


def _write_explanation(info: dict[str, Any], fmt: str, out: Path | None) -> None:
    if fmt == "json":
        write_output(to_json(info), out)
        return
    rows = [
        {
            "component": c["component"],
            "value": c["value"],
            "percentile": c["percentile"],
            "median_site_value": c["median_site_value"],
            "factor_vs_median": c["factor_vs_median"],
            "measures": "; ".join(
                f"{m['measure']}="
                + (
                    "suppressed"
                    if m["suppressed"]
                    else "imputed"
                    if m["imputed"]
                    else ""
                    if m["value"] is None
                    else f"{m['value']:.4g}{m['unit']}"
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
        standing = "" if c["percentile"] is None else f"; percentile {c['percentile']:.0f}"
        lines.append(
            f"{c['component']}: x{c['factor_vs_median']:.2f} against the median site{standing}"
        )
        for m in c["measures"]:
            if m["suppressed"]:
                shown = "suppressed (small count)"
            elif m["imputed"]:
                shown = "no data (imputed from similar sites)"
            else:
                shown = "" if m["value"] is None else f"{m['value']:.4g}{m['unit']}"
                if m["target"] is not None:
                    shown += f" (target {m['target']:g}{m['unit']})"
            lines.append(f"  {m['measure']}: {shown}; percentile {m['percentile']:.0f}")
    write_output("\n".join(lines) + "\n", out)
