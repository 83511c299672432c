"""Running pipelines: the launcher, the step runner, orchestrators, and step context."""
