"""netscope.collect."""
