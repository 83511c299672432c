"""Stacks: where a run executes and where its artifacts live, as named components.

A stack is one component per type (orchestrator, artifact store, optionally an
alerter); a component is a flavor plus a configuration. ``flavors`` is the registry
that maps ``(type, flavor name)`` to a pydantic configuration model and a lazily
imported implementation; ``settings`` merges a pipeline's ``orchestrator*`` settings
into the stack's orchestrator configuration. The records themselves live in the Store.

This package sits low in the layers (only pydantic and the standard library below it),
so configuration checks at compile time and response models can use it.
"""
