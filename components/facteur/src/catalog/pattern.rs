//! The catalog's `pattern`s: a small regular-expression language, matched in time linear in the
//! value. It stands in for a regex engine, which was about 55 KB of every component that checks
//! patterns (BENCHMARKS.md); the catalog's patterns never needed more.
//!
//! A pattern is a sequence of items, optionally anchored by `^` (first) and `$` (last). An item
//! is a character, `.` (any but `\n`), an escape (`\d` `\w` `\s` and `\D` `\W` `\S`, ASCII as in
//! regex-lite; `\n` `\r` `\t`; a punctuation character), or a class `[…]`/`[^…]` of characters,
//! ranges `a-z` and those escapes but the negated ones; each may be repeated by `?`, `*`, `+`,
//! `{n}`, `{n,}` or `{n,m}`. Groups, alternation, flags and nested classes are refused when the
//! catalog is built (`Catalog::validate`), so a pattern never means something else here than in
//! a regex engine (the tests compare with regex-lite).
//!
//! Self-contained (std only): the build script validates the catalog with it.

/// A parsed pattern. Matching searches the value, as a regex engine's `is_match` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    start: bool,
    end: bool,
    items: Vec<Item>,
}

/// One set of characters, `min..=max` times (`max` is `None` when unbounded).
#[derive(Debug, Clone, PartialEq)]
struct Item {
    negated: bool,
    ranges: Vec<(char, char)>,
    min: u32,
    max: Option<u32>,
}

impl Item {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(low, high)| (low..=high).contains(&c)) != self.negated
    }

    /// The largest repetition count worth telling apart: past `min`, an unbounded item's
    /// counts all behave alike.
    fn cap(&self) -> u32 {
        self.max.unwrap_or(self.min)
    }
}

/// The largest count of a repetition: the states of a match grow with it.
const MAX_REPEAT: u32 = 10_000;

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\r'), (' ', ' ')];

impl Pattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let body = pattern.strip_prefix('^');
        let start = body.is_some();
        let body = body.unwrap_or(pattern);
        // A final `$` anchors unless escaped (an odd number of `\` before it).
        let (body, end) = match body.strip_suffix('$') {
            Some(rest) if rest.chars().rev().take_while(|&c| c == '\\').count() % 2 == 0 => (rest, true),
            _ => (body, false),
        };
        let mut chars = body.chars().peekable();
        let mut items: Vec<Item> = Vec::new();
        while let Some(c) = chars.next() {
            let (negated, ranges) = match c {
                '.' => (true, vec![('\n', '\n')]),
                '[' => class(&mut chars)?,
                '\\' => escape(&mut chars, false)?,
                '(' | ')' | '|' => return Err("groups and alternation are not supported".into()),
                '^' | '$' => return Err(format!("`{c}` is allowed only at the start or end")),
                '*' | '+' | '?' | '{' => return Err(format!("`{c}` repeats nothing")),
                c => (false, vec![(c, c)]),
            };
            let (min, max) = match chars.next_if(|c| matches!(c, '?' | '*' | '+' | '{')) {
                Some('?') => (0, Some(1)),
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some(_) => counted(&mut chars)?,
                None => (1, Some(1)),
            };
            if matches!(chars.peek(), Some('?' | '*' | '+' | '{')) {
                return Err("a repetition cannot be repeated or made lazy".into());
            }
            items.push(Item { negated, ranges, min, max });
        }
        Ok(Self { start, end, items })
    }

    /// Whether the pattern matches somewhere in `value`.
    pub fn is_match(&self, value: &str) -> bool {
        self.run(value, self.start, self.end)
    }

    /// Whether the pattern matches all of `value`, as if written `^(?:pattern)$`.
    pub fn is_full_match(&self, value: &str) -> bool {
        self.run(value, true, true)
    }

    /// A Thompson-style simulation: the states after each character are (item, times it has
    /// matched so far), each kept once, so the work is at most states × characters.
    fn run(&self, value: &str, start: bool, end: bool) -> bool {
        // States are numbered: item i's counts 0..=cap(i) from offsets[i]; the last is "matched".
        let mut offsets = Vec::with_capacity(self.items.len() + 1);
        let mut total = 0;
        for item in &self.items {
            offsets.push(total);
            total += item.cap() as usize + 1;
        }
        offsets.push(total);
        // `seen[state]` is the last step that reached it.
        let mut seen = vec![usize::MAX; total + 1];
        let (mut current, mut next) = (Vec::new(), Vec::new());
        self.add(&mut current, &mut seen, &offsets, 0, (0, 0));
        let mut step = 0;
        for c in value.chars() {
            if !end && seen[total] == step {
                return true;
            }
            step += 1;
            next.clear();
            for &(i, n) in &current {
                let Some(item) = self.items.get(i) else { continue };
                if item.max.is_none_or(|max| n < max) && item.contains(c) {
                    self.add(&mut next, &mut seen, &offsets, step, (i, (n + 1).min(item.cap())));
                }
            }
            if !start {
                self.add(&mut next, &mut seen, &offsets, step, (0, 0));
            }
            std::mem::swap(&mut current, &mut next);
            if current.is_empty() {
                return false;
            }
        }
        seen[total] == step
    }

    /// Adds `state` and what it reaches without reading a character.
    fn add(
        &self,
        states: &mut Vec<(usize, u32)>,
        seen: &mut [usize],
        offsets: &[usize],
        step: usize,
        state: (usize, u32),
    ) {
        let (i, n) = state;
        let index = offsets[i] + n as usize;
        if seen[index] == step {
            return;
        }
        seen[index] = step;
        states.push(state);
        if self.items.get(i).is_some_and(|item| n >= item.min) {
            self.add(states, seen, offsets, step, (i + 1, 0));
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// The set an escape stands for (after the `\`).
fn escape(chars: &mut Chars, in_class: bool) -> Result<(bool, Vec<(char, char)>), String> {
    let c = chars.next().ok_or("the pattern ends with `\\`")?;
    let (negated, ranges) = match c {
        'd' | 'D' => (c == 'D', DIGIT),
        'w' | 'W' => (c == 'W', WORD),
        's' | 'S' => (c == 'S', SPACE),
        'n' => return Ok((false, vec![('\n', '\n')])),
        'r' => return Ok((false, vec![('\r', '\r')])),
        't' => return Ok((false, vec![('\t', '\t')])),
        // As in regex engines; `\<` and `\>` are word boundaries there.
        c if c.is_ascii_punctuation() && !matches!(c, '<' | '>') => return Ok((false, vec![(c, c)])),
        c => return Err(format!("the escape `\\{c}` is not supported")),
    };
    if negated && in_class {
        return Err(format!("`\\{c}` is not supported in a class"));
    }
    Ok((negated, ranges.to_vec()))
}

/// A class, after its `[`.
fn class(chars: &mut Chars) -> Result<(bool, Vec<(char, char)>), String> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = chars.next().ok_or("a class has no closing `]`")?;
        let low = match c {
            ']' if !first => return Ok((negated, ranges)),
            '[' => return Err("nested classes are not supported".into()),
            '&' | '-' | '~' if chars.peek() == Some(&c) => return Err("class set operations are not supported".into()),
            '\\' => {
                let (_, set) = escape(chars, true)?;
                match set[..] {
                    [(low, high)] if low == high => low,
                    _ => {
                        ranges.extend(set);
                        first = false;
                        continue;
                    }
                }
            }
            c => c,
        };
        first = false;
        // `-` is a range between two characters, else itself.
        let mut ahead = chars.clone();
        let high = match (ahead.next(), ahead.next()) {
            (Some('-'), Some(next)) if next != ']' => {
                chars.next();
                match chars.next() {
                    Some('\\') => match escape(chars, true)?.1[..] {
                        [(high, h)] if high == h => high,
                        _ => return Err("a range must end with a single character".into()),
                    },
                    Some('[') => return Err("nested classes are not supported".into()),
                    Some(high) => high,
                    None => return Err("a class has no closing `]`".into()),
                }
            }
            _ => low,
        };
        if high < low {
            return Err(format!("the range `{low}-{high}` is reversed"));
        }
        ranges.push((low, high));
    }
}

/// `{n}`, `{n,}` or `{n,m}`, after its `{`.
fn counted(chars: &mut Chars) -> Result<(u32, Option<u32>), String> {
    let invalid = || format!("a repetition is `{{n}}`, `{{n,}}` or `{{n,m}}` with n ≤ m ≤ {MAX_REPEAT}");
    let min = number(chars).ok_or_else(invalid)?;
    let max = if chars.next_if_eq(&',').is_some() { number(chars) } else { Some(min) };
    if chars.next() != Some('}') || max.is_some_and(|max| max < min) || max.unwrap_or(min) > MAX_REPEAT {
        return Err(invalid());
    }
    Ok((min, max))
}

fn number(chars: &mut Chars) -> Option<u32> {
    let digits: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
