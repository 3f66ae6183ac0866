//! How a payload reads as text: the one escaping the printers show and `verify` matches
//! expectations against, so that what a user copies from the output is what they expect.

/// A piece of a payload's text: text that shows as itself, or a byte shown as `\xNN`.
pub enum Piece<'a> {
    Text(&'a str),
    Hex(u8),
}

/// Writes `bytes` as text: valid printable UTF-8 kept, control bytes, backslashes and invalid
/// bytes as `\xNN`; at most `limit` bytes of input (never splitting a character). Returns
/// whether the input was cut.
pub fn escape_payload(bytes: &[u8], limit: usize, out: &mut String) -> bool {
    pieces(bytes, limit, |p| match p {
        Piece::Text(t) => out.push_str(t),
        Piece::Hex(b) => push_hex(out, b),
    })
}

/// The payload's text (as `escape_payload` writes it) as pieces, in order, to `piece`: the
/// one walk the text printers and the JSON printer share (JSON escapes the pieces again).
/// Returns whether the input was cut.
pub fn pieces<'a>(bytes: &'a [u8], limit: usize, mut piece: impl FnMut(Piece<'a>)) -> bool {
    let (take, cut) = cut_point(bytes, limit);
    let shown = &bytes[..take];
    // Most payloads are plain printable ASCII: one piece, no walk.
    if is_plain(shown) {
        piece(Piece::Text(std::str::from_utf8(shown).unwrap_or_default()));
        return cut;
    }
    // The next most common: valid UTF-8 (text in any language, lines with their ends),
    // which needs no chunking into characters; anything else is chunked, and each valid
    // chunk is walked the same way.
    if let Ok(text) = std::str::from_utf8(shown) {
        valid_pieces(text, &mut piece);
        return cut;
    }
    for chunk in shown.utf8_chunks() {
        valid_pieces(chunk.valid(), &mut piece);
        for &b in chunk.invalid() {
            piece(Piece::Hex(b));
        }
    }
    cut
}

/// Valid text as pieces: the characters shown as `\xNN` (ASCII controls, DEL, a backslash,
/// a C1 control `c2 80`-`c2 9f`), found a word at a time, byte by byte; everything between
/// them as one piece.
fn valid_pieces<'a>(text: &'a str, piece: &mut impl FnMut(Piece<'a>)) {
    let mut rest = text;
    loop {
        let at = first_special(rest.as_bytes());
        let Some((before, after)) = rest.split_at_checked(at) else {
            return;
        };
        if !before.is_empty() {
            piece(Piece::Text(before));
        }
        let special = after.as_bytes();
        let Some(&b) = special.first() else {
            return;
        };
        // Each special character is ASCII or a two-byte C1 control: its whole encoding.
        let width = if b == 0xc2 { 2 } else { 1 };
        for &b in special.iter().take(width) {
            piece(Piece::Hex(b));
        }
        rest = after.get(width..).unwrap_or_default();
    }
}

/// How many bytes of `bytes` are shown under `limit`, and whether that is fewer than all.
pub fn cut_point(bytes: &[u8], limit: usize) -> (usize, bool) {
    let cut = bytes.len() > limit;
    let mut take = bytes.len().min(limit);
    if cut {
        // When the limit falls inside a valid character, keep the whole character out.
        let mut b = take;
        while b > 0 && take - b < 3 && bytes[b] & 0xc0 == 0x80 {
            b -= 1;
        }
        let l = utf8_len(bytes[b]);
        if b < take
            && b + l > take
            && b + l <= bytes.len()
            && std::str::from_utf8(&bytes[b..b + l]).is_ok()
        {
            take = b;
        }
    }
    (take, cut)
}

/// Tests of eight bytes at a time (the classic has-zero-byte and has-less-than tricks), for
/// the text and JSON writers that skip whole words needing nothing. Each gives a word whose
/// `HIGH` bits are set if some byte matches: exact as a yes/no, so their union is too, and
/// they are or-ed without branches.
pub(crate) mod word {
    const ONES: u64 = 0x0101_0101_0101_0101;
    /// The bit of each byte that the tests set.
    pub const HIGH: u64 = 0x8080_8080_8080_8080;

    /// The first eight bytes of `b` (which has at least eight) as one word.
    #[inline(always)]
    pub fn load(b: &[u8]) -> u64 {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[..8]);
        u64::from_le_bytes(x)
    }

    /// Bytes equal to `byte`.
    #[inline(always)]
    pub fn equal(x: u64, byte: u8) -> u64 {
        let y = x ^ (ONES * u64::from(byte));
        y.wrapping_sub(ONES) & !y
    }

    /// ASCII control bytes (below 0x20).
    #[inline(always)]
    pub fn control(x: u64) -> u64 {
        x.wrapping_sub(ONES * 0x20) & !x
    }

    /// Bytes a payload shows as `\xNN`, and `c2` (which starts a C1 control, or a character
    /// shown): controls, DEL, the backslash.
    #[inline(always)]
    pub fn payload_special(x: u64) -> u64 {
        control(x) | equal(x, 0x7f) | equal(x, b'\\') | equal(x, 0xc2)
    }
}

/// Whether `bytes` shows as itself: printable ASCII without a backslash (looked at eight
/// bytes at a time; exact as a yes/no, by the classic has-less-than and has-zero-byte
/// tests).
pub fn is_plain(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = word::load(w);
        // Anything not ASCII (its high bit) is not plain either.
        let not_plain = word::control(x) | x | word::equal(x, 0x7f) | word::equal(x, b'\\');
        if not_plain & word::HIGH != 0 {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// Where the first character of UTF-8 `bytes` that shows as `\xNN` starts (an ASCII control,
/// DEL, a backslash, a C1 control `c2 80`-`c2 9f`), or the length: whole words without any
/// of those bytes (nor a `c2`) are skipped at once.
fn first_special(bytes: &[u8]) -> usize {
    let mut at = 0;
    for w in bytes.chunks_exact(8) {
        if word::payload_special(word::load(w)) & word::HIGH != 0 {
            break;
        }
        at += 8;
    }
    let special = |i: usize, b: u8| {
        b < 0x20
            || b == 0x7f
            || b == b'\\'
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|&n| n < 0xa0))
    };
    (at..bytes.len())
        .find(|&i| special(i, bytes[i]))
        .unwrap_or(bytes.len())
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8], limit: usize) -> (String, bool) {
        let mut s = String::new();
        let cut = escape_payload(b, limit, &mut s);
        (s, cut)
    }

    #[test]
    fn test_payload_escaping() {
        assert_eq!(esc(b"hi\r\n", 256), ("hi\\x0d\\x0a".into(), false));
        assert_eq!(esc("你好".as_bytes(), 256), ("你好".into(), false));
        assert_eq!(esc(b"a\xffb\\", 256), ("a\\xffb\\x5c".into(), false));
        assert_eq!(esc(b"\x1b[0m", 256), ("\\x1b[0m".into(), false));
    }

    /// Each character as it shows, one by one: the reference the walks are held to.
    fn by_char(b: &[u8]) -> String {
        let mut out = String::new();
        for chunk in b.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() || c == '\\' {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        push_hex(&mut out, b);
                    }
                } else {
                    out.push(c);
                }
            }
            for &b in chunk.invalid() {
                push_hex(&mut out, b);
            }
        }
        out
    }

    /// The run-at-a-time walk says what a character-by-character walk says, for every byte
    /// value around printable runs and multi-byte characters.
    #[test]
    fn test_payload_escaping_matches_a_character_walk() {
        for x in 0..=255u8 {
            let mut b = b"GET /".to_vec();
            b.push(x);
            b.extend_from_slice("é\u{85}ok\r\n".as_bytes());
            b.push(x);
            assert_eq!(esc(&b, 256).0, by_char(&b), "byte {x:#x}");
        }
    }

    /// Valid UTF-8 that is not plain (the word-at-a-time walk) says what the character walk
    /// says, for every ASCII byte and C1 control at every place in a word and in the tail,
    /// beside a backslash and characters of two, three and four bytes.
    #[test]
    fn test_utf8_escaping_matches_a_character_walk() {
        let mut specials: Vec<Vec<u8>> = (0..0x80u8).map(|x| vec![x]).collect();
        specials.extend(
            (0x7f..=0xa1u32)
                .filter_map(char::from_u32)
                .map(|c| c.to_string().into_bytes()),
        );
        specials.extend(["é", "γ", "测", "😀", "\u{85}", "\u{a0}"].map(|c| c.as_bytes().to_vec()));
        for x in &specials {
            for len in [1, 2, 7, 8, 9, 15, 16, 17, 23] {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b.splice(at..at + 1, x.iter().copied());
                    assert_eq!(esc(&b, 256).0, by_char(&b), "{x:02x?} at {at} of {len}");
                    b.insert((at + 3) % len, b'\\');
                    b.insert(len / 2, b'\n');
                    b.splice(0..0, "é".bytes());
                    assert_eq!(esc(&b, 256).0, by_char(&b), "{x:02x?} at {at} of {len}");
                }
            }
        }
        for x in 0..0x80u8 {
            for len in [1, 2, 7, 8, 9, 15, 16, 17, 23] {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b[at] = x;
                    b[len - 1 - at] = b'\n';
                    assert_eq!(esc(&b, 256).0, by_char(&b), "{x:#x} at {at} of {len}");
                    b[(at + 3) % len] = b'\\';
                    assert_eq!(esc(&b, 256).0, by_char(&b), "{x:#x} at {at} of {len}");
                }
            }
        }
        assert_eq!(esc(b"a\r\n", 2), ("a\\x0d".into(), true));
    }

    /// The word-at-a-time test agrees with the byte-by-byte one for every byte value at every
    /// place in a word and in the tail.
    #[test]
    fn test_plain_text_found_as_byte_by_byte() {
        let reference = |b: &[u8]| b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\');
        for x in 0..=255u8 {
            for len in [1, 7, 8, 9, 16, 19] {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b[at] = x;
                    assert_eq!(is_plain(&b), reference(&b), "{x:#x} at {at} of {len}");
                }
            }
        }
        assert!(is_plain(b""));
    }

    #[test]
    fn test_payload_cut_on_character_boundary() {
        // "你" is 3 bytes: a limit of 4 keeps one character and cuts.
        assert_eq!(esc("你好".as_bytes(), 4), ("你".into(), true));
        assert_eq!(esc(b"abcdef", 3), ("abc".into(), true));
        // A genuinely invalid byte at the limit is still shown as hex.
        assert_eq!(esc(b"ab\xe4", 3), ("ab\\xe4".into(), false));
    }
}
