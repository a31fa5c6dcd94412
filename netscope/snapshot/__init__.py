"""netscope.snapshot."""
