# The classic tutorial's TCP echo server: port 12345, backlog 5, recv(1024),
# answering each message with "Hi,you send me :[<ctime>] <message>".
import socket, sys, time
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, 12345))
s.listen(5)
while True:
    conn, addr = s.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.send(('Hi,you send me :[%s] %s' % (time.ctime(), data.decode())).encode())
    conn.close()
