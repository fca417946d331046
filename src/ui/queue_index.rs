//! The queue as the kiosk searches it: up to 100,000 people, filtered as the operator types.
//!
//! Everyone's lowercase haystack lives in one contiguous buffer, built once per queue update, so
//! a keystroke costs one SIMD substring pass (`memchr::memmem`) over that buffer, or only over
//! the previous matches when the query grows and few matched, which is what typing does; the
//! first letter or digit is answered from a per-person set of the bytes each holds. A frame
//! costs nothing but the visible rows.

use std::collections::HashMap;

use memchr::memmem::Finder;

use crate::engine::api::{Person, PersonStatus};

/// People, their search haystacks and the current matches.
#[derive(Debug, Default)]
pub struct QueueIndex {
    people: Vec<Person>,
    haystacks: Haystacks,
    by_id: HashMap<String, usize>,
    counts: StatusCounts,
    query: String,
    matches: Vec<u32>,
    /// The matches of shorter queries the current one extends (shortest first): Backspace
    /// restores them instead of rescanning everyone.
    earlier: Vec<(String, Vec<u32>)>,
}

/// How many earlier match lists are kept (a badge scan or a name is rarely longer).
const EARLIER_MAX: usize = 48;

/// How many people are in each state (for the header line).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatusCounts {
    /// No options yet.
    pub waiting: usize,
    /// Options held.
    pub ready: usize,
    /// Being enrolled.
    pub in_progress: usize,
    /// Has a key.
    pub enrolled: usize,
    /// Last attempt failed.
    pub failed: usize,
}

impl StatusCounts {
    fn slot(&mut self, status: PersonStatus) -> &mut usize {
        match status {
            PersonStatus::Waiting => &mut self.waiting,
            PersonStatus::Ready => &mut self.ready,
            PersonStatus::InProgress => &mut self.in_progress,
            PersonStatus::Enrolled => &mut self.enrolled,
            PersonStatus::Failed => &mut self.failed,
        }
    }
}

/// Ends every haystack in the buffer. Control characters in names become spaces, so a query
/// (one line of typed text) never matches across two people.
const END: char = '\n';

/// Everyone's lowercase "name, UPN", one after the other in one buffer. Object ids are left
/// out (nobody types one; a badge scan of one is resolved exactly by [`QueueIndex::resolve_scan`]),
/// which makes the buffer 40% smaller and a scan that much faster.
#[derive(Debug, Default)]
struct Haystacks {
    text: String,
    /// Where each person's haystack starts; one more entry than people (the buffer's end).
    starts: Vec<usize>,
    /// Which bytes each haystack holds ([`byte_set`]): a cheap "cannot match" before a
    /// search, and the whole answer for a one-letter or one-digit query.
    sets: Vec<u64>,
}

/// A byte's bit in a [`byte_set`]: letters and digits have one each, every other byte shares
/// one of the remaining 28 (for those, a set only says "maybe").
fn byte_bit(b: u8) -> u64 {
    let i = match b {
        b'a'..=b'z' => b - b'a',
        b'0'..=b'9' => 26 + b - b'0',
        _ => 36 + b % 28,
    };
    1 << i
}

fn byte_set(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |set, &b| set | byte_bit(b))
}

/// A needle whose [`byte_set`] answers exactly: one ASCII letter or digit.
fn set_is_exact(needle: &[u8]) -> bool {
    matches!(needle, [b'a'..=b'z' | b'0'..=b'9'])
}

impl Haystacks {
    fn build(people: &[Person]) -> Self {
        let mut h = Haystacks {
            text: String::with_capacity(people.len() * 96),
            starts: Vec::with_capacity(people.len() + 1),
            sets: Vec::with_capacity(people.len()),
        };
        h.starts.push(0);
        for p in people {
            h.push(p);
        }
        h
    }

    fn push(&mut self, p: &Person) {
        for field in [&p.display_name, &p.upn] {
            self.text.extend(
                field
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .flat_map(char::to_lowercase),
            );
            self.text.push('\u{1f}');
        }
        self.text.pop();
        let start = self.starts[self.starts.len() - 1];
        self.sets.push(byte_set(&self.text.as_bytes()[start..]));
        self.text.push(END);
        self.starts.push(self.text.len());
    }

    /// Whether person `i`'s haystack contains `query` (one person: no finder kept).
    fn matches(&self, i: usize, query: &str) -> bool {
        self.contains(i, &Finder::new(query), byte_set(query.as_bytes()))
    }

    /// Person `i`'s haystack, without its end marker.
    fn get(&self, i: usize) -> &[u8] {
        &self.text.as_bytes()[self.starts[i]..self.starts[i + 1] - 1]
    }

    /// Whether person `i`'s haystack contains the needle (`set`: its [`byte_set`]).
    fn contains(&self, i: usize, finder: &Finder, set: u64) -> bool {
        self.sets[i] & set == set && finder.find(self.get(i)).is_some()
    }

    /// Everyone whose haystack contains the needle, in order: one pass over the buffer, or
    /// over the byte sets for a one-character needle (which nearly everyone contains).
    fn scan(&self, finder: &Finder, out: &mut Vec<u32>) {
        if set_is_exact(finder.needle()) {
            let set = byte_set(finder.needle());
            let hits = self.sets.iter().enumerate().filter(|(_, s)| *s & set != 0);
            out.extend(hits.map(|(i, _)| i as u32));
            return;
        }
        let text = self.text.as_bytes();
        let needle = finder.needle().len();
        let (mut pos, mut person) = (0, 0);
        while let Some(found) = finder.find(&text[pos..]) {
            let at = pos + found;
            while self.starts[person + 1] <= at {
                person += 1;
            }
            let end = self.starts[person + 1];
            if at + needle < end {
                out.push(person as u32);
            }
            pos = end;
        }
    }
}

impl QueueIndex {
    /// Replaces the whole queue (Event::Queue), keeping the current query.
    pub fn replace(&mut self, people: Vec<Person>) {
        self.haystacks = Haystacks::build(&people);
        self.by_id = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.user_id.clone(), i))
            .collect();
        self.counts = StatusCounts::default();
        for p in &people {
            *self.counts.slot(p.status) += 1;
        }
        self.people = people;
        let query = std::mem::take(&mut self.query);
        self.rescan(query);
    }

    /// Updates one person (Event::PersonChanged); a new person is appended.
    pub fn update(&mut self, person: Person) {
        match self.by_id.get(&person.user_id).copied() {
            Some(i) => {
                *self.counts.slot(self.people[i].status) -= 1;
                *self.counts.slot(person.status) += 1;
                let renamed = self.people[i].display_name != person.display_name
                    || self.people[i].upn != person.upn;
                self.people[i] = person;
                if renamed {
                    // Rare: rebuild the buffer and search again (kept matches may be stale).
                    self.haystacks = Haystacks::build(&self.people);
                    let query = std::mem::take(&mut self.query);
                    self.rescan(query);
                }
            }
            None => {
                let i = self.people.len();
                *self.counts.slot(person.status) += 1;
                self.by_id.insert(person.user_id.clone(), i);
                self.haystacks.push(&person);
                self.people.push(person);
                if self.haystacks.matches(i, &self.query) {
                    self.matches.push(i as u32);
                }
                for (query, matches) in &mut self.earlier {
                    if self.haystacks.matches(i, query) {
                        matches.push(i as u32);
                    }
                }
            }
        }
    }

    /// Sets the search text; a query that extends the previous one only rescans its matches.
    pub fn set_query(&mut self, query: &str) {
        let query = query.trim().to_lowercase();
        if query == self.query {
            return;
        }
        if !self.query.is_empty() && query.starts_with(self.query.as_str()) {
            let narrowed = self.narrow(&self.matches, &query);
            let previous = std::mem::replace(&mut self.matches, narrowed);
            self.earlier
                .push((std::mem::replace(&mut self.query, query), previous));
            if self.earlier.len() > EARLIER_MAX {
                self.earlier.remove(0);
            }
            return;
        }
        // Backspace: the matches of a shorter query typed before are still valid.
        while let Some((earlier, matches)) = self.earlier.pop() {
            if earlier == query {
                self.matches = matches;
                self.query = query;
                return;
            }
            if query.starts_with(earlier.as_str()) {
                self.matches = self.narrow(&matches, &query);
                self.query = query;
                return;
            }
        }
        self.rescan(query);
    }

    /// The people among `candidates` (the matches of a query that `query` extends) whose
    /// haystack contains `query`. Many candidates are cheaper to find again in one pass over
    /// the buffer (which finds exactly them: whoever matches `query` matched the shorter
    /// query) than one search per candidate.
    fn narrow(&self, candidates: &[u32], query: &str) -> Vec<u32> {
        let finder = Finder::new(query);
        if candidates.len() > self.people.len() / 4 {
            let mut all = Vec::new();
            self.haystacks.scan(&finder, &mut all);
            return all;
        }
        let set = byte_set(query.as_bytes());
        candidates
            .iter()
            .copied()
            .filter(|&i| self.haystacks.contains(i as usize, &finder, set))
            .collect()
    }

    fn rescan(&mut self, query: String) {
        self.earlier.clear();
        self.matches.clear();
        if query.is_empty() {
            self.matches.extend(0..self.people.len() as u32);
        } else {
            self.haystacks.scan(&Finder::new(&query), &mut self.matches);
        }
        self.query = query;
    }

    /// Indices (into [`Self::person`]) of the people matching the query, in queue order.
    pub fn matches(&self) -> &[u32] {
        &self.matches
    }

    /// The person at `index`.
    pub fn person(&self, index: u32) -> Option<&Person> {
        self.people.get(index as usize)
    }

    /// The person with this Entra object id.
    pub fn by_user_id(&self, user_id: &str) -> Option<&Person> {
        self.by_id.get(user_id).and_then(|&i| self.people.get(i))
    }

    /// Everyone.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    /// No one in the queue.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// People per state.
    pub fn counts(&self) -> StatusCounts {
        self.counts
    }

    /// What a badge scan (or Enter in the search field) designates: an exact object id, UPN or
    /// UPN user part (case-insensitive), else the only match of the query.
    pub fn resolve_scan(&self, text: &str) -> Option<&Person> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some(p) = self.by_user_id(text) {
            return Some(p);
        }
        let exact = self.people.iter().find(|p| {
            p.upn.eq_ignore_ascii_case(text)
                || p.upn
                    .split_once('@')
                    .is_some_and(|(user, _)| user.eq_ignore_ascii_case(text))
        });
        if exact.is_some() {
            return exact;
        }
        match self.matches.as_slice() {
            [only] => self.person(*only),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(i: usize, status: PersonStatus) -> Person {
        Person {
            user_id: format!("id-{i}"),
            upn: format!("user{i}@contoso.com"),
            display_name: format!("User Number {i}"),
            status,
            challenge_expires_at: None,
            elsewhere: None,
        }
    }

    #[test]
    fn incremental_search_matches_full_rescan() {
        let mut q = QueueIndex::default();
        q.replace((0..1000).map(|i| person(i, PersonStatus::Ready)).collect());
        q.set_query("user1");
        q.set_query("user12");
        let incremental = q.matches().to_vec();
        q.set_query("");
        q.set_query("USER12");
        assert_eq!(incremental, q.matches());
        // 12, 120..129
        assert_eq!(q.matches().len(), 11);
        // "user" is in both the name and the UPN: one match per person all the same.
        q.set_query("user");
        assert_eq!(q.matches().len(), 1000);
    }

    #[test]
    fn matches_stay_within_one_person() {
        let mut q = QueueIndex::default();
        let mut tab = person(1, PersonStatus::Ready);
        tab.display_name = "Ann\tLee".into();
        q.replace(vec![tab, person(2, PersonStatus::Ready)]);
        q.set_query("ann lee");
        assert_eq!(q.matches(), &[0]);
        // The end of one haystack (a UPN) and the start of the next (a name) never make a
        // match together.
        q.set_query("contoso.com\nuser");
        assert!(q.matches().is_empty());
        q.set_query("contoso.com");
        assert_eq!(q.matches(), &[0, 1]);
        // Object ids are not searched as you type (nobody types one); a scan resolves them.
        q.set_query("id-1");
        assert!(q.matches().is_empty());
        assert_eq!(
            q.resolve_scan("id-1").map(|p| p.upn.as_str()),
            Some("user1@contoso.com")
        );
    }

    #[test]
    fn one_character_queries_use_the_byte_sets_exactly() {
        let mut q = QueueIndex::default();
        let mut people: Vec<Person> = (0..300).map(|i| person(i, PersonStatus::Ready)).collect();
        people[7].display_name = "Zoë Ünal".into();
        people[8].upn = "x.y@contoso.com".into();
        q.replace(people);
        for c in ["z", "7", "x", "ë", "ü", "@", ".", "q"] {
            q.set_query(c);
            let fast = q.matches().to_vec();
            let slow: Vec<u32> = (0..q.len() as u32)
                .filter(|&i| {
                    let p = q.person(i).unwrap();
                    format!("{}\u{1f}{}", p.display_name, p.upn)
                        .to_lowercase()
                        .contains(c)
                })
                .collect();
            assert_eq!(fast, slow, "query {c:?}");
            q.set_query("");
        }
    }

    #[test]
    fn backspace_restores_what_a_rescan_finds() {
        let mut q = QueueIndex::default();
        q.replace((0..1000).map(|i| person(i, PersonStatus::Ready)).collect());
        for typed in [
            "u", "us", "use", "user", "user1", "user12", "user1", "user", "user9",
        ] {
            q.set_query(typed);
            q.update(person(1000 + typed.len(), PersonStatus::Waiting));
            let kept = q.matches().to_vec();
            let mut fresh = QueueIndex::default();
            fresh.replace(q.people.clone());
            fresh.set_query(typed);
            assert_eq!(kept, fresh.matches(), "query {typed:?}");
        }
        q.set_query("");
        assert_eq!(q.matches().len(), q.len());
    }

    #[test]
    fn update_keeps_counts_and_matches() {
        let mut q = QueueIndex::default();
        q.replace(vec![person(1, PersonStatus::Waiting)]);
        q.set_query("number");
        q.update(person(1, PersonStatus::Enrolled));
        q.update(person(2, PersonStatus::Failed));
        assert_eq!(q.counts().enrolled, 1);
        assert_eq!(q.counts().failed, 1);
        assert_eq!(q.counts().waiting, 0);
        assert_eq!(q.matches(), &[0, 1]);
    }

    #[test]
    fn scan_resolves_upn_user_part_and_id() {
        let mut q = QueueIndex::default();
        q.replace((0..20).map(|i| person(i, PersonStatus::Ready)).collect());
        assert_eq!(
            q.resolve_scan("USER7").map(|p| p.user_id.as_str()),
            Some("id-7")
        );
        assert_eq!(
            q.resolve_scan("id-3").map(|p| p.user_id.as_str()),
            Some("id-3")
        );
        assert!(q.resolve_scan("nobody").is_none());
    }
}
