"""netscope.graph."""
