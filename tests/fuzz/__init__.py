"""Fuzzing harnesses: seeded, mutating hypothesis properties for Baton's byte-facing code.

See docs/fuzzing.md. `python -m tests.fuzz --minutes N [TARGET...]` (or `./dev fuzz`) runs them
for a time budget; under pytest each runs a short smoke.
"""
