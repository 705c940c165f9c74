"""Benchmarks: speed and memory, measured side by side in one run. Not tests: nothing here asserts."""
