//! Bad input never crashes synack: every capture, mutated many times over (seeded, so a
//! failure is reproducible), goes through reader → decoder → tracker → both printers.

use std::io;

use synack::capture::file::FileReader;
use synack::report::jsonl::JsonPrinter;
use synack::report::text::TextPrinter;
use synack::report::{PacketEvent, Printer, Style};
use synack::track::Tracker;
use synack::track::defrag::Reassembler;
use synack::wire;

/// xorshift64*: enough randomness for mutations, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Runs one file image through everything; returns the number of frames read.
fn run(bytes: &[u8]) -> usize {
    let Ok(mut reader) = FileReader::new(bytes) else {
        return 0;
    };
    let mut tracker = Tracker::new(64);
    let mut reassembler = Reassembler::new();
    let mut json = JsonPrinter::new(io::sink(), Style::default(), false);
    let mut text = TextPrinter::new(io::sink(), Style::default(), false);
    let mut n = 0;
    while let Ok(Some(frame)) = reader.next_frame() {
        n += 1;
        let first = wire::decode(frame.linktype, frame.data, frame.wirelen);
        let whole = reassembler.feed(frame.number, &first);
        let decoded = match &whole {
            Some(d) => wire::decode_reassembled(&first, d),
            None => first,
        };
        let info = tracker.packet(frame.number, frame.ts, &decoded);
        let ev = PacketEvent {
            frame: &frame,
            decoded: &decoded,
            info: &info,
        };
        json.packet(&ev).expect("sink");
        text.packet(&ev).expect("sink");
    }
    for c in tracker.finish() {
        json.conn(&c).expect("sink");
        text.conn(&c).expect("sink");
    }
    n
}

#[test]
fn mutated_captures_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
    let mut rng = Rng(0x5eed_5eed_5eed_5eed);
    let mut files = 0;
    for e in std::fs::read_dir(dir).expect("captures") {
        let p = e.expect("entry").path();
        if !matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("pcap" | "pcapng")
        ) {
            continue;
        }
        let orig = std::fs::read(&p).expect("read");
        files += 1;
        assert!(
            run(&orig) > 0 || p.to_string_lossy().contains("bad-shb"),
            "{}",
            p.display()
        );
        for _ in 0..60 {
            let mut b = orig.clone();
            let start = 24.min(b.len());
            for _ in 0..1 + rng.below(8) {
                let i = start + rng.below(b.len() - start);
                if i < b.len() {
                    b[i] = rng.next() as u8;
                }
            }
            if rng.below(4) == 0 {
                let cut = start + rng.below(b.len() - start);
                b.truncate(cut);
            }
            run(&b);
        }
    }
    assert!(files >= 30);
}

#[test]
fn random_bytes_and_tiny_files_are_refused_cleanly() {
    let mut rng = Rng(42);
    for len in [0usize, 1, 3, 4, 23, 24, 25, 100, 5000] {
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run(&b);
        // The same behind every magic number synack knows.
        for magic in [0xa1b2_c3d4u32, 0xa1b2_3c4d, 0xa1b2_cd34, 0x0a0d_0d0a] {
            if b.len() >= 4 {
                b[..4].copy_from_slice(&magic.to_le_bytes());
                run(&b);
                b[..4].copy_from_slice(&magic.to_be_bytes());
                run(&b);
            }
        }
    }
}
