//! Generated people for the frame bench and the screenshots.

use crate::engine::api::{Person, PersonStatus};

/// People for the benchmark and screenshots: `n` generated names.
pub fn generated_people(n: usize, now: i64) -> Vec<Person> {
    const FIRST: [&str; 12] = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
        "Margaret", "Dennis",
    ];
    const LAST: [&str; 10] = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Hamilton",
    ];
    (0..n)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            Person {
                user_id: format!("{:08x}-0000-4000-8000-{:012x}", i, i),
                upn: format!("{}.{}{}@contoso.example", first, last, i).to_lowercase(),
                display_name: format!("{first} {last} {i}"),
                status: match i % 11 {
                    0 => PersonStatus::Enrolled,
                    1 => PersonStatus::Waiting,
                    7 => PersonStatus::Failed,
                    _ => PersonStatus::Ready,
                },
                challenge_expires_at: Some(now + 300 + (i as i64 % 5000)),
                elsewhere: None,
            }
        })
        .collect()
}
