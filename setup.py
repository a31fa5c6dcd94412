"""What pyproject.toml cannot say: the repository's top-level probes/ (eBPF sources),
topology/ (lab files) and docs/ (formats, schema) are mapped into the package at build time,
as netscope.probes, netscope.topology and netscope.docs, so a wheel carries them; the code
finds them the same way installed or in a checkout (netscope/resources.py)."""

from setuptools import find_packages, setup

SHIPPED = {"netscope.probes": "probes", "netscope.topology": "topology", "netscope.docs": "docs"}

setup(
    packages=[*find_packages(include=["netscope", "netscope.*"]), *SHIPPED],
    package_dir=SHIPPED,
)
