//! Compressed savefiles: gzip, zstd and LZ4 frames, known by their magic numbers as wiretap
//! knows them (tshark 4.0 reads `tcpdump -w - | gzip`, `.pcap.zst` and `.pcapng.lz4`
//! whatever the file is called), decompressed as a stream in front of the savefile reader.

use std::io::{self, BufRead, Read};

use flate2::bufread::MultiGzDecoder;

/// A compression format wiretap reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Lz4,
}

impl Compression {
    /// The compression whose magic number starts a file.
    pub fn of(head: [u8; 4]) -> Option<Compression> {
        match head {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd] => Some(Compression::Zstd),
            [0x04, 0x22, 0x4d, 0x18] => Some(Compression::Lz4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "LZ4",
        }
    }

    /// The decompressed stream of `src` (which starts at the magic number). Members and
    /// frames written one after another, as `cat a.gz b.gz` or `zstd` of a pipe leave
    /// them, are read as one stream.
    pub fn reader<'a>(self, src: impl BufRead + Send + 'a) -> Box<dyn Read + Send + 'a> {
        let stream: Box<dyn Read + Send + 'a> = match self {
            Compression::Gzip => Box::new(MultiGzDecoder::new(src)),
            Compression::Zstd => Box::new(ZstdFrames {
                source: Some(src),
                frame: None,
            }),
            Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(src)),
        };
        Box::new(Named {
            compression: self,
            stream,
        })
    }
}

/// A decompressed stream whose errors say which compression failed (the decompressors'
/// own messages name neither the format nor that the file is at fault).
struct Named<'a> {
    compression: Compression,
    stream: Box<dyn Read + Send + 'a>,
}

impl Read for Named<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).map_err(|e| {
            let kind = if e.kind() == io::ErrorKind::Interrupted {
                e.kind()
            } else {
                io::ErrorKind::InvalidData
            };
            io::Error::new(
                kind,
                format!(
                    "{} data cut short or damaged ({e})",
                    self.compression.name()
                ),
            )
        })
    }
}

/// zstd frames one after another. ruzstd's streaming decoder reads one frame; the next
/// starts where it ended, until the input does.
struct ZstdFrames<R: BufRead> {
    source: Option<R>,
    frame: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = &mut self.frame {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // This frame is over: its checksum (when it has one) must hold, as libzstd
                // checks it for wiretap; its source goes on to the next frame.
                if let Some(f) = self.frame.take() {
                    let (source, decoder) = f.into_parts();
                    if let (Some(want), Some(got)) = (
                        decoder.get_checksum_from_data(),
                        decoder.get_calculated_checksum(),
                    ) && want != got
                    {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "zstd: restored data does not match its checksum",
                        ));
                    }
                    self.source = Some(source);
                }
            }
            let Some(mut source) = self.source.take() else {
                return Ok(0);
            };
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let frame = ruzstd::decoding::StreamingDecoder::new(source)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
            self.frame = Some(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn read_all(c: Compression, bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        c.reader(Cursor::new(bytes)).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn test_known_by_magic() {
        assert_eq!(Compression::of([0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(
            Compression::of([0x28, 0xb5, 0x2f, 0xfd]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::of([0x04, 0x22, 0x4d, 0x18]),
            Some(Compression::Lz4)
        );
        assert_eq!(Compression::of([0xd4, 0xc3, 0xb2, 0xa1]), None);
    }

    #[test]
    fn test_gzip_members_in_a_row_are_one_stream() {
        let mut two = gzip(b"first ");
        two.extend(gzip(b"second"));
        assert_eq!(
            read_all(Compression::Gzip, &two).expect("valid"),
            b"first second"
        );
    }

    #[test]
    fn test_lz4_round_trip() {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(b"hello lz4").expect("in memory");
        let bytes = e.finish().expect("in memory");
        assert_eq!(
            read_all(Compression::Lz4, &bytes).expect("valid"),
            b"hello lz4"
        );
    }

    #[test]
    fn test_zstd_frames_in_a_row_and_damage() {
        // Two frames of raw blocks, as `zstd` writes incompressible data: magic, a frame
        // header (single segment, 1-byte content size), one last raw block.
        let frame = |data: &[u8]| {
            let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x20, data.len() as u8];
            let block = ((data.len() as u32) << 3) | 1; // last block, raw
            f.extend_from_slice(&block.to_le_bytes()[..3]);
            f.extend_from_slice(data);
            f
        };
        let mut two = frame(b"abc");
        two.extend(frame(b"def"));
        assert_eq!(read_all(Compression::Zstd, &two).expect("valid"), b"abcdef");
        // Garbage after a frame is an error, not a silent end.
        let mut bad = frame(b"abc");
        bad.extend_from_slice(b"junk");
        assert!(read_all(Compression::Zstd, &bad).is_err());
    }
}
