#!/usr/bin/python3
"""Runs a command REPEAT times; prints "median min max" wall seconds and its peak RSS in kB.

    bench/timeit.py REPEAT COMMAND [ARG...]

Each run is a fresh process (posix_spawn + wait4); stdout and stderr go to /dev/null. The peak RSS comes from
one more run under /usr/bin/time (a child of this interpreter would count the interpreter's pages it started
from). Exits 1 if any run fails."""
import tempfile
import os
import sys
import time

repeat = int(sys.argv[1])
argv = sys.argv[2:]
devnull = os.open(os.devnull, os.O_WRONLY)
times, rss = [], []
for _ in range(repeat):
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    times.append(time.perf_counter() - t0)
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"{argv} failed with {os.waitstatus_to_exitcode(status)}", file=sys.stderr)
        sys.exit(1)
with tempfile.NamedTemporaryFile("r") as out:
    pid = os.posix_spawn("/usr/bin/time", ["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    os.waitpid(pid, 0)
    rss.append(int(out.read().split()[-1]))
times.sort()
n = len(times)
median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
print(f"{median:.6f} {times[0]:.6f} {times[-1]:.6f} {max(rss)}")
