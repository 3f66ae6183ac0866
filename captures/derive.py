"""Derives the damaged and re-encoded fixtures from the recorded ones (see README.md)."""
import struct

src = open('classic-ipv4.pcap', 'rb').read()

# Cut in the middle of the fifth record.
off = 24
for _ in range(4):
    incl = struct.unpack_from('<I', src, off + 8)[0]
    off += 16 + incl
open('damaged-cut.pcap', 'wb').write(src[:off + 16 + 10])

# The third record claims 2 GiB of captured bytes.
d = bytearray(src)
off = 24
for _ in range(2):
    off += 16 + struct.unpack_from('<I', d, off + 8)[0]
struct.pack_into('<I', d, off + 8, 0x7fffffff)
open('damaged-absurd-length.pcap', 'wb').write(bytes(d))

# The same traffic written big-endian (as a SPARC or PowerPC capture host writes it).
hdr = struct.unpack_from('<IHHiIII', src, 0)
out = bytearray(struct.pack('>IHHiIII', *hdr))
off = 24
while off + 16 <= len(src):
    sec, frac, incl, orig = struct.unpack_from('<IIII', src, off)
    out += struct.pack('>IIII', sec, frac, incl, orig) + src[off + 16:off + 16 + incl]
    off += 16 + incl
open('classic-ipv4-bigendian.pcap', 'wb').write(bytes(out))

# A pcapng cut inside a block.
ng = open('dumpcap-ipv6.pcapng', 'rb').read()
open('damaged-cut.pcapng', 'wb').write(ng[:len(ng) - 37])
