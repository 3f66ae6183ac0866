//! BPF filters over frames already read (a savefile's): compiled with libpcap once per link
//! type, since a pcapng file can mix interfaces of several link types.

use std::fmt;

/// A filter expression libpcap could not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub expr: String,
    pub reason: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad filter expression `{}`: {}", self.expr, self.reason)
    }
}

impl std::error::Error for FilterError {}

/// BPF programs compiled per link type; no expression matches every frame.
pub struct Filters {
    expr: Option<String>,
    compiled: Vec<(u16, pcap::BpfProgram)>,
}

impl Filters {
    pub fn new(expr: Option<String>) -> Self {
        Filters {
            expr,
            compiled: Vec::new(),
        }
    }

    /// Whether the frame of link type `linktype` passes the filter.
    pub fn matches(&mut self, linktype: u16, data: &[u8]) -> Result<bool, FilterError> {
        let Some(expr) = &self.expr else {
            return Ok(true);
        };
        if let Some((_, p)) = self.compiled.iter().find(|(l, _)| *l == linktype) {
            return Ok(p.filter(data));
        }
        let prog = pcap::Capture::dead(pcap::Linktype(dlt(linktype)))
            .and_then(|c| c.compile(expr, true))
            .map_err(|e| FilterError {
                expr: expr.clone(),
                reason: e.to_string(),
            })?;
        let ok = prog.filter(data);
        self.compiled.push((linktype, prog));
        Ok(ok)
    }
}

/// The DLT value libpcap's compiler takes for a file's LINKTYPE value (libpcap's
/// `linktype_to_dlt`): they differ where a DLT number was platform-dependent, and raw IP
/// (LINKTYPE_RAW 101, DLT_RAW 12 on Linux) is the one synack reads; the others are equal.
fn dlt(linktype: u16) -> i32 {
    match linktype {
        101 => 12,
        100 => 11,
        l => i32::from(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bad_expression_names_itself() {
        let mut f = Filters::new(Some("tcp port".into()));
        let e = f
            .matches(1, &[0; 60])
            .expect_err("an incomplete expression");
        assert!(
            e.to_string()
                .starts_with("bad filter expression `tcp port`"),
            "{e}"
        );
    }

    #[test]
    fn test_compiled_per_link_type() {
        // An Ethernet IPv4 frame, and the same packet as raw IP (link type 101: libpcap
        // refuses to compile for 101 itself, "unknown data link type").
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        let ip = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        eth.extend_from_slice(&ip);
        let mut f = Filters::new(Some("ip".into()));
        assert_eq!(f.matches(1, &eth), Ok(true));
        assert_eq!(f.matches(101, &ip), Ok(true));
        let mut g = Filters::new(Some("ip6".into()));
        assert_eq!(g.matches(1, &eth), Ok(false));
        assert_eq!(g.matches(101, &ip), Ok(false));
    }
}
