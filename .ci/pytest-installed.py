"""Run python/tests against the INSTALLED atomic_write (a wheel in this
interpreter's site-packages), never the source tree beside the tests.

usage: python .ci/pytest-installed.py TESTS_DIR [PYTEST_ARGS...]

Run it from a directory outside the repository (.ci/run does): `python -c` and
`python -m atomic_write` children of the tests put their cwd first on sys.path.
After the session it checks that the atomic_write package and its extension the
tests imported came from site-packages, and fails otherwise.
"""

from __future__ import annotations

import os
import sys
import sysconfig

import pytest

tests, args = sys.argv[1], sys.argv[2:]
source = os.path.realpath(os.path.join(tests, ".."))
for entry in sys.path:
    if entry and os.path.realpath(entry) == source:
        sys.exit(f"{source} (the source tree) is on sys.path: the tests would not test the wheel")

status = pytest.main(["-p", "no:cacheprovider", "-c", os.path.join(source, "pyproject.toml"), tests, *args])

site = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
for name in ("atomic_write", "atomic_write._native"):
    module = sys.modules.get(name)
    if module is None:
        sys.exit(f"the tests never imported {name}")
    where = os.path.realpath(module.__file__ or "")
    if not any(where.startswith(s + os.sep) for s in site):
        sys.exit(f"the tests imported {name} from {where}, not from site-packages {sorted(site)}")
    print(f"{name}: {where}")
sys.exit(int(status))
