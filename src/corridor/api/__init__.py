"""The HTTP API of the data hub (FastAPI): an app factory and thin routes. See docs/api.md."""
