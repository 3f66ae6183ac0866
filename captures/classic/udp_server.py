# The classic tutorial's UDP receiver on port 8081: prints every datagram.
import socket, sys
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((host, 8081))
while True:
    data, addr = s.recvfrom(1024)
    print(data.decode(), addr)
