#!/usr/bin/env bash
# Installs what synack needs on a Debian machine, only what is missing:
#   libpcap-dev (build and live capture); with --test also tshark (the oracle), tcpdump, nft
#   (a watch test captures through netfilter's NFLOG), and
#   DuckDB for Python in a virtual environment (target/duckdb-venv) for the query test, and
#   Chromium, whose headless mode renders the --html page in a test.
set -euo pipefail
need=(libpcap-dev)
if [ "${1:-}" = "--test" ]; then need+=(tshark tcpdump iproute2 nftables); fi
if [ "${1:-}" = "--test" ]; then need+=(python3-venv chromium); fi
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
install_duckdb() {
  # The JSON Lines contract is what query engines load: a test reads synack's output with
  # DuckDB. A virtual environment keeps it away from the system's Python.
  local venv
  venv="$(cd "$(dirname "$0")/.." && pwd)/target/duckdb-venv"
  if ! "$venv/bin/python" -c 'import duckdb' >/dev/null 2>&1; then
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check duckdb
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  if [ "${1:-}" = "--test" ]; then install_duckdb; fi
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
# tshark asks whether non-root users may capture; answer "no" without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "${1:-}" = "--test" ]; then install_duckdb; fi
