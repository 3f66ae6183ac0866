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
