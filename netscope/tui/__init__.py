"""netscope.tui."""
