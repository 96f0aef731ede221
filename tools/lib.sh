# Shared by tools/main-job and tools/run-tests: everything they need, idempotently.
# Sourced, not executed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(command -v python3.11 || command -v python3)
fi

say() { printf '%s\n' "$*" >&2; }

# The virtualenv's libvirt-python compiles against libvirt-dev: install the
# build packages first, with the system Python (the module is stdlib-only).
ensure_build_packages() {
    PYTHONPATH="$ROOT" "$PYTHON" -m container_ci.provision.packages build >&2
}

# Create .venv and install the project (editable) with the given extras,
# reinstalling only when pyproject.toml changed since the last install.
ensure_venv() {
    local extras="$1" stamp want
    ensure_build_packages
    if [ ! -x "$VENV/bin/python" ]; then
        say "venv: creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    stamp="$VENV/.container-ci-installed${extras:+-$extras}"
    want=$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
        say "venv: installing container-ci${extras:+[$extras]}"
        # (this machine's pip config names local mirrors that may not exist: drop that noise)
        "$VENV/bin/pip" install --quiet --disable-pip-version-check \
            -e "$ROOT${extras:+[$extras]}" 2>&1 | sed '/^WARNING: Location .* is ignored/d' >&2
        printf '%s\n' "$want" > "$stamp"
    else
        say "venv: up to date"
    fi
}
