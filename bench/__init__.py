"""Benchmarks (``make bench``): side-by-side comparisons that print a table and save it under bench/results/."""
