"""The demonstration world is generated once per test session (per xdist worker): the ``world``
and ``world_dir`` fixtures live in tests/conftest.py, shared with the disclosure attack tests."""
