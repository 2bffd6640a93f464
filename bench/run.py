"""Runs the benchmarks: the same as `python -m pydtrain bench [areas] [--threads ...]`."""
import sys

from pydtrain.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
