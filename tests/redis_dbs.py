"""Redis database numbers of this test process's own.

Every test run shares the one Redis that `make services` starts (database 0 is `make run`'s). A
database is claimed with an exclusive lock on a file named after it, held until this process exits
(the lock goes with the process, even a killed one), so two runs at once (two clones, a helper's
suite, `make bench`) never share one: they would flush and read each other's keys.
"""
from __future__ import annotations

import fcntl
import os
import tempfile

_claimed: dict[str, int] = {}
_held: list[int] = []  # the lock files' descriptors, open for the process's life


def claim(purpose: str) -> int:
    """This process's Redis database for `purpose` (the same number each time it is asked)."""
    if purpose in _claimed:
        return _claimed[purpose]
    for number in range(1, 16):
        path = os.path.join(tempfile.gettempdir(), f"kraken-test-redis-db-{number}.lock")
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held.append(fd)
        _claimed[purpose] = number
        return number
    raise RuntimeError("Redis databases 1-15 are all claimed by other test runs; set KRAKEN_TEST_REDIS_URL")
