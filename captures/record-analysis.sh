#!/usr/bin/env bash
# Records the TCP expert-analysis fixtures with real programs (classic/tcp_tools.py) in
# private network namespaces. Needs root, tcpdump, nft, python3. Traffic never leaves them.
set -euo pipefail
cd "$(dirname "$0")"
P=synack-an-$$
C=$P-c; R=$P-r; S=$P-s
LOG=$(mktemp)
cleanup() {
  for n in $C $R $S; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.2
  for n in $C $R $S; do ip netns del "$n" 2>/dev/null || true; done
  rm -f "$LOG" /tmp/$P.flag
}
trap cleanup EXIT
# client 10.88.1.2 -- router 10.88.1.1 | 10.88.2.1 -- server 10.88.2.2
for n in $C $R $S; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add c0 netns $C type veth peer name r0 netns $R
ip link add s0 netns $S type veth peer name r1 netns $R
ip -n $C addr add 10.88.1.2/24 dev c0; ip -n $C link set c0 up; ip -n $C route add default via 10.88.1.1
ip -n $S addr add 10.88.2.2/24 dev s0; ip -n $S link set s0 up; ip -n $S route add default via 10.88.2.1
ip -n $R addr add 10.88.1.1/24 dev r0; ip -n $R addr add 10.88.2.1/24 dev r1
ip -n $R link set r0 up; ip -n $R link set r1 up
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
T="python3 classic/tcp_tools.py"

start_cap() { # netns, tcpdump args...
  local ns=$1; shift
  : >"$LOG"
  ip netns exec "$ns" tcpdump --immediate-mode -Z root -U "$@" 2>"$LOG" &
  CAP=$!
  for _ in $(seq 100); do grep -q listening "$LOG" && break; sleep 0.05; done
  sleep 0.2
}
stop_cap() { sleep 0.5; kill -INT "$CAP"; wait "$CAP" 2>/dev/null || true; }

# 1. Bulk transfer over a lossy router (8% of forwarded packets dropped either way), captured
#    at the receiver with a small snaplen: holes, dup ACKs, fast, spurious and plain
#    retransmissions, out-of-order segments. GSO is limited to one MTU so that segments are
#    real packets; retried until tshark sees every kind.
ip -n $C link set c0 gso_max_size 1500
ip -n $S link set s0 gso_max_size 1500
ip netns exec $R nft add table ip loss
ip netns exec $R nft add chain ip loss forwarding '{ type filter hook forward priority 0; }'
ip netns exec $R nft add rule ip loss forwarding 'numgen random mod 100 < 8 drop'
for try in $(seq 6); do
  ip netns exec $S $T sink 10.88.2.2 5001 0 & SRV=$!
  sleep 0.4
  start_cap $S -i s0 -s 96 -w lossy-bulk.pcap tcp port 5001
  ip netns exec $C $T source 10.88.2.2 5001 3000000
  wait $SRV || true
  stop_cap
  kinds=0
  for f in fast_retransmission spurious_retransmission duplicate_ack out_of_order lost_segment; do
    n=$(tshark -r lossy-bulk.pcap -Y "tcp.analysis.$f" 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] && kinds=$((kinds + 1))
  done
  [ "$kinds" -eq 5 ] && break
done
ip netns exec $R nft flush ruleset
ip -n $C link set c0 gso_max_size 65536
ip -n $S link set s0 gso_max_size 65536

# 2. A receiver with a tiny buffer that reads late: zero window, probes, window updates.
ip netns exec $S $T sink 10.88.2.2 5002 1.5 2048 & SRV=$!
sleep 0.4
start_cap $S -i s0 -w zero-window.pcap tcp port 5002
ip netns exec $C $T source 10.88.2.2 5002 300000
wait $SRV || true
stop_cap

# 3. SO_KEEPALIVE with 1 s timers on an idle connection.
ip netns exec $S $T sink 10.88.2.2 5003 0 & SRV=$!
sleep 0.4
start_cap $S -i s0 -w keepalive.pcap tcp port 5003
ip netns exec $C $T keepalive 10.88.2.2 5003
wait $SRV || true
stop_cap

# 4. Half-close: the client shuts down its side, the server keeps sending, then closes.
ip netns exec $S $T halfclose-server 10.88.2.2 5004 & SRV=$!
sleep 0.4
start_cap $S -i s0 -w half-close.pcap tcp port 5004
ip netns exec $C $T halfclose-client 10.88.2.2 5004
wait $SRV || true
stop_cap

# 5. Simultaneous close: both ends shut down at the same instant across the router; tried
#    until the capture shows the two FINs crossing.
for try in $(seq 20); do
  at=$(python3 -c 'import time; print(time.time() + 0.8)')
  ip netns exec $S $T simclose server 10.88.2.2 5005 "$at" & SRV=$!
  sleep 0.3
  start_cap $S -i s0 -w simultaneous-close.pcap tcp port 5005
  ip netns exec $C $T simclose client 10.88.2.2 5005 "$at"
  wait $SRV || true
  stop_cap
  # Crossing FINs: the second FIN does not acknowledge the first.
  crossed=$(python3 - <<'PY'
import struct
d = open("simultaneous-close.pcap", "rb").read()
off, fins = 24, []
while off + 16 <= len(d):
    incl = struct.unpack_from("<I", d, off + 8)[0]
    p = d[off + 16: off + 16 + incl]
    off += 16 + incl
    ip = p[14:]
    t = ip[(ip[0] & 15) * 4:]
    seq, ack = struct.unpack("!II", t[4:12])
    if t[13] & 1:
        fins.append((seq, ack))
print("yes" if len(fins) >= 2 and fins[1][1] <= fins[0][0] else "no")
PY
)
  [ "$crossed" = yes ] && break
done

# 6. Joined mid-stream: the capture starts after three exchanges.
ip netns exec $S $T echo-server 10.88.2.2 5006 1 & SRV=$!
sleep 0.4
rm -f /tmp/$P.flag
ip netns exec $C $T midstream-client 10.88.2.2 5006 /tmp/$P.flag & CLI=$!
for _ in $(seq 100); do [ -f /tmp/$P.flag ] && break; sleep 0.05; done
start_cap $S -i s0 -w midstream.pcap tcp port 5006
wait $CLI || true
wait $SRV || true
stop_cap

# 7. One 4-tuple used three times; the third connection is aborted with RST.
ip netns exec $S $T echo-server 10.88.2.2 5007 3 & SRV=$!
sleep 0.4
start_cap $S -i s0 -w port-reuse-rst.pcap tcp port 5007
ip netns exec $C $T reuse-client 10.88.2.2 5007 40404 || true
sleep 0.3
kill $SRV 2>/dev/null || true
stop_cap
# 8. A 4000-byte UDP datagram across the 1500-byte MTU path: IPv4 fragments, reassembled.
start_cap $S -i s0 -w fragmented-udp.pcap udp port 5008 or '(ip[6:2] & 0x3fff != 0)'
ip netns exec $C python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello,this is a test info ! " * 143, ("10.88.2.2", 5008))
s.sendto(b"small one", ("10.88.2.2", 5008))'
stop_cap
echo "recorded analysis fixtures"
