"""Pipeline snapshots: immutable, parameterised pipelines that anyone can run.

A snapshot holds the compiled spec, a content-addressed archive of the code, the
environment it was made in, a parameter schema and a configuration template.
"""
