#!/usr/bin/env bash
# Benchmark: `synack read --format json` beside `tshark -q -z conv,tcp` and
# `tcpdump -w /dev/null` on the same deterministic workload, in one run; wall time and peak
# memory of each. Usage: bench/run.sh [small|medium|large]   (default medium)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-medium}
gen=../shared/bench/gen_workload.py
work=bench/work
mkdir -p "$work"
f="$work/$size.pcap"
if [ ! -f "$f" ]; then
  case $size in
    small) python3 "$gen" "$f" --seed 1 --connections 10000 --datagrams 10000 ;;
    medium) python3 "$gen" "$f" --seed 1 ;;
    large) python3 "$gen" "$f" --seed 1 --connections 600000 --datagrams 600000 ;;
  esac
fi
cargo build --release --quiet
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }
measure() { # name, command...
  local name=$1; shift
  cat "$f" >/dev/null # warm the page cache
  local tf; tf=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >/dev/null 2>&1 || true
  local out; out=$(tail -1 "$tf"); rm -f "$tf"
  local secs=${out% *} kb=${out#* }
  printf '%-36s %8.2f s %8.1f MiB\n' "$name" "$secs" "$(echo "$kb/1024" | bc -l)"
  eval "T_${name//[^a-z]/_}=$secs"
}
echo "workload: $f ($(stat -c %s "$f") bytes)"
measure "synack read --format json" ./target/release/synack read --format json "$f"
measure "synack read (text)" ./target/release/synack read "$f"
measure "tshark -q -z conv,tcp" tshark -r "$f" -q -z conv,tcp
measure "tcpdump -w /dev/null" tcpdump -r "$f" -w /dev/null
echo "ratio tshark/synack-json: $(echo "$T_tshark__q__z_conv_tcp / $T_synack_read___format_json" | bc -l | cut -c1-6)"
echo "ratio synack-json/tcpdump: $(echo "$T_synack_read___format_json / $T_tcpdump__w__dev_null" | bc -l | cut -c1-6)"
