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

# What follows an MPLS label stack, by the payload's first nibble: mpls-pw-nocw.pcap's first
# frame sixteen times, its first payload byte's high nibble 0 to 15 (tshark 4.0 decodes 0 as
# an Ethernet pseudowire, 4 and 6 as IP, 1 as an associated channel, the rest as data).
pw = open('mpls-pw-nocw.pcap', 'rb').read()
rec_len = 16 + struct.unpack_from('<I', pw, 24 + 8)[0]
rec = pw[24:24 + rec_len]
out = bytearray(pw[:24])
for nibble in range(16):
    r = bytearray(rec)
    # Ethernet (14) and one MPLS label (4) precede the payload, after the record header.
    r[16 + 18] = (nibble << 4) | (r[16 + 18] & 0x0f)
    out += r
open('mpls-nibbles.pcap', 'wb').write(bytes(out))

# GRE headers tshark 4.0 reads by their flag bits alone: gre-ipv4.pcap's first frame with its
# GRE header (key 42) rewritten: an unknown version 5, version 1 without a key, the routing
# bit with a checksum/offset word and an empty source route list, and the acknowledgement
# bit under protocol type IPv4 (which carries no acknowledgement number).
gre = open('gre-ipv4.pcap', 'rb').read()
cap = struct.unpack_from('<I', gre, 24 + 8)[0]
rec_hdr, frame = gre[24:40], gre[40:40 + cap]
eth_ip, inner = frame[:34], frame[34 + 8:]
out = bytearray(gre[:24])
for hdr in [
    struct.pack('>HHI', 0x2005, 0x0800, 42),
    struct.pack('>HH', 0x0001, 0x0800),
    struct.pack('>HHHHIHBB', 0x6000, 0x0800, 0, 0, 42, 0, 0, 0),
    struct.pack('>HHI', 0x2080, 0x0800, 42),
]:
    ip = bytearray(eth_ip[14:])
    struct.pack_into('>H', ip, 2, 20 + len(hdr) + len(inner))
    struct.pack_into('>H', ip, 10, 0)
    total = sum(struct.unpack('>10H', bytes(ip)))
    total = (total & 0xffff) + (total >> 16)
    struct.pack_into('>H', ip, 10, ~((total & 0xffff) + (total >> 16)) & 0xffff)
    f = eth_ip[:14] + bytes(ip) + hdr + inner
    sec, frac = struct.unpack_from('<II', rec_hdr, 0)
    out += struct.pack('<IIII', sec, frac, len(f), len(f)) + f
open('gre-flags.pcap', 'wb').write(bytes(out))
