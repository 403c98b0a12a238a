"""The demonstration world, generated once per test session (per xdist worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.demo import WorldManifest, generate_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldManifest:
    out = tmp_path_factory.mktemp("world")
    return generate_world(out, seed=2024)


@pytest.fixture(scope="session")
def world_dir(world: WorldManifest) -> Path:
    assert world.out_dir is not None
    return world.out_dir
