"""The regularization comparison and the L2 penalty's speed: the same as `python -m pydtrain bench regularization`."""
import sys

from pydtrain.bench import main

if __name__ == "__main__":
    sys.exit(main(["regularization", *sys.argv[1:]]))
