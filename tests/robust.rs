//! Bad input never crashes synack: every capture, mutated many times over (seeded, so a
//! failure is reproducible), goes through reader → decoder → tracker → both printers, on the
//! one-frame-at-a-time path (watch, demo, verify) and on the batched path `read` runs on its
//! threads (decoded facts detached from their frames and attached again), which must print
//! the same bytes.

use synack::capture::file::FileReader;
use synack::event::{Decoder, Decodes, Pipeline, Recorded};
use synack::report::Style;
use synack::report::jsonl::JsonPrinter;
use synack::report::text::TextPrinter;
use synack::track::Limits;

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

/// Runs one file image through the pipeline into both printers; returns the number of frames
/// read. The JSON output must stay valid JSON Lines with every frame read reported, in order,
/// one conn record per stream, and the summary last.
fn run(bytes: &[u8]) -> usize {
    let Ok(mut reader) = FileReader::new(bytes) else {
        return 0;
    };
    // A small table, so that mutated captures also exercise early summing-up and tombs.
    let limits = Limits {
        max_conns: 8,
        ..Limits::default()
    };
    let mut json_pipe = Pipeline::new(64, limits);
    let mut text_pipe = Pipeline::new(64, limits);
    let mut out = Vec::new();
    let mut json = JsonPrinter::new(&mut out, Style::default(), false);
    let mut text = TextPrinter::new(std::io::sink(), Style::default(), false);
    let mut n = 0u64;
    while let Ok(Some(frame)) = reader.next_frame() {
        n += 1;
        json_pipe.frame(&frame, &mut json).expect("write to memory");
        text_pipe.frame(&frame, &mut text).expect("sink");
    }
    json_pipe.finish(&mut json, None).expect("write to memory");
    text_pipe.finish(&mut text, None).expect("sink");
    drop(json);
    assert!(
        batched(bytes, limits) == out,
        "the batched path printed other JSON than the frame-by-frame path"
    );
    let text = String::from_utf8(out).expect("JSON output is UTF-8");
    let mut frames = 0u64;
    let mut summary = None;
    for line in text.lines() {
        assert!(summary.is_none(), "a line after the summary: {line}");
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match v["type"].as_str() {
            Some("packet") => {
                frames += 1;
                assert_eq!(v["frame"].as_u64(), Some(frames), "{line}");
            }
            Some("conn") => {
                assert!(v["ended"].is_string(), "{line}");
                assert!(v["last_frame"].as_u64() <= Some(frames), "{line}");
            }
            Some("summary") => summary = Some(v),
            _ => panic!("unknown line {line}"),
        }
    }
    assert_eq!(frames, n, "every frame read is reported");
    let s = summary.expect("a summary line");
    assert_eq!(s["frames"].as_u64(), Some(n));
    n as usize
}

/// The JSON of `bytes` through `read`'s batched path, with batches handed over every seven
/// frames so that batch boundaries fall everywhere.
fn batched(bytes: &[u8], limits: Limits) -> Vec<u8> {
    let Ok(mut reader) = FileReader::new(bytes) else {
        return Vec::new();
    };
    let mut decoder = Decoder::new();
    let mut pipe = Pipeline::new(64, limits);
    let mut out = Vec::new();
    let mut json = JsonPrinter::new(&mut out, Style::default(), false);
    let mut batch = Decodes::default();
    let mut rec = Recorded::default();
    let mut hand_over = |batch: Decodes, rec: &mut Recorded, json: &mut JsonPrinter<_>| {
        assert!(pipe.record(batch, rec, true).is_none(), "kept for printing");
        rec.replay(json).expect("write to memory");
        // As `read` does: printed records give their buffers back to the tracker.
        pipe.reclaim(rec).for_each(drop);
    };
    while let Ok(Some(frame)) = reader.next_frame() {
        decoder.frame(&frame, &mut batch);
        if batch.len() == 7 {
            hand_over(std::mem::take(&mut batch), &mut rec, &mut json);
        }
    }
    hand_over(batch, &mut rec, &mut json);
    pipe.record_finish(&mut rec);
    rec.replay(&mut json).expect("write to memory");
    drop(json);
    out
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
            Some("pcap" | "pcapng" | "gz" | "zst" | "lz4")
        ) {
            continue;
        }
        let orig = std::fs::read(&p).expect("read");
        files += 1;
        // The captures whose section header is damaged have no frame to give (tshark
        // refuses them too).
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
