"""The Python examples of README.md and python/README.md run as written."""

from __future__ import annotations

import json
import os
import pathlib
import re
import stat

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks(path):
    text = path.read_text()
    return [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def " not in b]


@pytest.mark.parametrize("readme", ["README.md", "python/README.md"])
def test_readme_examples_run(readme, tmp_path, monkeypatch):
    blocks = python_blocks(ROOT / readme)
    assert blocks, f"no python example in {readme}"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, readme, "exec"), {})
    assert json.loads((tmp_path / "cfg.json").read_text())["version"] in (2, 3)
    for script in ("run.sh", "script.sh"):
        if (tmp_path / script).exists():
            assert stat.S_IMODE(os.stat(tmp_path / script).st_mode) == 0o755
    assert not [n for n in os.listdir(tmp_path) if ".atomic-write-" in n]
