#!/usr/bin/env bash
# The distribution as a user gets it: build the sdist and the wheel (`python -m build`, the wheel
# from the sdist), install the wheel (not editable) into a fresh venv with the pinned versions, and
# run a claim selection from a folder outside the repository, so that the installed package, not
# the source tree, is what runs.  Usage: tools/wheel_smoke.sh [OUTDIR]   (default book/_build/dist)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/book/_build/dist}
python=${PYTHON:-python3}
rm -rf "$out" "$root/build"
mkdir -p "$out"
if ! "$root/.venv/bin/python" -m build --outdir "$out" "$root" >"$out/build.log" 2>&1; then
  tail -30 "$out/build.log"; exit 1
fi
rm -rf "$root/build"
sdist=$(ls "$out"/attnmath-*.tar.gz) wheel=$(ls "$out"/attnmath-*.whl)
tar tzf "$sdist" > "$out/sdist-members.txt"
for member in LICENSE setup.py kernels/dispatch.py attnmath/claims.py; do
  grep -qx "attnmath-[0-9.]*/$member" "$out/sdist-members.txt" || { echo "sdist lacks $member"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$root/constraints.txt" "$wheel" \
  2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
"$work/venv/bin/python" -c "import attnmath" || { echo "the wheel did not install"; exit 1; }
cd "$work"
"$work/venv/bin/python" - <<'PY'
import importlib.util
import pathlib

import attnmath
import attnmath.kernels

site = pathlib.Path(attnmath.__file__).resolve().parent.parent
assert site.name == "site-packages", f"attnmath imported from {attnmath.__file__}, not from the installed wheel"
assert importlib.util.find_spec("kernels") is None, "a top-level `kernels` package was installed"
assert pathlib.Path(attnmath.kernels.__file__).resolve().parent == site / "attnmath" / "kernels"
for typed in (site / "attnmath" / "py.typed", site / "attnmath" / "kernels" / "py.typed"):
    assert typed.is_file(), f"the wheel lacks {typed.relative_to(site)} (PEP 561 marker)"
from attnmath.ledger import index

assert index.read(index.INDEX_FILE), "the wheel's claims_index.json is missing or does not match its sources"
licenses = list(site.glob("attnmath-*.dist-info/licenses/LICENSE"))
assert licenses and "MIT License" in licenses[0].read_text(), "the wheel carries no LICENSE"
print(f"wheel: attnmath {attnmath.__version__} installed in {site}; attnmath.kernels inside it; LICENSE and py.typed shipped")
PY
"$work/venv/bin/python" -m attnmath verify -k softmax --no-progress | tail -4
