//! The numbers protocols name each other by, one enum each with `Unknown(n)` for the rest:
//! a number synack decodes is listed once, and a `match` that forgets one does not compile.

/// LINKTYPE_* values of savefiles and libpcap (tcpdump.org/linktypes.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// 0: BSD loopback, the address family in the capturing host's byte order.
    Null,
    /// 1.
    Ethernet,
    /// 101, and the DLT values 12 and 14 that some writers stored for it.
    Raw,
    /// 108: OpenBSD loopback, the address family in network byte order.
    Loop,
    /// 113: Linux cooked v1.
    LinuxSll,
    /// 228 and 229: raw IP of one version.
    Ipv4,
    Ipv6,
    /// 276: Linux cooked v2.
    LinuxSll2,
    /// 9 and 50 (PPP in HDLC-like framing): Wireshark reads both alike.
    Ppp,
    /// 104: Cisco HDLC.
    CiscoHdlc,
    /// 239: Linux netfilter NFLOG (`tcpdump -i nflog:N`).
    Nflog,
    /// 258: Apple's PKTAP (macOS `tcpdump -i pktap`), a header and another link type's frame.
    Pktap,
    Unknown(u16),
}

impl From<u16> for LinkType {
    fn from(n: u16) -> LinkType {
        match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            9 | 50 => LinkType::Ppp,
            104 => LinkType::CiscoHdlc,
            239 => LinkType::Nflog,
            258 => LinkType::Pktap,
            n => LinkType::Unknown(n),
        }
    }
}

impl LinkType {
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Null => "BSD loopback (NULL)",
            LinkType::Ethernet => "Ethernet",
            LinkType::Raw => "raw IP",
            LinkType::Loop => "OpenBSD loopback (LOOP)",
            LinkType::LinuxSll => "Linux cooked v1 (SLL)",
            LinkType::Ipv4 => "raw IPv4",
            LinkType::Ipv6 => "raw IPv6",
            LinkType::LinuxSll2 => "Linux cooked v2 (SLL2)",
            LinkType::Ppp => "PPP",
            LinkType::CiscoHdlc => "Cisco HDLC",
            LinkType::Nflog => "Linux NFLOG",
            LinkType::Pktap => "Apple PKTAP",
            LinkType::Unknown(_) => "unknown",
        }
    }

    /// The names of every link type synack reads, for messages (derived from `From<u16>`,
    /// so the list cannot fall behind it).
    pub fn supported_names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for l in (0..=u16::MAX).map(LinkType::from).filter(|l| l.supported()) {
            // Some types have several numbers, not always next to each other (PPP: 9, 50).
            if !names.contains(&l.name()) {
                names.push(l.name());
            }
        }
        names
    }

    /// Whether synack finds the network header behind this link type.
    pub fn supported(self) -> bool {
        !matches!(self, LinkType::Unknown(_))
    }

    /// Wireshark's name for pcap link type `n`, if its wiretap reads files of that type
    /// (tshark refuses the others outright, and lists the frames of these).
    pub fn wiretap_name(n: u16) -> Option<&'static str> {
        let table = &super::wiretap_linktypes::WIRETAP_LINKTYPES;
        table
            .binary_search_by_key(&n, |&(lt, _)| lt)
            .ok()
            .map(|i| table[i].1)
    }
}

/// EtherTypes (IEEE 802 numbers) synack looks behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtherType {
    Ipv4,
    Arp,
    Ipv6,
    /// 0x8100 802.1Q, 0x88a8 802.1ad and the pre-standard 0x9100: a VLAN tag follows.
    Vlan,
    /// 0x8847 (unicast) and 0x8848 (multicast): an MPLS label stack follows.
    Mpls,
    /// 0x8864: PPPoE session stage.
    PppoeSession,
    /// 0x88e7: 802.1ah provider backbone bridging (an I-tag, then a customer frame).
    Pbb,
    /// 0x6558: transparent Ethernet bridging (an Ethernet frame in GRE or Geneve).
    Bridged,
    /// 0x88be: ERSPAN type II (in GRE).
    Erspan,
    /// 0x22eb: ERSPAN type III (in GRE).
    Erspan3,
    /// 0x880b: PPP (in enhanced GRE).
    Ppp,
    /// 0x8903: Cisco FabricPath (its 16-byte header replaces the outer Ethernet header).
    FabricPath,
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(n: u16) -> EtherType {
        match n {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 | 0x88a8 | 0x9100 => EtherType::Vlan,
            0x8847 | 0x8848 => EtherType::Mpls,
            0x8864 => EtherType::PppoeSession,
            0x88e7 => EtherType::Pbb,
            0x6558 => EtherType::Bridged,
            0x88be => EtherType::Erspan,
            0x22eb => EtherType::Erspan3,
            0x880b => EtherType::Ppp,
            0x8903 => EtherType::FabricPath,
            n => EtherType::Unknown(n),
        }
    }
}

/// IP protocol numbers (IPv4 protocol, IPv6 next header) synack decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpProtocol {
    Icmp,
    /// 4: IPv4 in IP.
    IpInIp,
    Tcp,
    Udp,
    /// 41: IPv6 in IP.
    Ipv6InIp,
    Gre,
    Icmpv6,
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(n: u8) -> IpProtocol {
        match n {
            1 => IpProtocol::Icmp,
            4 => IpProtocol::IpInIp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            41 => IpProtocol::Ipv6InIp,
            47 => IpProtocol::Gre,
            58 => IpProtocol::Icmpv6,
            n => IpProtocol::Unknown(n),
        }
    }
}

impl IpProtocol {
    /// The number itself (for the pseudo-header of a checksum).
    pub fn number(self) -> u8 {
        match self {
            IpProtocol::Icmp => 1,
            IpProtocol::IpInIp => 4,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6InIp => 41,
            IpProtocol::Gre => 47,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Unknown(n) => n,
        }
    }
}

/// The tunnel a transport came out of (the contract's `tunnel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    Vxlan,
    Geneve,
    Gre,
    Erspan,
    IpInIp,
    /// IPv6 over UDP (RFC 4380), on port 3544.
    Teredo,
}

impl Tunnel {
    pub fn as_str(self) -> &'static str {
        match self {
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::Gre => "gre",
            Tunnel::Erspan => "erspan",
            Tunnel::IpInIp => "ip-in-ip",
            Tunnel::Teredo => "teredo",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(IpProtocol::from(n).number(), n);
        }
        assert_eq!(LinkType::from(12), LinkType::Raw);
        assert_eq!(LinkType::from(147), LinkType::Unknown(147));
        assert!(!LinkType::from(147).supported());
        assert_eq!(LinkType::supported_names().len(), 12);
        assert_eq!(LinkType::from(50), LinkType::Ppp);
        // The table is sorted (binary search), and knows every type synack decodes.
        let table = &crate::wire::wiretap_linktypes::WIRETAP_LINKTYPES;
        assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        for n in (0..=1023u16).filter(|&n| LinkType::from(n).supported()) {
            assert!(LinkType::wiretap_name(n).is_some(), "{n}");
        }
        assert_eq!(
            LinkType::wiretap_name(189).map(|s| s.is_empty()),
            Some(false)
        );
        assert_eq!(LinkType::wiretap_name(999), None);
        assert_eq!(EtherType::from(0x9100), EtherType::Vlan);
        assert_eq!(EtherType::from(0x88cc), EtherType::Unknown(0x88cc));
        assert_eq!(EtherType::from(0x22eb), EtherType::Erspan3);
    }
}
