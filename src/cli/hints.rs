//! The hints the command line adds to domain messages: which `presswire`
//! command to run next. The domain's own wording names no command (the web
//! pages show the same errors in their own words); only here is it said.

use crate::error::{kind_of, ErrorKind, HasKind};
use crate::send::worker::Pause;

/// An error with the command line's hint added: its whole message (the
/// error chain, then the hint) and the kind of the error it came from.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    message: String,
    kind: ErrorKind,
}

impl HasKind for Hinted {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// `err` with the hint of the first error in its chain that has one.
pub fn add(err: anyhow::Error) -> anyhow::Error {
    let Some(hint) = err.chain().find_map(hint_for) else {
        return err;
    };
    let kind = kind_of(&err);
    Hinted {
        message: format!("{err:#}{hint}"),
        kind,
    }
    .into()
}

/// The hint for one error, starting with its separator.
fn hint_for(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use crate::send::Error as SendError;
    let no_such_send = "; `presswire sends` lists them".to_string();
    if let Some(e) = e.downcast_ref::<SendError>() {
        return match e {
            SendError::NoSuchSend(_) => Some(no_such_send),
            SendError::Paused { send, .. } => Some(resume_after_fix(*send)),
            _ => None,
        };
    }
    match e.downcast_ref::<crate::report::Error>() {
        Some(crate::report::Error::NoSuchSend(_)) => Some(no_such_send),
        _ => None,
    }
}

fn resume_after_fix(send: i64) -> String {
    format!("; `presswire sends resume {send}` continues it then")
}

/// What a paused run prints: the pause, and what to run.
pub fn pause(p: &Pause) -> String {
    let send = p.send();
    match p {
        Pause::DailyCap { .. } => {
            format!("{p} (`presswire worker`, or `presswire sends resume {send}`)")
        }
        Pause::RelayDown { .. } => format!("{p}. Check it, then `presswire sends resume {send}`"),
        Pause::Refused { .. } => format!("{p}{}", resume_after_fix(send)),
    }
}
