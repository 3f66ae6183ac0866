#!/usr/bin/env bash
# synack's main job on a fresh Debian machine: install libpcap, build, run the demo
# (capturing on loopback needs root or CAP_NET_RAW). Extra arguments go to `synack demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
exec $SUDO ./target/release/synack demo "$@"
