#!/usr/bin/env bash
# Install the two peer background removers into throwaway environments under $PEERS_DIR (default:
# .envs beside the path this script was called by, i.e. bench/.envs/ (gitignored) in a checkout;
# `alphacut bench` passes its --peers-dir), for same-weights, same-images comparisons with alphacut.
# Nothing from them is vendored into alphacut; delete that folder to remove them.
#
#   bench/setup_peers.sh            # both peers
#   bench/setup_peers.sh rembg      # only the Python peer
#   bench/setup_peers.sh imgly      # only the Node peer
#
# Idempotent: a peer whose pinned version is already installed is skipped.
# Env: PYTHON (default python3) builds the rembg venv; NPM (default npm) installs the Node peer.
set -euo pipefail

REMBG_VERSION="2.0.86"
IMGLY_VERSION="1.4.5"
SHARP_VERSION="0.33.5"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
envs="${PEERS_DIR:-$here/.envs}"
PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"

die() { echo "setup_peers: error: $*" >&2; exit 1; }
say() { echo "setup_peers: $*"; }

setup_rembg() {
  local venv="$envs/rembg"
  local py="$venv/bin/python"
  if [[ -x "$py" ]] && "$py" - "$REMBG_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("rembg") == sys.argv[1] else 1)
PY
  then
    say "rembg $REMBG_VERSION already installed in $venv (skipped)"
    return
  fi
  command -v "$PYTHON" >/dev/null || die "'$PYTHON' not found; set PYTHON=/path/to/python3 (3.10 or newer)."
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "rembg $REMBG_VERSION needs Python >= 3.10; set PYTHON to one."
  say "creating venv $venv"
  "$PYTHON" -m venv "$venv" || die "could not create a venv with '$PYTHON' (is the venv module installed?)."
  say "installing rembg[cpu]==$REMBG_VERSION (a few minutes)"
  "$py" -m pip install --quiet --upgrade pip \
    || die "pip upgrade failed in $venv; check access to the Python package index."
  "$py" -m pip install --quiet "rembg[cpu]==$REMBG_VERSION" \
    || die "pip could not install rembg[cpu]==$REMBG_VERSION; see pip's message above."
  "$py" -c 'import rembg, onnxruntime' || die "rembg installed but does not import; see the error above."
  say "rembg $REMBG_VERSION ready: $py"
}

setup_imgly() {
  local dir="$envs/imgly"
  local pkg="$dir/node_modules/@imgly/background-removal-node/package.json"
  if [[ -f "$pkg" ]] && grep -q "\"version\": \"$IMGLY_VERSION\"" "$pkg"; then
    say "@imgly/background-removal-node $IMGLY_VERSION already installed in $dir (skipped)"
    return
  fi
  command -v node >/dev/null || die "node not found; install Node.js 18 or newer."
  command -v "$NPM" >/dev/null || die "'$NPM' not found; install npm or set NPM."
  mkdir -p "$dir"
  # Its install scripts download binaries from outside the package registries, so they are skipped;
  # sharp is pinned to a release whose prebuilt binary comes as an npm package, and onnxruntime-node
  # ships its CPU binary inside its package.
  cat > "$dir/package.json" <<JSON
{
  "name": "alphacut-bench-imgly",
  "private": true,
  "description": "Throwaway environment for bench/peer_imgly.mjs; made by bench/setup_peers.sh",
  "dependencies": {
    "@imgly/background-removal-node": "$IMGLY_VERSION",
    "sharp": "$SHARP_VERSION"
  },
  "overrides": {
    "sharp": "$SHARP_VERSION"
  }
}
JSON
  say "installing @imgly/background-removal-node@$IMGLY_VERSION (about 140 MB)"
  (cd "$dir" && "$NPM" install --ignore-scripts --no-audit --no-fund --loglevel=error) \
    || die "npm install failed in $dir; see npm's message above."
  (cd "$dir" && node -e 'require("sharp"); require("onnxruntime-node")') \
    || die "sharp or onnxruntime-node does not load in $dir; see the error above."
  say "@imgly/background-removal-node $IMGLY_VERSION ready: $dir"
}

mkdir -p "$envs"
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(rembg imgly)
for t in "${targets[@]}"; do
  case "$t" in
    rembg) setup_rembg ;;
    imgly) setup_imgly ;;
    *) die "unknown peer '$t'; use rembg, imgly or nothing for both." ;;
  esac
done
