"""One module per doctor check; each defines CHECK. They are listed in doctor/registry.py."""
