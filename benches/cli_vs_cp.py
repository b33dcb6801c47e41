#!/usr/bin/env python3
"""The CLI against `cp` + `sync` on a 1 GiB file, and its memory on a pipe.

    cargo build --release --features cli && python3 benches/cli_vs_cp.py [ROUNDS]

Works in target/cli-bench/ (on the disk under the working directory), 1 GiB
of random input, removed at the end. Rounds alternate the order of the two
commands; medians and their ratio are printed. Then 1 GiB through a pipe, with
the CLI's peak RSS (VmHWM).
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "atomic-write")
WORK = os.path.join(ROOT, "target", "cli-bench")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, cwd=WORK)
    return time.perf_counter() - t


def main():
    os.makedirs(WORK, exist_ok=True)
    subprocess.run("head -c 1G /dev/urandom > in.bin", shell=True, check=True, cwd=WORK)
    cmds = {
        "atomic-write out < in": f"{BIN} out.aw < in.bin",
        "cp in out && sync out": "cp in.bin out.cp && sync out.cp",
    }
    res = {k: [] for k in cmds}
    try:
        for r in range(ROUNDS):
            items = list(cmds.items())
            if r % 2:
                items.reverse()
            for name, cmd in items:
                for f in ("out.aw", "out.cp"):
                    if os.path.exists(os.path.join(WORK, f)):
                        os.remove(os.path.join(WORK, f))
                subprocess.run("sync", shell=True)
                res[name].append(timed(cmd))
        meds = {k: statistics.median(v) for k, v in res.items()}
        for k, v in res.items():
            print(f"{k:24} median {meds[k]:.3f} s  ({' '.join(f'{x:.2f}' for x in v)})")
        print(f"ratio: {meds['atomic-write out < in'] / meds['cp in out && sync out']:.3f}")

        # Peak RSS: VmHWM of the CLI's own process, read once all input is fed
        # (wait4's ru_maxrss would include this Python's memory).
        aw = subprocess.Popen([BIN, "--no-sync", "out.aw"], stdin=subprocess.PIPE, cwd=WORK)
        chunk = bytes(range(256)) * 4096
        for _ in range(1024):
            aw.stdin.write(chunk)
        aw.stdin.flush()
        with open(f"/proc/{aw.pid}/status") as f:
            hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
        aw.stdin.close()
        assert aw.wait() == 0
        print(f"1 GiB from a pipe: peak RSS {hwm} KiB")
    finally:
        for f in ("in.bin", "out.aw", "out.cp"):
            if os.path.exists(os.path.join(WORK, f)):
                os.remove(os.path.join(WORK, f))


if __name__ == "__main__":
    main()
