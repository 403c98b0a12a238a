"""The cell-key method: the perturbation table, the perturbed table, record keys and settings."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clihelp import run
from corridor.config import load_settings
from corridor.errors import ConfigError
from corridor.indicators import compute_indicators
from corridor.indicators.cellkey import perturb_table
from corridor.indicators.disclosure import perturbation_table
from corridor.indicators.ptable import build_ptable
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import MIGRATIONS, migrate
from corridor.storage.recordkeys import KEY_MODULUS, derive_record_keys
from corridor.workspace import init_workspace

PARAMS = [(4, 2.0, 10), (2, 1.0, 5), (6, 5.0, 10), (3, 1.5, 1)]


@pytest.mark.parametrize(("d", "v", "js"), PARAMS)
def test_every_row_is_a_zero_mean_distribution(d: int, v: float, js: int) -> None:
    pt = build_ptable(d, v, js)
    for row in pt.describe():
        probs = pt.probabilities(int(row["count"]))
        assert sum(probs.values()) == pytest.approx(1.0)
        assert abs(row["mean"]) < 1e-9
        if row["count"] >= js:
            assert row["max_abs_noise"] <= d
    # far from the threshold: exactly the documented variance
    assert pt.describe()[-1]["variance"] == pytest.approx(v, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PARAMS),
    st.lists(st.integers(0, 300), min_size=1, max_size=50),
    st.lists(st.integers(0, KEY_MODULUS - 1), min_size=50, max_size=50),
)
def test_no_small_count_is_published_and_noise_is_bounded(
    params: tuple[int, float, int], counts: list[int], keys: list[int]
) -> None:
    d, v, js = params
    pt = build_ptable(d, v, js)
    c = np.array(counts)
    u = np.array(keys[: len(counts)]) / KEY_MODULUS
    out = pt.perturb(c, u)
    assert not np.any((out > 0) & (out < js))
    assert np.all(out >= 0)
    assert np.all(out[c == 0] == 0)
    big = c >= js
    assert np.all(np.abs(out[big] - c[big]) <= d)
    small = (c > 0) & (c < js)
    assert np.all((out[small] == 0) | ((out[small] >= js) & (out[small] <= js + d)))
    assert np.array_equal(out, pt.perturb(c, u))  # same value and key, same published value


def test_observed_noise_matches_the_table() -> None:
    """Uniform keys give each noise with its probability (the lookup is right)."""
    pt = build_ptable(4, 2.0, 10)
    u = (np.arange(200_000) + 0.5) / 200_000
    for count in (3, 12, 57):
        out = pt.perturb(np.full(len(u), count), u) - count
        for noise, p in pt.probabilities(count).items():
            assert np.mean(out == noise) == pytest.approx(p, abs=1e-4)


def _table(
    num: list[float | None], den: list[float | None], nk: list[int], dk: list[int]
) -> pa.Table:
    n = len(num)
    value = [100 * a / b if a is not None and b else None for a, b in zip(num, den, strict=True)]
    return pa.table(
        {
            "indicator": ["positivity"] * n,
            "numerator": pa.array(num, pa.float64()),
            "denominator": pa.array(den, pa.float64()),
            "value": pa.array(value, pa.float64()),
            "target": pa.array([95.0] * n),
            "gap": pa.array([None] * n, pa.float64()),
            "numerator_key": pa.array(nk, pa.int64()),
            "denominator_key": pa.array(dk, pa.int64()),
        }
    )


def test_perturbed_table_recomputes_rates_and_drops_keys() -> None:
    pt = build_ptable(4, 2.0, 10)
    rng = np.random.default_rng(1)
    n = 500
    num = rng.integers(0, 60, n).astype(float).tolist()
    den = (np.array(num) + rng.integers(0, 200, n)).astype(float).tolist()
    keys = rng.integers(0, KEY_MODULUS, (2, n)).tolist()
    t = _table(num, den, keys[0], keys[1])
    out = perturb_table(t, pt)
    assert out.num_rows == n
    assert "numerator_key" not in out.column_names
    assert out.column("numerator_flag").null_count == n
    pn = np.array(out.column("numerator").to_pylist(), dtype=float)
    pd_ = np.array(out.column("denominator").to_pylist(), dtype=float)
    val = np.array(out.column("value").to_pylist(), dtype=float)
    ok = pd_ > 0
    assert np.allclose(val[ok], 100 * pn[ok] / pd_[ok])
    assert np.all(np.isnan(val[~ok]))
    gap = np.array(out.column("gap").to_pylist(), dtype=float)
    assert np.allclose(gap[ok], 95 - val[ok])
    assert out.schema.metadata[b"corridor.method"] == b"cellkey"
    # the same count with the same key publishes the same value, in any row
    again = perturb_table(t.take(list(range(n))[::-1]), pt)
    assert again.column("numerator").to_pylist()[::-1] == pn.tolist()


def test_settings_choose_the_method_and_check_parameters(tmp_path: Path) -> None:
    assert load_settings(None, env={}).disclosure_method == "cellkey"
    s = load_settings(None, env={"CORRIDOR_DISCLOSURE_METHOD": "Suppression"})
    assert s.disclosure_method == "suppression"
    with pytest.raises(ConfigError, match="disclosure_method"):
        load_settings(None, env={"CORRIDOR_DISCLOSURE_METHOD": "noise"})
    bad = load_settings(None, env={}, overrides={"disclosure_variance": 20})
    with pytest.raises(ConfigError, match="variance"):
        perturbation_table(bad)


def _services_csv(path: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    lines += [f"{p},{pl},{e},f,15-24,migrant,{v}" for p, pl, e, v in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PLACES = (
    "place_code,name,place_type,parent_code,country_code,lat,lon\n"
    "ken,Kenya,country,,ken,0,37\n"
    "ke-busia,Busia,border_crossing,ken,ken,0.46,34.1\n"
    "ke-malaba,Malaba,border_crossing,ken,ken,0.63,34.27\n"
)


def _keys(engine: Engine) -> list[int]:
    return [int(r[0]) for r in engine.query_rows("SELECT record_key FROM services ORDER BY 1")]


def test_import_keys_rows_once_and_keeps_them(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    (tmp_path / "places.csv").write_text(PLACES, encoding="utf-8")
    ws.ingest([tmp_path / "places.csv"], "places")
    rows = [
        ("2024Q1", "ke-busia", "hiv_tests", 40),
        ("2024Q1", "ke-malaba", "hiv_tests", 7),
        ("2024Q1", "ke-busia", "hiv_positive", 4),
        ("2024Q1", "ke-malaba", "hiv_positive", 2),
    ]
    ws.ingest([_services_csv(tmp_path / "a.csv", rows)], "services")
    first = _keys(ws.engine)
    assert len(first) == 4 and len(set(first)) == 4
    assert all(0 <= k < KEY_MODULUS for k in first)
    # the same rows again (another file): nothing changes, keys stay
    ws.ingest(
        [_services_csv(tmp_path / "b.csv", [*rows, ("2024Q2", "ke-busia", "hiv_tests", 3)])],
        "services",
    )
    after = _keys(ws.engine)
    assert set(first) <= set(after) and len(after) == 5
    # the seed gives the demonstration world its keys, the same each time
    derive_record_keys(ws.engine, 7)
    once = _keys(ws.engine)
    derive_record_keys(ws.engine, 7)
    assert _keys(ws.engine) == once != after
    raw = compute_indicators(ws.engine, ["positivity"], ["place"], "2024Q1", totals=True)
    keys = dict(
        zip(
            raw.column("place_code").to_pylist(),
            raw.column("numerator_key").to_pylist(),
            strict=True,
        )
    )
    # a cell's key is the sum of its rows' keys (mod 2^32): the margin of two sites
    assert keys["all"] == (keys["ke-busia"] + keys["ke-malaba"]) % KEY_MODULUS
    ws.close()


def test_migration_2_keys_rows_stored_before_it(engine_url: str) -> None:
    eng = connect(engine_url)
    eng.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    first = MIGRATIONS[0]
    eng.execute_script(first.statements, step="migration 1")
    eng.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'one')")
    eng.execute(
        "INSERT INTO services (period, period_type, period_start, period_end, place_code, "
        "data_element, sex, age_band, population_group, value, import_id) VALUES "
        "('2024Q1', 'quarter', DATE '2024-01-01', DATE '2024-03-31', 'a', 'hiv_tests', 'f', "
        "'15-24', 'host', 5, 1), ('2024Q1', 'quarter', DATE '2024-01-01', DATE '2024-03-31', "
        "'b', 'hiv_tests', 'f', '15-24', 'host', 6, 1)"
    )
    assert 2 in migrate(eng)
    keys = _keys(eng)
    assert len(keys) == 2 and all(0 <= k < KEY_MODULUS for k in keys) and keys[0] != keys[1]
    eng.close()


def test_cli_says_totals_need_not_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = init_workspace(tmp_path / "ws")
    (tmp_path / "places.csv").write_text(PLACES, encoding="utf-8")
    ws.ingest([tmp_path / "places.csv"], "places")
    rows = [
        ("2024Q1", "ke-busia", "hiv_tests", 40),
        ("2024Q1", "ke-malaba", "hiv_tests", 7),
        ("2024Q1", "ke-busia", "hiv_positive", 3),
        ("2024Q1", "ke-malaba", "hiv_positive", 12),
    ]
    ws.ingest([_services_csv(tmp_path / "s.csv", rows)], "services")
    ws.close()
    for fmt in ("table", "csv", "json"):
        r = run(
            capsys,
            "-w",
            tmp_path / "ws",
            "indicators",
            "-i",
            "positivity",
            "--by",
            "place",
            "--format",
            fmt,
        )
        assert r.code == 0, r.err
        assert "totals need not equal the sum of their parts" in " ".join((r.out + r.err).split())
        if fmt == "csv":
            body = list(csv.DictReader(io.StringIO(r.out)))
            counts = [float(x[c]) for x in body for c in ("numerator", "denominator")]
            assert counts and not [c for c in counts if 0 < c < 10]
