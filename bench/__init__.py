"""Benchmarks: one command each, figures printed, not part of the test suite (see README.md)."""
