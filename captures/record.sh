#!/usr/bin/env bash
# Re-records the real-traffic fixtures in this folder. Needs root, tcpdump, dumpcap, tshark,
# python3, curl, socat, nft, zstd and lz4 (derive.py compresses three captures). All traffic
# stays on the loopback of a private network namespace.
set -euo pipefail
cd "$(dirname "$0")"
NS=synack-rec-$$
LOG=$(mktemp)
ip netns add "$NS"
cleanup() { ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true; sleep 0.2; ip netns del "$NS"; rm -f "$LOG"; }
trap cleanup EXIT
ip netns exec "$NS" ip link set lo up
run() { ip netns exec "$NS" "$@"; }

# Starts a capture tool and waits until it says it is capturing.
start_cap() {
  : >"$LOG"
  # `ip netns exec` execs the tool, so $! is the tool itself and SIGINT reaches it.
  ip netns exec "$NS" "$@" 2>"$LOG" &
  CAP_PID=$!
  for _ in $(seq 100); do grep -qiE 'listening|capturing' "$LOG" && break; sleep 0.05; done
  sleep 0.2
}
stop_cap() { sleep 0.5; kill -INT "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; }
servers() {
  ip netns exec "$NS" python3 classic/tcp_server.py "$1" >/dev/null & S1=$!
  ip netns exec "$NS" python3 classic/udp_server.py "$1" >/dev/null & S2=$!
  sleep 0.5
}
stop_servers() { kill "$S1" "$S2"; wait "$S1" "$S2" 2>/dev/null || true; }
clients() {
  run python3 classic/tcp_client.py "$1" 12345 hello 'how are you' '你好' >/dev/null
  run python3 classic/udp_client.py "$1"
}
classic() { # host, capture command...
  local host=$1; shift
  servers "$host"; start_cap "$@"; clients "$host"; stop_cap; stop_servers
}

classic 127.0.0.1 tcpdump --immediate-mode -Z root -i lo -U -w classic-ipv4.pcap
classic ::1 tcpdump --immediate-mode -Z root -i lo -U -w classic-ipv6.pcap
classic 127.0.0.1 tcpdump --immediate-mode -Z root -i lo -U --time-stamp-precision=nano -w classic-ns.pcap
classic 127.0.0.1 tcpdump --immediate-mode -Z root -i any -y LINUX_SLL -U -w any-sll.pcap
classic 127.0.0.1 tcpdump --immediate-mode -Z root -i any -y LINUX_SLL2 -U -w any-sll2.pcap
classic 127.0.0.1 tcpdump --immediate-mode -Z root -i lo -s 60 -U -w snaplen-60.pcap
classic ::1 dumpcap -q -i lo -w dumpcap-ipv6.pcapng
classic 127.0.0.1 dumpcap -q -i lo -i any -w dumpcap-two-interfaces.pcapng
classic 127.0.0.1 tshark -q -i lo -w tshark-lo.pcapng

# The classic demo over 127.0.0.1 and ::1 logged by netfilter (nft `log group 5`, each
# message sent at once) and captured from the NFLOG group by `tcpdump -i nflog:5`, which
# writes LINKTYPE_NFLOG. NFLOG delivers late: the capture waits before it stops.
run nft add table inet synack
run nft add chain inet synack out '{ type filter hook output priority 0; }'
for r in 'tcp dport 12345' 'tcp sport 12345' 'udp dport 8081'; do
  run nft add rule inet synack out "$r log group 5 queue-threshold 1"
done
servers 127.0.0.1
ip netns exec "$NS" python3 classic/tcp_server.py ::1 >/dev/null & S3=$!
start_cap tcpdump -Z root -i nflog:5 -U -w nflog.pcap
clients 127.0.0.1
run python3 classic/tcp_client.py ::1 12345 hello 'how are you' '你好' >/dev/null
sleep 2.5
stop_cap
stop_servers
kill "$S3"; wait "$S3" 2>/dev/null || true
run nft delete table inet synack

# A refused connection: nothing listens on 12346.
start_cap tcpdump --immediate-mode -Z root -i lo -U -w refused.pcap
run python3 classic/tcp_client.py 127.0.0.1 12346 >/dev/null
stop_cap

# A real HTTP exchange (python's http.server and curl) and a UDP echo with replies (socat).
ip netns exec "$NS" python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 & S1=$!
ip netns exec "$NS" socat UDP4-RECVFROM:8081,fork EXEC:cat & S2=$!
sleep 0.7
start_cap tcpdump --immediate-mode -Z root -i lo -U -w http-and-udp-echo.pcap
run curl -s -o /dev/null http://127.0.0.1:8000/
run bash -c 'echo "hello,this is a test info !" | socat -t 0.5 - UDP4:127.0.0.1:8081' >/dev/null
stop_cap
stop_servers

python3 derive.py
echo "recorded: $(ls *.pcap *.pcapng | wc -l) files"
