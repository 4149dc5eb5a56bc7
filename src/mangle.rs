//! Deterministic random edits of valid messages, for tests that hold a fast reader to serde's.

/// Mutations of `original`: each inserts, removes or replaces one to three bytes taken from
/// `alphabet`. The same seed gives the same mutations, so a failure repeats.
pub(crate) struct Mangler {
    state: u64,
    alphabet: &'static [u8],
}

impl Mangler {
    pub(crate) fn new(seed: u64, alphabet: &'static [u8]) -> Mangler {
        Mangler {
            state: seed | 1,
            alphabet,
        }
    }

    /// xorshift64*: a number below `n`.
    fn next(&mut self, n: usize) -> usize {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let wide = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
        usize::try_from(wide).unwrap_or(0) % n.max(1)
    }

    /// One mutation of `original`.
    pub(crate) fn mangle(&mut self, original: &[u8]) -> Vec<u8> {
        let mut bytes = original.to_vec();
        for _ in 0..=self.next(3) {
            let at = self.next(bytes.len() + 1);
            let c = self.alphabet[self.next(self.alphabet.len())];
            match self.next(3) {
                0 => bytes.insert(at, c),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ if at < bytes.len() => bytes[at] = c,
                _ => bytes.push(c),
            }
        }
        bytes
    }
}
