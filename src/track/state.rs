//! Each endpoint's RFC 9293 state as an observer on the wire infers it.
//!
//! The observer sees segments, not sockets, so an endpoint changes state when it *sends* a
//! segment that shows the new state (its SYN, its FIN, its ACK of the peer's SYN or FIN), or
//! when it *receives* the ACK that completes something it started (its SYN or FIN acknowledged).
//! This is also how the classic lesson draws it: SYN → SYN_SENT, SYN+ACK → SYN_RECEIVED,
//! final ACK → ESTABLISHED on both sides.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    Closing,
    TimeWait,
    CloseWait,
    LastAck,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynReceived => "SYN_RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::Closing => "CLOSING",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
        }
    }

    /// The classic tutorial's own spelling (its diagrams say SYN_SEND and SYN_RECV).
    pub fn tutorial_name(self) -> &'static str {
        match self {
            TcpState::SynSent => "SYN_SEND",
            TcpState::SynReceived => "SYN_RECV",
            s => s.as_str(),
        }
    }

    /// The connection is over for this endpoint (nothing more to see from it).
    pub fn is_final(self) -> bool {
        matches!(self, TcpState::Closed | TcpState::TimeWait)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the wire shows an endpoint doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// It sent a SYN without ACK.
    SendSyn,
    /// It sent a SYN+ACK.
    SendSynAck,
    /// It sent a segment acknowledging the peer's SYN (no SYN flag of its own).
    SendAckOfPeerSyn,
    /// It sent a segment acknowledging the peer's FIN.
    SendAckOfPeerFin,
    /// It sent its FIN.
    SendFin,
    /// It received the acknowledgement of its SYN.
    RecvAckOfOwnSyn,
    /// It received the acknowledgement of its FIN.
    RecvAckOfOwnFin,
    /// A RST was sent or received.
    Reset,
}

/// The one place states change.
pub fn next(state: TcpState, event: Event) -> TcpState {
    use Event::*;
    use TcpState::*;
    match (state, event) {
        // §3.10.7.4 and §3.10.7.3: a valid RST aborts the connection in every state.
        (_, Reset) => Closed,
        // §3.10.1 OPEN: an active open sends SYN and enters SYN-SENT.
        (Closed | Listen, SendSyn) => SynSent,
        // §3.10.7.2: a listener answers a SYN with SYN,ACK and enters SYN-RECEIVED;
        // §3.10.7.3: in a simultaneous open SYN-SENT does the same.
        (Closed | Listen | SynSent, SendSynAck) => SynReceived,
        // §3.10.7.3: SYN-SENT, its SYN acknowledged by a SYN,ACK, sends ACK: ESTABLISHED.
        (SynSent, SendAckOfPeerSyn) => Established,
        // §3.10.7.4 (fifth check): SYN-RECEIVED whose SYN is acknowledged: ESTABLISHED.
        (SynReceived, RecvAckOfOwnSyn) => Established,
        // §3.10.4 CLOSE: ESTABLISHED (or SYN-RECEIVED) sends FIN and enters FIN-WAIT-1.
        (Established | SynReceived | SynSent, SendFin) => FinWait1,
        // §3.10.4 CLOSE in CLOSE-WAIT: sends FIN, enters LAST-ACK.
        (CloseWait, SendFin) => LastAck,
        // §3.10.7.4 (eighth check, FIN bit): ESTABLISHED acknowledges the FIN: CLOSE-WAIT.
        (Established | SynReceived, SendAckOfPeerFin) => CloseWait,
        // FIN-WAIT-1 acknowledging a FIN its own FIN crossed: CLOSING (simultaneous close).
        (FinWait1, SendAckOfPeerFin) => Closing,
        // FIN-WAIT-2 acknowledging the peer's FIN: TIME-WAIT.
        (FinWait2, SendAckOfPeerFin) => TimeWait,
        // FIN-WAIT-1 whose FIN is acknowledged: FIN-WAIT-2.
        (FinWait1, RecvAckOfOwnFin) => FinWait2,
        // CLOSING whose FIN is acknowledged: TIME-WAIT.
        (Closing, RecvAckOfOwnFin) => TimeWait,
        // LAST-ACK whose FIN is acknowledged: CLOSED.
        (LastAck, RecvAckOfOwnFin) => Closed,
        // Anything else (retransmissions, duplicates) leaves the state as it was.
        (s, _) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::TcpState::*;
    use super::*;

    fn run(start: TcpState, events: &[Event]) -> TcpState {
        events.iter().fold(start, |s, &e| next(s, e))
    }

    #[test]
    fn test_closed_active_open_to_established() {
        assert_eq!(run(Closed, &[SendSyn, SendAckOfPeerSyn]), Established);
    }

    #[test]
    fn test_listen_passive_open_to_established() {
        assert_eq!(run(Listen, &[SendSynAck, RecvAckOfOwnSyn]), Established);
    }

    #[test]
    fn test_simultaneous_open() {
        assert_eq!(
            run(Closed, &[SendSyn, SendSynAck, RecvAckOfOwnSyn]),
            Established
        );
    }

    #[test]
    fn test_active_close_to_time_wait() {
        assert_eq!(
            run(Established, &[SendFin, RecvAckOfOwnFin, SendAckOfPeerFin]),
            TimeWait
        );
    }

    #[test]
    fn test_passive_close_to_closed() {
        assert_eq!(
            run(Established, &[SendAckOfPeerFin, SendFin, RecvAckOfOwnFin]),
            Closed
        );
    }

    #[test]
    fn test_simultaneous_close() {
        assert_eq!(
            run(Established, &[SendFin, SendAckOfPeerFin, RecvAckOfOwnFin]),
            TimeWait
        );
        assert_eq!(run(Established, &[SendFin, SendAckOfPeerFin]), Closing);
    }

    #[test]
    fn test_half_close_keeps_close_wait_while_sending() {
        assert_eq!(run(Established, &[SendAckOfPeerFin]), CloseWait);
        assert_eq!(run(CloseWait, &[SendAckOfPeerSyn]), CloseWait);
    }

    #[test]
    fn test_reset_from_any_state() {
        for s in [SynSent, Established, FinWait2, CloseWait, LastAck] {
            assert_eq!(next(s, Reset), Closed);
        }
    }
}
