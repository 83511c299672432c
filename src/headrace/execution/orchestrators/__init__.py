"""Orchestrators decide where and when steps run; the StepRunner decides what a run does."""
