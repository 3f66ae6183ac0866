//! The languages synack speaks: English, and the classic socket tutorial's Chinese terms.
//! Printers and `verify` choose their words by it.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The text of `en` or `zh`, whichever this language is.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}
