//! Live capture through libpcap (placeholder filled in below).
