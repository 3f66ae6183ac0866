"""Small real TCP programs for the analysis fixtures (see record-analysis.sh)."""
import socket, sys, time, threading

mode = sys.argv[1]

def listener(host, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((host, port))
    s.listen(5)
    return s

if mode == 'sink':            # receiver: read everything, slowly if asked
    host, port, delay = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    rcvbuf = int(sys.argv[5]) if len(sys.argv) > 5 else None
    l = listener(host, port, rcvbuf)
    c, _ = l.accept()
    if delay:
        time.sleep(delay)
    while True:
        d = c.recv(4096 if not rcvbuf else 512)
        if not d:
            break
        if delay:
            time.sleep(0.002)
    c.close()
elif mode == 'source':        # sender: N bytes, then close
    host, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.create_connection((host, port))
    buf = b'x' * 16384
    sent = 0
    while sent < n:
        sent += s.send(buf[:min(len(buf), n - sent)])
    s.close()
elif mode == 'keepalive':     # an idle connection kept alive by 1 s probes
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.create_connection((host, port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s.send(b'hello')
    time.sleep(3.6)
    s.close()
elif mode == 'halfclose-server':  # replies after the client's FIN, then closes
    host, port = sys.argv[2], int(sys.argv[3])
    l = listener(host, port)
    c, _ = l.accept()
    req = b''
    while True:
        d = c.recv(1024)
        if not d:
            break
        req += d
    for i in range(3):
        c.send(b'reply %d to %s\n' % (i, req))
        time.sleep(0.05)
    c.close()
elif mode == 'halfclose-client':
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.create_connection((host, port))
    s.send(b'request')
    s.shutdown(socket.SHUT_WR)
    while s.recv(1024):
        pass
    s.close()
elif mode == 'simclose':      # both ends shut down at the same instant
    role, host, port, at = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    if role == 'server':
        l = listener(host, port)
        c, _ = l.accept()
    else:
        c = socket.create_connection((host, port))
    while time.time() < at:
        pass
    c.shutdown(socket.SHUT_WR)
    while c.recv(1024):
        pass
    c.close()
elif mode == 'echo-server':   # echoes every line; serves N connections
    host, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    l = listener(host, port)
    for _ in range(n):
        c, _ = l.accept()
        while True:
            d = c.recv(1024)
            if not d:
                break
            c.send(d)
        c.close()
elif mode == 'reuse-client':  # the same 4-tuple three times; the last ends in RST
    host, port, lport = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    import struct
    for i in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('', lport))
        s.connect((host, port))
        s.send(b'round %d' % i)
        s.recv(1024)
        if i == 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()
        else:
            s.shutdown(socket.SHUT_WR)
            s.recv(1024)
            s.close()
            time.sleep(0.2)
elif mode == 'midstream-client':  # talks, waits for the capture to start, talks more
    host, port, flag = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    import os
    s = socket.create_connection((host, port))
    for i in range(3):
        s.send(b'before capture %d' % i)
        s.recv(1024)
    open(flag, 'w').close()
    time.sleep(1.0)
    for i in range(3):
        s.send(b'during capture %d' % i)
        s.recv(1024)
    s.close()
