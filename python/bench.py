"""Time per durable 4 KiB replacement: atomic_write vs a careful pure-Python
writer vs PyPI's atomicwrites, side by side in one run, interleaved rounds.

    python bench.py [--rounds 15] [--writes 200] [--size 4096] [--tmpfs DIR] [--disk DIR]

Each round runs every writer once, in a rotating order, for --writes
replacements of one existing file; the table gives each writer's median time
per write over the rounds (wall-clock time, and CPU time of this process,
user + system, which the load of a shared machine disturbs less) and its ratio
to the pure-Python writer. --tmpfs
(default /dev/shm) shows the per-call overhead (fsync costs nothing there);
--disk (default the current directory) the real cost with the syncs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

# The installed package, not the source tree beside this file (which has no
# built extension, or a stale debug one from `maturin develop`).
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

import atomic_write  # noqa: E402

try:
    import atomicwrites  # noqa: E402
except ImportError:  # pragma: no cover - reported in the table
    atomicwrites = None


def careful_python(path, data):
    """What the seed asks for, done carefully in pure Python: a temp beside
    the target (O_EXCL, random name), the target's mode kept, every byte
    written, fsync, os.replace, fsync of the directory, no temp left on error."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            os.fchmod(fd, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def with_open(path, data):
    with atomic_write.open(path, "wb") as f:
        f.write(data)


def with_atomicwrites(path, data):
    with atomicwrites.atomic_write(path, mode="wb", overwrite=True) as f:
        f.write(data)


WRITERS = {
    "atomic_write.atomic_write_bytes": atomic_write.atomic_write_bytes,
    "atomic_write.open(path, 'wb')": with_open,
    "careful pure Python": careful_python,
    "atomicwrites (PyPI)": with_atomicwrites if atomicwrites else None,
}
BASELINE = "careful pure Python"


def measure(directory, rounds, writes, size):
    """Median (wall, CPU) seconds per write for each writer, from interleaved rounds."""
    data = os.urandom(size)
    work = tempfile.mkdtemp(prefix="aw-bench-", dir=directory)
    try:
        names = [n for n, f in WRITERS.items() if f]
        targets = {n: os.path.join(work, f"target-{i}") for i, n in enumerate(names)}
        for n in names:  # warm up; every target exists from here on
            for _ in range(max(1, writes // 10)):
                WRITERS[n](targets[n], data)
        times = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for n in order:
                write, target = WRITERS[n], targets[n]
                cpu, start = time.process_time(), time.perf_counter()
                for _ in range(writes):
                    write(target, data)
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                times[n].append((wall / writes, cpu / writes))
        for n in names:
            with open(targets[n], "rb") as f:
                assert f.read() == data, n
        leftovers = sorted(set(os.listdir(work)) - {os.path.basename(t) for t in targets.values()})
        assert not leftovers, leftovers
        return {n: tuple(statistics.median(x[i] for x in t) for i in (0, 1)) for n, t in times.items()}
    finally:
        shutil.rmtree(work)


def fs_type(directory):
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return "?"
    real = os.path.realpath(directory)
    best = max((m for m in mounts if real == m[1] or real.startswith(m[1].rstrip("/") + "/")), key=lambda m: len(m[1]))
    return best[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--writes", type=int, default=200, help="writes per writer per round")
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--tmpfs", default="/dev/shm")
    p.add_argument("--disk", default=".")
    a = p.parse_args()
    results = {}
    for label, d in (("tmpfs", a.tmpfs), ("disk", a.disk)):
        if d:
            results[f"{label} ({fs_type(d)}, {d})"] = measure(d, a.rounds, a.writes, a.size)
    print(f"{a.size} B per write, median of {a.rounds} interleaved rounds of {a.writes} writes per writer")
    print()
    columns = [f"{where}: {kind}" for where in results for kind in ("wall", "CPU")]
    print("| writer | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for n in WRITERS:
        cells = []
        for res in results.values():
            for i in (0, 1):
                if n not in res:
                    cells.append("not installed")
                    continue
                cells.append(f"{res[n][i] * 1e6:.1f} µs ({res[n][i] / res[BASELINE][i]:.2f}×)")
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
