"""Metadata values: the typed values ``log_metadata`` accepts and responses return.

``headrace.metadata.metadata_types`` depends on nothing else in headrace but the
exceptions, so every layer (models, store, execution) may use it.
"""
