"""Benchmarks: each module prints one line per figure."""
