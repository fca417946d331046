//! The kiosk's *Print letter*: the PIN letter of a finished job, rendered from what the
//! journal holds (the random PIN stays there until it is handed over) and piped to
//! `letter.printCommand` on a thread of its own, never on the engine's loop. The answer is
//! [`Event::LetterPrinted`].

use zeroize::Zeroizing;

use super::api::{Event, JobId, OperatorError, Remedy};
use super::core::Emitter;
use super::steps::Shared;
use crate::config::PinDelivery;
use crate::store::{EnrollmentState, Journal};

/// What one letter needs. Holds the PIN: no `Debug`.
pub struct Letter {
    display_name: String,
    upn: String,
    serial: Option<String>,
    pin: Zeroizing<String>,
}

fn refused(message: String, remedy: Remedy) -> Box<OperatorError> {
    Box::new(OperatorError {
        code: "print-letter".into(),
        message,
        remedy,
        request_id: None,
        retry_possible: false,
    })
}

/// The letter of `job` (for `user_id`): its person, key and the PIN the journal still holds.
pub fn letter_of(
    journal: &Journal,
    shared: &Shared,
    job: JobId,
    user_id: Option<&str>,
) -> Result<Letter, Box<OperatorError>> {
    if shared.config.pin_delivery() != PinDelivery::Letter {
        return Err(refused(
            "PIN letters are not enabled at this station".into(),
            Remedy::Administrator("set \"pinDelivery\": \"letter\" in the station's configuration"),
        ));
    }
    let unknown = || {
        refused(
            format!("job {} has no PIN to print", job.0),
            Remedy::Text("hand the PIN over from the screen".into()),
        )
    };
    let user_id = user_id.ok_or_else(unknown)?;
    let journal_error = |e: crate::store::StoreError| {
        refused(
            format!("the journal could not be read: {e}"),
            Remedy::CheckJournal,
        )
    };
    let enrollment = journal
        .enrollments_of(user_id)
        .map_err(journal_error)?
        .into_iter()
        .rev()
        .find(|e| e.state == EnrollmentState::Recorded)
        .ok_or_else(unknown)?;
    let pin = enrollment.pin.clone().ok_or_else(|| {
        refused(
            format!(
                "the PIN of {} is no longer held by the station",
                enrollment.upn
            ),
            Remedy::Text("hand the PIN over from the screen".into()),
        )
    })?;
    let display_name = journal
        .queued_user(user_id)
        .map_err(journal_error)?
        .map_or_else(|| enrollment.upn.clone(), |u| u.display_name);
    Ok(Letter {
        display_name,
        upn: enrollment.upn,
        serial: enrollment.serial,
        pin,
    })
}

/// Prints `letter` in `language` on a thread of its own and reports how it went; a letter
/// that could not be made is reported at once.
pub fn start(
    job: JobId,
    letter: Result<Letter, Box<OperatorError>>,
    shared: &Shared,
    emitter: &Emitter,
    language: String,
) {
    let letter = match letter {
        Ok(letter) => letter,
        Err(error) => {
            emitter.emit(Event::LetterPrinted {
                job,
                error: Some(*error),
            });
            return;
        }
    };
    let settings = shared.config.letter.clone();
    let events = emitter.clone();
    let spawned = std::thread::Builder::new()
        .name("print-letter".into())
        .spawn(move || {
            let fields = crate::letters::LetterFields {
                display_name: &letter.display_name,
                upn: &letter.upn,
                serial: letter.serial.as_deref(),
                pin: &letter.pin,
                date: crate::letters::today(),
            };
            let printed = crate::letters::render(&fields, &settings, &language)
                .and_then(|pdf| crate::letters::print(&settings.print_command, &pdf));
            let error = printed.err().map(|e| {
                *refused(
                    e.to_string(),
                    Remedy::Text(
                        "check the printer, then press Print letter again; or hand the PIN over \
                         from the screen"
                            .into(),
                    ),
                )
            });
            events.emit(Event::LetterPrinted { job, error });
        });
    if let Err(e) = spawned {
        emitter.emit(Event::LetterPrinted {
            job,
            error: Some(*refused(
                format!("cannot start printing ({e})"),
                Remedy::RestartStation,
            )),
        });
    }
}
