"""Step and pipeline definitions, and the compiler that turns a pipeline call into a spec."""
