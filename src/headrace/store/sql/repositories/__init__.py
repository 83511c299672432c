"""One repository per aggregate of the SQL store; ``SqlStore`` delegates to them."""
