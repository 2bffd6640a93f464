"""Benchmarks: side-by-side timings of pydtrain, NumPy and PyTorch (``python -m pydtrain bench``)."""
