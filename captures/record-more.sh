#!/usr/bin/env bash
# Records larger real transfers on a private loopback: an HTTP download of 8 MB over IPv4 and
# IPv6 (python's http.server and curl) and a TLS session (curl to python's ssl server with a
# throw-away self-signed certificate). Needs root, tcpdump, python3, curl, openssl.
set -euo pipefail
cd "$(dirname "$0")"
NS=synack-more-$$
WORK=$(mktemp -d)
LOG=$WORK/log
ip netns add "$NS"
cleanup() { ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true; sleep 0.2; ip netns del "$NS"; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns exec "$NS" ip link set lo up
start_cap() {
  : >"$LOG"
  ip netns exec "$NS" tcpdump --immediate-mode -Z root -U "$@" 2>"$LOG" &
  CAP=$!
  for _ in $(seq 100); do grep -q listening "$LOG" && break; sleep 0.05; done
  sleep 0.2
}
stop_cap() { sleep 0.5; kill -INT "$CAP"; wait "$CAP" 2>/dev/null || true; }

head -c 8000000 /dev/urandom > "$WORK/blob"
ip netns exec "$NS" python3 -m http.server 8000 --bind :: --directory "$WORK" >/dev/null 2>&1 & SRV=$!
sleep 0.7
start_cap -i lo -s 128 -w http-download.pcap tcp port 8000
ip netns exec "$NS" curl -s -o /dev/null http://127.0.0.1:8000/blob
stop_cap
start_cap -i lo -s 128 -w http-download-ipv6.pcap tcp port 8000
ip netns exec "$NS" curl -s -o /dev/null "http://[::1]:8000/blob"
stop_cap
kill $SRV

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
  -days 1 -subj /CN=localhost >/dev/null 2>&1
ip netns exec "$NS" python3 -c "
import http.server, ssl, sys
srv = http.server.HTTPServer(('127.0.0.1', 8443), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('$WORK/cert.pem', '$WORK/key.pem')
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()" >/dev/null 2>&1 & SRV=$!
sleep 0.8
start_cap -i lo -w tls-session.pcap tcp port 8443
ip netns exec "$NS" curl -sk -o /dev/null https://127.0.0.1:8443/
stop_cap
kill $SRV
echo "recorded"
