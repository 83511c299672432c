"""Artifact bytes: artifact stores, and saving and loading values through materializers."""
