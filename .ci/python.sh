#!/usr/bin/env bash
# The Python package's CI step; .ci/run calls it, and it runs alone as well
# (`bash .ci/python.sh`, as root, after `apt-get update`). Keep in sync with
# python/README.md ("Install" and "Tests").
#
# 1. The python/ crate's gates (fmt, clippy).
# 2. `pip wheel ./python`, exactly as a user runs it, builds the wheel once;
#    checked: its tags (cp311-abi3, manylinux2014), auditwheel's verdict, the
#    license texts in .dist-info, and a stripped extension.
# 3. Without Rust on PATH, `pip install ./python` fails at once with the
#    backend's message (no toolchain download).
# 4. The wheel, installed into a fresh venv with no Rust on PATH, passes pytest,
#    run from outside the source tree (.ci/pytest-installed.py checks the tests
#    imported the installed copy): once as is, once on the named-temp path.
# 5. The same wheel and tests under Debian 13's Python 3.13 (the cross-env chroot).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export CI="${CI:-true}"
step_start=$SECONDS
lap() { echo "python: $1 done at $((SECONDS - step_start)) s"; }

# file and nm (binutils) inspect the extension; strace is for tests/test_syscalls.py
# and the GIL test in tests/test_concurrency.py.
for pkg in file:file nm:binutils strace:strace; do
    command -v "${pkg%%:*}" >/dev/null || apt-get install -y -qq "${pkg#*:}" >/dev/null
done
scratch="$(mktemp -d /tmp/aw-python.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
# World-readable: tests/test_privileged.py runs the venv's Python as user 65534.
chmod 755 "$scratch"
venv() {
    if ! python3 -m venv "$1" 2>/dev/null; then
        # Debian's python3 has no ensurepip without python3-venv.
        apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$1"
    fi
}

(cd python && cargo fmt --check && cargo clippy --all-targets -- -D warnings)
lap "fmt + clippy"

# --- 2. the wheel -----------------------------------------------------------
venv "$scratch/build"
"$scratch/build/bin/pip" install -q auditwheel==6.8.2
wheelhouse=python/target/wheelhouse
rm -rf "$wheelhouse"
"$scratch/build/bin/pip" wheel -q --no-deps ./python -w "$wheelhouse"
wheels=("$wheelhouse"/*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "expected one wheel, got: ${wheels[*]}"; exit 1; }
wheel=${wheels[0]}
name=$(basename "$wheel")
echo "python: built $name ($(stat -c %s "$wheel") bytes)"
case "$name" in
    atomic_write-*-cp311-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl) ;;
    *) echo "the wheel's tags are not cp311-abi3-manylinux2014: $name"; exit 1 ;;
esac
show=$("$scratch/build/bin/auditwheel" show "$wheel")
echo "$show"
if ! echo "$show" | tr -s ' \n' ' ' | grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"'; then
    echo "auditwheel does not accept the wheel as manylinux_2_17 (manylinux2014)"; exit 1
fi
unpacked="$scratch/unpacked"
"$scratch/build/bin/python" -m zipfile -e "$wheel" "$unpacked"
for f in LICENSE-MIT LICENSE-APACHE; do
    cmp "$f" "$unpacked"/atomic_write-*.dist-info/licenses/"$f"
done
so=("$unpacked"/atomic_write/_native*.so)
kind=$(file -b "${so[0]}")
echo "python: the extension: $kind"
case "$kind" in *", stripped"*) ;; *) echo "the extension is not stripped"; exit 1 ;; esac
if nm "${so[0]}" 2>&1 | grep -qv 'no symbols'; then
    echo "the extension has a symbol table (not stripped)"; exit 1
fi
lap "wheel build + checks"

# --- 3. and 4. no Rust on PATH ------------------------------------------------
venv "$scratch/venv"
chmod 755 "$scratch/venv"
norust="$scratch/venv/bin:/usr/local/bin:/usr/bin:/bin"
for tool in cargo rustc rustup; do
    if PATH=$norust command -v "$tool" >/dev/null; then
        echo "$tool is on the Rust-free PATH ($norust)"; exit 1
    fi
done
if PATH=$norust "$scratch/venv/bin/pip" install ./python >"$scratch/norust.log" 2>&1; then
    cat "$scratch/norust.log"; echo "pip install ./python succeeded without Rust?"; exit 1
fi
if ! grep -q 'needs Rust: `cargo` (Rust >= 1.85)' "$scratch/norust.log" ||
    grep -qi 'puccinialin\|installing into a temporary directory' "$scratch/norust.log"; then
    cat "$scratch/norust.log"; echo "pip install ./python without Rust did not fail with the backend's message"; exit 1
fi
echo "python: pip install ./python without Rust fails with the backend's message"
PATH=$norust "$scratch/venv/bin/pip" install -q --only-binary :all: "$wheel" pytest mypy
mkdir -m 755 "$scratch/cwd"
cd "$scratch/cwd"
PATH=$norust ATOMIC_WRITE_FULL_SUITE=1 \
    "$scratch/venv/bin/python" "$repo/.ci/pytest-installed.py" "$repo/python/tests"
# Again on the named-temp path (filesystems without O_TMPFILE), as the crate's suites do.
PATH=$norust ATOMIC_WRITE_NO_TMPFILE=1 ATOMIC_WRITE_FULL_SUITE=1 \
    "$scratch/venv/bin/python" "$repo/.ci/pytest-installed.py" "$repo/python/tests"
cd "$repo"
lap "pytest on the installed wheel (Python $(python3 -c 'import platform; print(platform.python_version())'))"

# --- 5. Python 3.13 (Debian 13) -----------------------------------------------
# The chroot mounts the repository at /src, so the wheel is /src/$wheel there.
# shared/ is beside the repository in CI (a fresh clone), /work/shared in a
# session's worktree; CROSS_ENV_SH names another.
cross=${CROSS_ENV_SH:-../shared/tools/cross-env.sh}
[ -f "$cross" ] || cross=/work/shared/tools/cross-env.sh
bash "$cross" setup
CROSS_ENV="CI=$CI ATOMIC_WRITE_FULL_SUITE=1" bash "$cross" run . bash -c '
    set -euo pipefail
    export DEBIAN_FRONTEND=noninteractive
    command -v strace >/dev/null || { apt-get update -qq && apt-get install -y -qq strace >/dev/null; }
    v=/opt/aw-py-venv
    rm -rf "$v" /tmp/aw-py-cwd
    python3 -m venv "$v"
    chmod 755 "$v"
    "$v/bin/pip" install -q --disable-pip-version-check --only-binary :all: "/src/$1" pytest mypy
    mkdir -m 755 /tmp/aw-py-cwd
    cd /tmp/aw-py-cwd
    PATH="$v/bin:$PATH" "$v/bin/python" /src/.ci/pytest-installed.py /src/python/tests
    rm -rf "$v" /tmp/aw-py-cwd
' bash "$wheel"
lap "pytest on Python 3.13"
