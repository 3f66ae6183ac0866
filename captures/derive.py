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

# TCP options at lengths their kinds do not have: classic-ipv4.pcap's first data segment with
# its twelve option bytes replaced, each variant on its own source port (its own stream).
# tshark 4.0 warns of most (and then shows no value) but its dissection throws on a SACK
# that is not whole blocks and on MPTCP options too short for their subtype (malformed, no
# analysis), and shows SACK-permitted at any length.
c4 = open('classic-ipv4.pcap', 'rb').read()
off, seg = 24, None
while off + 16 <= len(c4):
    incl = struct.unpack_from('<I', c4, off + 8)[0]
    f = c4[off + 16:off + 16 + incl]
    if f[23] == 6 and f[46] >> 4 == 8 and len(f) > 66:
        seg = f
        break
    off += 16 + incl
variants = [
    [5, 8, 0, 0, 0, 1, 0, 0], [5, 10, 0, 0, 0, 1, 0, 0, 0, 2], [5, 6, 0, 0, 0, 1], [5, 4, 0, 0],
    [5, 3, 0], [5, 2], [5, 12] + [0] * 10, [2, 3, 5], [2, 5, 5, 0, 0], [3, 2], [3, 4, 7, 0],
    [4, 3, 0], [8, 8, 0, 0, 0, 1, 0, 0], [8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0], [34, 2], [34, 3, 9],
    [30, 2], [19, 4, 0, 0], [99, 2], [2, 4, 5, 180, 3, 3, 7, 4, 2], [28, 4, 0, 1],
    [27, 8, 0, 0, 0, 0, 0, 0], [29, 4, 0, 0], [253, 4, 0, 0], [254, 4, 0, 0],
]
for subtype in range(9):
    for length in (3, 4, 5, 6, 8, 10, 12):
        variants.append([30, length, subtype << 4] + [0] * (length - 3))
out = bytearray(c4[:24])
for n, v in enumerate(variants):
    f = bytearray(seg)
    f[54:66] = bytes(v + [1] * (12 - len(v)))
    struct.pack_into('>H', f, 34, 40000 + n)
    out += struct.pack('<IIII', 1700000000 + n, 0, len(f), len(f)) + f
open('tcp-option-lengths.pcap', 'wb').write(bytes(out))

# PPPoE session lengths: pppoe-vlan.pcap's fourth frame with its PPPoE length field as it
# is, 100 too long, 4 short (which tshark 4.0 lets pass) and 8000. tshark marks the two
# that disagree with the frame malformed ("Possible bad payload length") and decodes on.
pv = open('pppoe-vlan.pcap', 'rb').read()
off = 24
for _ in range(3):
    off += 16 + struct.unpack_from('<I', pv, off + 8)[0]
incl = struct.unpack_from('<I', pv, off + 8)[0]
rec_hdr, frame = pv[off:off + 16], pv[off + 16:off + 16 + incl]
length = struct.unpack_from('>H', frame, 22)[0]
out = bytearray(pv[:24])
for value in [length, length + 100, length - 4, 8000]:
    f = bytearray(frame)
    struct.pack_into('>H', f, 22, value)
    out += rec_hdr + f
open('pppoe-lengths.pcap', 'wb').write(bytes(out))


def records(capture):
    """(record header, frame) of each record of a little-endian pcap."""
    data = open(capture, 'rb').read()
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from('<I', data, off + 8)[0]
        yield data[off:off + 16], data[off + 16:off + 16 + incl]
        off += 16 + incl


def rewrite(capture, out_name, link_field, frame_of):
    """The capture's frames as `frame_of(n, frame)` makes them, written with the header's
    link type field set to `link_field` (the original length grows or shrinks alike)."""
    hdr = bytearray(open(capture, 'rb').read(24))
    struct.pack_into('<I', hdr, 20, link_field)
    out = bytearray(hdr)
    for n, (rec, frame) in enumerate(records(capture)):
        sec, frac, incl, orig = struct.unpack('<IIII', rec)
        f = frame_of(n, frame)
        out += struct.pack('<IIII', sec, frac, len(f), orig - incl + len(f)) + f
    open(out_name, 'wb').write(bytes(out))


def relink(capture, out_name, linktype, wrap):
    """The capture's Ethernet frames with their Ethernet header replaced by `wrap(n, ip,
    ethertype)`, written with `linktype`."""
    rewrite(capture, out_name, linktype, lambda n, frame: wrap(n, frame[14:], frame[12:14]))


def ng_blocks(capture):
    """(block type, whole block) of each block of a little-endian pcapng."""
    data = open(capture, 'rb').read()
    off = 0
    while off + 8 <= len(data):
        btype, blen = struct.unpack_from('<II', data, off)
        yield btype, data[off:off + blen]
        off += blen


def ng_block(btype, body):
    """A little-endian pcapng block of `body` (padded already), with both its lengths."""
    return struct.pack('<II', btype, 12 + len(body)) + body + struct.pack('<I', 12 + len(body))


# Link types other capture tools write, each made from the classic demo's frames:
# PPP (LINKTYPE_PPP) with the header variants tshark 4.0 accepts in turn: HDLC address and
# control with a 2-byte protocol, no address and control, a compressed 1-byte protocol, and
# address and control with a compressed protocol.
ppp_heads = [b'\xff\x03\x00\x21', b'\x00\x21', b'\x21', b'\xff\x03\x21']
relink('classic-ipv4.pcap', 'ppp.pcap', 9, lambda n, ip, et: ppp_heads[n % 4] + ip)
# Cisco HDLC (LINKTYPE_C_HDLC) carrying the IPv6 demo: unicast address, control 0, EtherType.
relink('classic-ipv6.pcap', 'cisco-hdlc.pcap', 104, lambda n, ip, et: b'\x0f\x00' + et + ip)
# Apple's PKTAP as macOS tcpdump writes it: a 108-byte little-endian header (length, record
# type 1 = packet, DLT_EN10MB, interface lo0, protocol family, process name), then the
# Ethernet frame.
def pktap(n, ip, et):
    h = struct.pack('<III', 108, 1, 1) + b'lo0'.ljust(24, b'\0')
    h += struct.pack('<IIIIi', 0, 2, 14, 0, 4242) + b'python3'.ljust(20, b'\0')
    h = h.ljust(108, b'\0')
    return h + b'\0' * 12 + et + ip
relink('classic-ipv4.pcap', 'pktap.pcap', 258, pktap)
# IPv6 packets behind EtherType 0x0800: Wireshark's IPv4 dissector hands a packet whose
# version is 6 to IPv6 (synack had called it a bad IPv4 version).
relink('classic-ipv6.pcap', 'ipv6-as-ipv4.pcap', 1,
       lambda n, ip, et: b'\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00' + ip)

# Interface time offsets (pcapng if_tsoffset: seconds added to every timestamp, which tshark
# 4.0 applies): dumpcap-two-interfaces.pcapng with the first interface an hour ahead (after
# a 4-byte offset option, which wiretap ignores, and before a second one, which it ignores
# too) and the second interface a day behind, so that the two copies of each packet are a
# day and an hour apart.
out = bytearray()
interface = 0
for btype, block in ng_blocks('dumpcap-two-interfaces.pcapng'):
    if btype == 1:
        if interface == 0:
            extra = (struct.pack('<HHi', 14, 4, 12345) + struct.pack('<HHq', 14, 8, 3600)
                     + struct.pack('<HHq', 14, 8, 5))
        else:
            extra = struct.pack('<HHq', 14, 8, -86400)
        interface += 1
        block = ng_block(1, block[8:16] + extra + block[16:-4])
    out += block
open('pcapng-tsoffset.pcapng', 'wb').write(bytes(out))

# Compressed captures, which tshark 4.0 reads through (gzip, zstd, LZ4, known by their magic
# numbers): http-and-udp-echo.pcap as two gzip members one after another (as `cat` of two
# gzipped pieces leaves them), dumpcap-ipv6.pcapng through the `zstd` tool (with its content
# checksum) and tshark-lo.pcapng through `lz4`; and classic-ipv4.pcap gzipped and cut at two
# thirds (frames before the cut are read, then the damage is named).
import gzip
import subprocess
whole = open('http-and-udp-echo.pcap', 'rb').read()
half = len(whole) // 2
open('http-and-udp-echo.pcap.gz', 'wb').write(
    gzip.compress(whole[:half], mtime=0) + gzip.compress(whole[half:], mtime=0))
subprocess.run(['zstd', '-q', '-f', '-19', 'dumpcap-ipv6.pcapng', '-o', 'dumpcap-ipv6.pcapng.zst'],
               check=True)
subprocess.run(['lz4', '-q', '-f', 'tshark-lo.pcapng', 'tshark-lo.pcapng.lz4'], check=True)
gz = gzip.compress(open('classic-ipv4.pcap', 'rb').read(), mtime=0)
open('damaged-cut.pcap.gz', 'wb').write(gz[:len(gz) * 2 // 3])

# Ethernet frames that end in their frame check sequence, as a NIC that keeps it delivers
# them: classic-ipv4.pcap's frames with their CRC-32 appended and the pcap header's FCS bits
# set (F, and two 16-bit words), which wiretap reads and Wireshark's Ethernet dissector
# leaves out of the packet.
import zlib
rewrite('classic-ipv4.pcap', 'ethernet-fcs.pcap', 1 | 0x04000000 | (2 << 28),
        lambda n, frame: frame + struct.pack('<I', zlib.crc32(frame)))

# pcapng's ways to say frames end in an FCS: dumpcap-ipv6.pcapng's Ethernet frames with their
# CRC-32 appended, the interface's if_fcslen at 32 bits, and every other packet's flags
# (epb_flags: inbound, FCS length 4 octets) saying it again; wiretap strips the FCS, and
# tshark finds each good.
out = bytearray()
n = 0
for btype, block in ng_blocks('dumpcap-ipv6.pcapng'):
    if btype == 1:
        block = ng_block(1, block[8:16] + struct.pack('<HHB3x', 13, 1, 32) + block[16:-4])
    elif btype == 6:
        ifid, th, tl, cl, ol = struct.unpack_from('<IIIII', block, 8)
        data = block[28:28 + cl]
        data += struct.pack('<I', zlib.crc32(data))
        opts = b''
        if n % 2:
            opts = struct.pack('<HHI', 2, 4, 1 | (4 << 5)) + struct.pack('<HH', 0, 0)
        n += 1
        body = struct.pack('<IIIII', ifid, th, tl, len(data), ol + 4)
        block = ng_block(6, body + data + b'\0' * (-len(data) % 4) + opts)
    out += block
open('pcapng-fcs.pcapng', 'wb').write(bytes(out))
