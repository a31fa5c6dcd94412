"""netscope.trace."""
