"""polars' allocator gives freed memory back soon when corridor is imported first.

Each case runs in a fresh interpreter: jemalloc reads its settings once, when polars loads.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from corridor.allocator import POLARS_DEFAULT, SETTINGS, VARIABLE

#: polars holds 100 blocks of 2 MB, lets go of them, then keeps allocating for 0.2 s (what the
#: next step of an import does); prints MB held above the start with the blocks, and after
FREE_AND_WAIT = """
import os, sys, time
{first}
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base = rss()
parts = [pl.int_range(i, i + 250_000, eager=True) for i in range(100)]
held = rss()
del parts
t = time.perf_counter()
while time.perf_counter() - t < 0.2:
    for _ in range(20):
        pl.int_range(0, 1000, eager=True).sum()
    time.sleep(0.005)
print((held - base) / 1e6, (rss() - base) / 1e6)
print(os.environ.get("{variable}", ""))
"""


def _run(first: str, env_value: str | None) -> tuple[float, float, str]:
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    if env_value is not None:
        env[VARIABLE] = env_value
    code = FREE_AND_WAIT.format(first=first, variable=VARIABLE)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    numbers, setting = proc.stdout.splitlines()[:2]
    held, after = (float(x) for x in numbers.split())
    return held, after, setting


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_polars_lets_go_of_leaves_the_process_at_once() -> None:
    held, after, setting = _run("import corridor\nimport polars as pl", None)
    assert setting.endswith(SETTINGS)  # later settings win in jemalloc
    assert held > 150
    assert after < held / 2, (held, after)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_the_users_own_decay_settings_are_left_as_they_are() -> None:
    own = "muzzy_decay_ms:1000,dirty_decay_ms:500"  # polars' defaults, chosen by the user
    held, after, setting = _run("import corridor\nimport polars as pl", own)
    assert setting == f"{POLARS_DEFAULT},{own}"
    # the freed blocks are still resident: what the next step of an import used to carry
    assert after > held / 2, (held, after)


def test_settings_inherited_from_a_parent_that_loaded_polars_are_completed() -> None:
    _held, _after, setting = _run("import corridor\nimport polars as pl", POLARS_DEFAULT)
    assert setting.endswith(SETTINGS)


def test_nothing_is_changed_once_polars_is_loaded() -> None:
    _held, _after, setting = _run("import polars as pl\nimport corridor", None)
    assert setting == POLARS_DEFAULT
