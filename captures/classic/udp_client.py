# The classic tutorial's UDP sender: one datagram to port 8081.
import socket, sys
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.sendto('hello,this is a test info !'.encode(), (host, 8081))
s.close()
