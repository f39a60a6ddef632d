#!/usr/bin/env bash
# JupyterLab on the chapters, as readers run it: `make lab` (extra arguments go to jupyter lab).
# The chapters are MyST .md files that jupytext opens as notebooks. Containers run as root, and
# JupyterLab refuses root without --allow-root ("Running as root is not recommended"), so the flag is
# added exactly when this runs as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
args=()
if [ "$(id -u)" = 0 ]; then args+=(--allow-root); fi
exec "$bin/jupyter" lab "${args[@]}" --ServerApp.root_dir="$root/notebooks" "$@"
