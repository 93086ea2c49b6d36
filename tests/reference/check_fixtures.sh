#!/usr/bin/env bash
# check_fixtures.sh: CI's guard against fixture drift. Regenerates the
# reference fixtures with Debian's PyTorch into a temporary directory and
# compares them by value with the committed ones (make_reference.py --check);
# exits 1 on any difference. Without torch or h5py it skips (exit 0), since
# the normal test command (ctest) needs no Python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${REFERENCE_PYTHON:-/usr/bin/python3}"  # override only to test the skip
if ! [ -x "$py" ] || ! "$py" -c 'import torch, h5py' >/dev/null 2>&1; then
  echo "check_fixtures: skipped: torch not available ($py cannot import torch and h5py;" \
       "apt-get install python3-torch python3-h5py)"
  exit 0
fi
exec nice -n 19 "$py" "$here/make_reference.py" --check --out "$here/fixtures"
