//! `usersToRegister.csv`: the proof of concept's step-1 output, one row per user.
//!
//! Header exactly `#User.Name,User.DisplayName,User.ID,Challenge,ChallengeExpiryTime,RP.ID`:
//! UPN, display name, Graph's base64url user handle, Graph's challenge, Graph's
//! `challengeTimeoutDateTime`, and `publicKey.rp.id`.

use std::io::{Read, Write};

/// The exact header line of the proof of concept.
pub const HEADER: [&str; 6] = [
    "#User.Name",
    "User.DisplayName",
    "User.ID",
    "Challenge",
    "ChallengeExpiryTime",
    "RP.ID",
];

/// One user ready for enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// `publicKey.user.name` (the UPN).
    pub upn: String,
    /// `publicKey.user.displayName`.
    pub display_name: String,
    /// `publicKey.user.id`: base64url user handle (not the object id).
    pub user_handle: String,
    /// `publicKey.challenge`, verbatim.
    pub challenge: String,
    /// `challengeTimeoutDateTime`, verbatim.
    pub challenge_expiry: String,
    /// `publicKey.rp.id`.
    pub rp_id: String,
}

/// A row that could not be read, with its line number so the operator can fix the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The first line is not the expected header.
    #[error("line 1: expected the header \"{}\", found \"{found}\"", HEADER.join(","))]
    Header {
        /// What was there.
        found: String,
    },
    /// A data row is malformed.
    #[error("line {line}: {problem}")]
    Row {
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong.
        problem: String,
    },
}

/// Writes the header and rows.
pub fn write<W: Write>(out: W, rows: &[UserRow]) -> csv::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    w.write_record(HEADER)?;
    for r in rows {
        w.write_record([
            &r.upn,
            &r.display_name,
            &r.user_handle,
            &r.challenge,
            &r.challenge_expiry,
            &r.rp_id,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads every row; a bad row is reported with its line and the others are still returned,
/// so one typo does not stop a whole enrollment day.
pub fn read<R: Read>(input: R) -> Result<(Vec<UserRow>, Vec<ReadError>), ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    match records.next() {
        Some(Ok(h)) if h.iter().map(str::trim).eq(HEADER) => {}
        Some(Ok(h)) => {
            return Err(ReadError::Header {
                found: h.iter().collect::<Vec<_>>().join(","),
            })
        }
        Some(Err(e)) => {
            return Err(ReadError::Header {
                found: e.to_string(),
            })
        }
        None => {
            return Err(ReadError::Header {
                found: String::new(),
            })
        }
    }
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for record in records {
        match record {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                if rec.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                match parse_row(&rec) {
                    Ok(row) => rows.push(row),
                    Err(problem) => errors.push(ReadError::Row { line, problem }),
                }
            }
            Err(e) => errors.push(ReadError::Row {
                line: e.position().map_or(0, |p| p.line()),
                problem: e.to_string(),
            }),
        }
    }
    Ok((rows, errors))
}

fn parse_row(rec: &csv::StringRecord) -> Result<UserRow, String> {
    if rec.len() != HEADER.len() {
        return Err(format!(
            "expected {} columns ({}), found {}",
            HEADER.len(),
            HEADER.join(","),
            rec.len()
        ));
    }
    let field = |i: usize| -> Result<String, String> {
        let v = rec.get(i).unwrap_or("").trim();
        if v.is_empty() && i != 1 {
            Err(format!(
                "column {} is empty",
                HEADER[i].trim_start_matches('#')
            ))
        } else {
            Ok(v.to_string())
        }
    };
    let row = UserRow {
        upn: field(0)?,
        display_name: field(1)?,
        user_handle: field(2)?,
        challenge: field(3)?,
        challenge_expiry: field(4)?,
        rp_id: field(5)?,
    };
    for (name, value) in [("User.ID", &row.user_handle), ("Challenge", &row.challenge)] {
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!("{name} is not base64url text"));
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32) -> UserRow {
        UserRow {
            upn: format!("user{n}@contoso.example"),
            display_name: format!("User, {n}"),
            user_handle: "T0Y6x-6HGXlU".into(),
            challenge: "ZXlKaGJHY2k".into(),
            challenge_expiry: "2026-08-23T10:15:00Z".into(),
            rp_id: "login.microsoft.com".into(),
        }
    }

    #[test]
    fn round_trip_with_exact_header() {
        let mut buf = Vec::new();
        write(&mut buf, &[row(1), row(2)]).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with(
            "#User.Name,User.DisplayName,User.ID,Challenge,ChallengeExpiryTime,RP.ID\n"
        ));
        // A comma in a display name is quoted, not a new column.
        assert!(text.contains("\"User, 1\""));
        let (rows, errors) = read(&buf[..]).unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows, vec![row(1), row(2)]);
    }

    #[test]
    fn bad_rows_are_named_and_the_rest_kept() {
        let text = format!(
            "{}\nu1@x,U1,AAA,BBB,2026-01-01T00:00:00Z,login.microsoft.com\nu2@x,U2,AAA\nu3@x,U3,A+A/=,BBB,t,login.microsoft.com\n\nu4@x,,AAA,BBB,t,login.microsoft.com\n",
            HEADER.join(",")
        );
        let (rows, errors) = read(text.as_bytes()).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.upn.as_str()).collect::<Vec<_>>(),
            ["u1@x", "u4@x"]
        );
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].starts_with("line 3:") && msgs[0].contains("found 3"),
            "{msgs:?}"
        );
        assert!(
            msgs[1].starts_with("line 4:") && msgs[1].contains("User.ID"),
            "{msgs:?}"
        );
    }

    #[test]
    fn wrong_header_is_refused() {
        let err = read("upn,methodId\n".as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("#User.Name"),
            "{err}"
        );
    }
}
