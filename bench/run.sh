#!/usr/bin/env bash
# Benchmark synack beside tcpdump and tshark (medium, large and flood workloads from
# ../shared/bench, medians of 3 alternating runs, peak memory) and a live replay onto lo;
# writes bench/RESULTS.md. Needs root for the live part. Arguments go to bench/bench.py,
# e.g. bench/run.sh --workloads medium --no-live.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
missing=()
for p in time tcpreplay; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cargo build --release --quiet
exec python3 bench/bench.py "$@"
