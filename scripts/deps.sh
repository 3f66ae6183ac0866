#!/usr/bin/env bash
# Installs what synack needs on a Debian machine, only what is missing:
#   libpcap-dev (build and live capture); with --test also tshark (the oracle) and tcpdump.
set -euo pipefail
need=(libpcap-dev)
if [ "${1:-}" = "--test" ]; then need+=(tshark tcpdump iproute2); fi
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
# tshark asks whether non-root users may capture; answer "no" without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
