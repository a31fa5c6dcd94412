"""Modal screens: help, doctor findings, trace target, labs, confirmation of a repair."""
