"""A malformed JSON file posted to ``POST /imports`` is a 422 naming where it breaks, never a
500 from a cleanup that ran in an aborted transaction, on both engines."""

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
