"""Baton's benchmarks: `python -m bench [--quick] [NAME...]` (or `./dev bench`)."""
