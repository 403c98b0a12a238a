"""The explorer's parts without a browser: the form's query, the XLSX (never a formula) and the
chart's geometry."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from corridor.access.reads import IndicatorQuery
from corridor.web.explorer_chart import MAX_BARS, bar_chart
from corridor.web.explorer_query import Answer, api_query_string, cell_text, query_from_form
from corridor.web.explorer_xlsx import xlsx_of


def test_the_form_makes_the_api_query() -> None:
    q = query_from_form(
        {"indicator": ["positivity", "first_95"], "by": "country,sex", "period": " 2024 "}
    )
    assert q == IndicatorQuery(
        ("positivity", "first_95"), ("country", "sex"), "2024", None, None, True
    )
    assert api_query_string(q) == "indicator=positivity%2Cfirst_95&by=country%2Csex&period=2024"
    # a submitted form without the totals box ticked asks for no totals, and keeps no dimension
    q = query_from_form({"submitted": "1", "indicator": "positivity"})
    assert q.by == () and q.totals is False
    assert api_query_string(q) == "indicator=positivity&totals=false"
    # an empty first visit starts from the defaults
    assert query_from_form({}).indicators == ("first_95",) and query_from_form({}).by == (
        "country",
    )


def test_cells_are_written_as_json_writes_them() -> None:
    assert [cell_text(v) for v in (None, True, 12, 28.4, "<10", "ken")] == [
        "", "true", "12", "28.4", "<10", "ken"
    ]  # fmt: skip


ROW = {"indicator": "positivity", "period": "2024", "place_code": "ke-x", "place_name": "X",
       "numerator": 12, "denominator": 100, "value": 12.0, "unit": "percent"}  # fmt: skip


@settings(deadline=None, max_examples=40)  # an XLSX a case: no deadline on a loaded machine
@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and "\r" not in s))
def test_xlsx_holds_text_as_text_never_a_formula(name: str) -> None:
    """Any text (XML turns a carriage return into a newline, so none is drawn)."""
    rows = [{**ROW, "place_name": "=" + name}, {**ROW, "numerator": "<10", "value": None}]
    answer = Answer(IndicatorQuery(("positivity",)), list(ROW), rows, {"applied": True})
    wb = load_workbook(io.BytesIO(xlsx_of(answer)))
    ws = wb["indicators"]
    assert [c.value for c in ws[1]] == list(ROW)
    cell = ws.cell(row=2, column=4)
    assert cell.value == ILLEGAL_CHARACTERS_RE.sub("", "=" + name) and cell.data_type == "s"
    assert ws.cell(row=3, column=5).value == "<10"
    assert ws.cell(row=2, column=7).value == 12.0 and ws.cell(row=3, column=7).value is None
    about = {r[0]: r[1] for r in wb["about"].iter_rows(values_only=True)}
    assert about["query"] == "indicator=positivity" and about["rows"] == 2


def test_the_chart_draws_numbers_and_names_withheld_values() -> None:
    rows: list[dict[str, Any]] = [
        {**ROW, "value": 40.0, "target": 95},
        {**ROW, "place_name": "Y", "value": "suppressed"},
        {**ROW, "place_code": "all", "place_name": None, "value": 20.0},
    ]
    chart = bar_chart(rows)
    widths = [b.width for b in chart.bars]
    assert widths[1] is None and chart.bars[1].value_text == "suppressed"
    assert widths[0] == 2 * widths[2]  # bars are proportional to the value
    assert chart.bars[0].target_x is not None and chart.bars[0].target_x > widths[0]
    assert chart.bars[2].label == "all places"
    many = bar_chart([{**ROW, "place_name": str(i)} for i in range(MAX_BARS + 5)])
    assert many.shown == MAX_BARS and "first 40 of 45" in many.notes[0]


def test_a_refused_query_on_the_page_is_audited_as_every_refusal(tmp_path: Path) -> None:
    """The page keeps the form and says why (403), and, as the downloads and every other page,
    appends ``web.denied`` naming who asked for what: a partner probing what its agreement does
    not grant leaves a trace."""
    from fastapi.testclient import TestClient

    from corridor.access.audit import entries
    from corridor.api.app import create_app
    from hubdata import PASSWORD, make_hub

    ws, _tokens = make_hub(tmp_path / "ws")
    ws.close()
    app = create_app(tmp_path / "ws", pool_size=2)
    with TestClient(app) as c:
        r = c.post("/api/v1/login", json={"username": "partner1", "password": PASSWORD})
        assert r.status_code == 200
        query = "submitted=1&indicator=positivity&by=place&period=2024"  # it grants by country,sex
        page = c.get(f"/explorer?{query}")
        assert page.status_code == 403 and "disaggregation by place" in page.text
        with app.state.hub.pool.engine() as engine:
            denied = [e for e in entries(engine, user="partner1") if e["action"] == "web.denied"]
    assert [(e["parameters"]["path"], e["parameters"]["query"]) for e in denied] == [
        ("/explorer", query)
    ]
    assert "disaggregation by place" in denied[0]["parameters"]["reason"]
