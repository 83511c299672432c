"""The HTTP API, by version."""
