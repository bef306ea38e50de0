//! An incremental reader of a JSON array's elements: bytes go in as they
//! arrive, each complete element comes out as its own bytes (to be parsed
//! alone), and memory stays bounded by the largest element (`max_element`)
//! plus one input chunk. It only finds where elements begin and end (strings,
//! escapes, nesting); each element's own syntax is its parser's business, so a
//! malformed row fails alone.

/// Why the input is not a JSON array the reader can split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrayError {
    #[error("the file must be a JSON array")]
    NotAnArray,
    #[error("the JSON array is malformed near byte {0}")]
    Malformed(u64),
    #[error("an element is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the JSON array ends early")]
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `[`.
    Start,
    /// After `[` (`first`) or a `,`.
    Before { first: bool },
    /// In an element that started at `start` (index into `buf`).
    In {
        start: usize,
        depth: u32,
        in_string: bool,
        escape: bool,
    },
    /// After `]`.
    Done,
}

pub struct ArrayReader {
    buf: Vec<u8>,
    /// Next byte to look at.
    scan: usize,
    state: State,
    max_element: usize,
    /// Bytes dropped from the front of `buf` so far (for error positions).
    consumed: u64,
}

impl ArrayReader {
    pub fn new(max_element: usize) -> Self {
        Self {
            buf: Vec::new(),
            scan: 0,
            state: State::Start,
            max_element,
            consumed: 0,
        }
    }

    /// More input.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Has the closing `]` been read?
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// At the end of the input: an error unless the array was closed (only
    /// white space may follow it).
    pub fn finish(&self) -> Result<(), ArrayError> {
        if self.state != State::Done {
            return Err(ArrayError::Truncated);
        }
        match self.buf[self.scan..]
            .iter()
            .any(|b| !b.is_ascii_whitespace())
        {
            true => Err(ArrayError::Malformed(self.consumed + self.scan as u64)),
            false => Ok(()),
        }
    }

    fn drop_front(&mut self, upto: usize) {
        self.buf.drain(..upto);
        self.consumed += upto as u64;
        self.scan -= upto;
    }

    /// The next complete element, `None` when more input is needed (or the
    /// array is done).
    pub fn next_element(&mut self) -> Result<Option<Vec<u8>>, ArrayError> {
        while self.scan < self.buf.len() {
            let i = self.scan;
            let b = self.buf[i];
            match self.state {
                State::Done => {
                    if !b.is_ascii_whitespace() {
                        return Err(ArrayError::Malformed(self.consumed + i as u64));
                    }
                    self.scan += 1;
                }
                State::Start => {
                    if b == b'[' {
                        self.scan += 1;
                        self.state = State::Before { first: true };
                    } else if b.is_ascii_whitespace() {
                        self.scan += 1;
                    } else if b == 0xEF && i == 0 && self.consumed == 0 {
                        // A UTF-8 byte-order mark: skipped whole.
                        if self.buf.len() < 3 {
                            return Ok(None);
                        }
                        if self.buf[..3] != [0xEF, 0xBB, 0xBF] {
                            return Err(ArrayError::NotAnArray);
                        }
                        self.scan = 3;
                    } else {
                        return Err(ArrayError::NotAnArray);
                    }
                }
                State::Before { first } => {
                    self.scan += 1;
                    if b.is_ascii_whitespace() {
                        continue;
                    }
                    if b == b']' && first {
                        self.state = State::Done;
                        continue;
                    }
                    if b == b',' || b == b']' {
                        return Err(ArrayError::Malformed(self.consumed + i as u64));
                    }
                    // The element starts here; `scan` goes back to it.
                    self.scan = i;
                    self.drop_front(i);
                    self.state = State::In {
                        start: 0,
                        depth: 0,
                        in_string: false,
                        escape: false,
                    };
                }
                State::In {
                    start,
                    mut depth,
                    mut in_string,
                    mut escape,
                } => {
                    if i - start >= self.max_element {
                        return Err(ArrayError::TooLarge(self.max_element));
                    }
                    self.scan += 1;
                    if in_string {
                        if escape {
                            escape = false;
                        } else if b == b'\\' {
                            escape = true;
                        } else if b == b'"' {
                            in_string = false;
                        }
                    } else {
                        match b {
                            b'"' => in_string = true,
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' if depth > 0 => depth -= 1,
                            b',' | b']' if depth == 0 => {
                                let element = self.buf[start..i].trim_ascii_end().to_vec();
                                self.state = if b == b',' {
                                    State::Before { first: false }
                                } else {
                                    State::Done
                                };
                                self.drop_front(i + 1);
                                return Ok(Some(element));
                            }
                            b'}' => return Err(ArrayError::Malformed(self.consumed + i as u64)),
                            _ => {}
                        }
                    }
                    self.state = State::In {
                        start,
                        depth,
                        in_string,
                        escape,
                    };
                }
            }
        }
        // Keep memory bounded between elements: what was scanned outside an
        // element is no longer needed.
        if !matches!(self.state, State::In { .. }) && self.scan > 0 {
            self.drop_front(self.scan);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; the elements as strings.
    fn split(input: &str, step: usize) -> Result<Vec<String>, ArrayError> {
        let mut r = ArrayReader::new(1 << 20);
        let mut out = Vec::new();
        for piece in input.as_bytes().chunks(step) {
            r.push(piece);
            while let Some(e) = r.next_element()? {
                out.push(String::from_utf8(e).unwrap());
            }
        }
        r.finish()?;
        Ok(out)
    }

    #[test]
    fn elements_come_out_whole_however_the_input_is_cut() {
        let input = " \n[ {\"a\": \"x,]}\\\"\", \"b\": [1, {\"c\": 2}]} ,\n 7, \"s]\" , [] ,{} ]\n";
        for step in [1, 2, 3, 5, 8, 1000] {
            assert_eq!(
                split(input, step).unwrap(),
                vec![
                    "{\"a\": \"x,]}\\\"\", \"b\": [1, {\"c\": 2}]}",
                    "7",
                    "\"s]\"",
                    "[]",
                    "{}"
                ],
                "step {step}"
            );
        }
        assert_eq!(split("[]", 1).unwrap(), Vec::<String>::new());
        assert_eq!(split("\u{feff}[{}]", 1).unwrap(), vec!["{}"]);
    }

    #[test]
    fn what_is_not_an_array_is_refused() {
        assert_eq!(split("{\"a\": 1}", 4), Err(ArrayError::NotAnArray));
        assert_eq!(split("", 4), Err(ArrayError::Truncated));
        assert_eq!(split("[{\"a\": 1}", 4), Err(ArrayError::Truncated));
        assert_eq!(split("[{\"a\": \"1}]", 4), Err(ArrayError::Truncated));
        assert!(matches!(split("[1,,2]", 4), Err(ArrayError::Malformed(_))));
        assert!(matches!(split("[1,]", 4), Err(ArrayError::Malformed(_))));
        assert!(matches!(split("[1] x", 4), Err(ArrayError::Malformed(_))));
        assert!(matches!(split("[1}]", 4), Err(ArrayError::Malformed(_))));
    }

    #[test]
    fn memory_is_bounded_by_the_largest_element() {
        let mut r = ArrayReader::new(64);
        r.push(b"[");
        r.push(format!("\"{}\"", "x".repeat(100)).as_bytes());
        assert_eq!(r.next_element(), Err(ArrayError::TooLarge(64)));
        // Many small elements: the buffer never holds more than one.
        let mut r = ArrayReader::new(64);
        r.push(b"[");
        for _ in 0..10_000 {
            r.push(b"{\"email\": \"a@b.c\"},");
            while r.next_element().unwrap().is_some() {}
            assert!(r.buf.len() < 64);
        }
    }
}
