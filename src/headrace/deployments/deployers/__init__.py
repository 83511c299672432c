"""Deployer implementations, one per flavor (found through ``headrace.stacks.flavors``)."""
