# The classic tutorial's TCP client: connect, send each line, print the reply, close.
import socket, sys
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 12345
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
try:
    s.connect((host, port))
except ConnectionRefusedError:
    print('connection refused')
    sys.exit(0)
for line in sys.argv[3:] or ['hello', 'how are you', '你好']:
    s.send(line.encode())
    print(s.recv(1024).decode())
s.close()
