"""The metadata store: the only door to runs, steps, artifacts and snapshots."""
