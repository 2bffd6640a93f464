"""The global generator hands out counter ranges that never overlap, whatever the number of Python threads."""
import sys
import threading

from pydtrain import _random


def test_counter_ranges_from_several_threads_never_overlap():
    results = [[] for _ in range(4)]

    def draw(out):
        for _ in range(20000):
            out.append(_random.take(3)[1])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        threads = [threading.Thread(target=draw, args=(out,)) for out in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    starts = sorted(s for out in results for s in out)
    assert len(starts) == 80000
    assert all(b - a >= 3 for a, b in zip(starts, starts[1:]))
