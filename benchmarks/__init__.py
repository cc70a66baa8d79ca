"""Benchmarks of fleetsim; run them all with ``python -m benchmarks`` (``make bench``).

Each ``bench_*.py`` module has a ``main()`` that prints a table and writes JSON to
``benchmarks/results/`` (git-ignored).
"""
