#!/usr/bin/env bash
# Installs the template linters (cfn-lint, checkov) pinned in tools/ into
# ${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}/lint-venv. Idempotent: a stamp
# with the Python version and the hash of the pin files skips a second install.
# Prints the venv's bin directory on stdout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}"
venv="$cache/lint-venv"
req="$repo/tools/requirements-lint.txt"
con="$repo/tools/constraints-lint.txt"
say() { printf 'setup-lint: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

python=${KSERVE_EDGE_PYTHON:-}
if [[ -z "$python" ]]; then
  for p in python3.11 python3.12 python3.10 python3; do
    if command -v "$p" >/dev/null 2>&1; then python=$(command -v "$p"); break; fi
  done
fi
[[ -n "$python" ]] || die "python3 (3.10-3.12) not found"
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key="py$pyver-$(cat "$req" "$con" | sha256sum | cut -c1-16)"

if [[ -f "$venv/.kserve-edge-stamp" && "$(cat "$venv/.kserve-edge-stamp")" == "$key" && -x "$venv/bin/cfn-lint" && -x "$venv/bin/checkov" ]]; then
  say "cached ($venv)"
else
  say "creating $venv (cfn-lint, checkov; first time ~2-3 min)…"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv" >&2 || die "python -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" -c "$con" >&2
  printf '%s' "$key" >"$venv/.kserve-edge-stamp"
  say "ready"
fi
printf '%s\n' "$venv/bin"
