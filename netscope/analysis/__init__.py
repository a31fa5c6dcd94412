"""netscope.analysis."""
