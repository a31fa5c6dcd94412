"""netscope.actions."""
