"""Bad requests are 4xx answers in the API's own words: a malformed JSON file posted to
``POST /imports`` is a 422 naming where it breaks, never a 500 from a cleanup that ran in an
aborted transaction (both engines); a bad period names the query parameter."""

from __future__ import annotations

from typing import Any

import pytest

from hubdata import auth

CASES = [
    (b'{"dataValues": [{"dataElement": "x",, }]}', "not valid JSON"),
    (b'{"dataValues": [{"dataElement": "hiv_tests", "value": NaN}]}', ""),
]


@pytest.mark.parametrize(("content", "says"), CASES)
def test_malformed_json_is_a_422(fresh_hub_both: Any, content: bytes, says: str) -> None:
    r = fresh_hub_both.client.post(
        "/api/v1/imports",
        headers=auth(fresh_hub_both.tokens["admin1"]),
        files={"file": ("values.json", content, "application/json")},
        data={"kind": "services"},
    )
    assert r.status_code == 422, r.text
    assert says in r.text


def test_a_bad_period_names_the_query_parameter_not_a_cli_option(fresh_hub_both: Any) -> None:
    r = fresh_hub_both.client.get(
        "/api/v1/indicators?indicator=positivity&by=country&period=2024Q5",
        headers=auth(fresh_hub_both.tokens["admin1"]),
    )
    assert r.status_code == 400
    assert "bad period '2024Q5'" in r.json()["detail"] and "--" not in r.json()["detail"]
