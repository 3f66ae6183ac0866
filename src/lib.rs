//! synack: a packet-level handshake and datagram inspector. The library holds the one-way
//! pipeline `capture → wire → track → report` and the demos; the binary wires it to a CLI.

pub mod capture;
pub mod demo;
pub mod event;
pub mod lang;
pub mod report;
pub mod time;
pub mod track;
pub mod verify;
pub mod wire;
