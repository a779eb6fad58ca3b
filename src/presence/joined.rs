//! Which names this client may have joined, so that it never sends a leave for a channel or
//! group it never joined (PubNub's SDKs do not either).
//!
//! A name counts as joined from the moment a request that joins it (a handshake, a heartbeat)
//! is sent, because the service may have acted on it even if its answer is lost: a handshake
//! in flight when the app unsubscribes, or one whose answer a black hole swallowed, is still
//! followed by a leave. A name stops counting when the service *refused* every request that
//! named it (a 4xx answer such as Access Manager's 403) and none succeeded, and when a leave
//! for it is queued. So a handshake refused with 403 and then `close()` send no leave.
//!
//! The rules are a small pure value with a table test; the effects only report what happened.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use crate::engine::Input;
use crate::error::Error;

/// What the service told us about a joining request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It answered with success: the names are joined.
    Joined,
    /// It answered with a refusal (4xx): the request did not join anything.
    Refused,
    /// No answer, or one that says nothing either way (a timeout, a 5xx, garbage): the service
    /// may have acted on it.
    Unknown,
}

impl Outcome {
    /// The outcome of a request that ended with `result`.
    pub(crate) fn of<T>(result: &Result<T, Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Joined,
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) && !e.is_transient() => {
                Outcome::Refused
            }
            Err(_) => Outcome::Unknown,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Names {
    /// A request naming them succeeded.
    confirmed: BTreeSet<String>,
    /// A request naming them was sent; no success and no refusal yet.
    pending: BTreeSet<String>,
}

impl Names {
    fn sent<'a>(&mut self, names: impl Iterator<Item = &'a String>) {
        for name in names {
            if !self.confirmed.contains(name) {
                self.pending.insert(name.clone());
            }
        }
    }

    fn answered<'a>(&mut self, names: impl Iterator<Item = &'a String>, outcome: Outcome) {
        for name in names {
            match outcome {
                Outcome::Joined => {
                    self.pending.remove(name);
                    self.confirmed.insert(name.clone());
                }
                Outcome::Refused => {
                    self.pending.remove(name);
                }
                Outcome::Unknown => {}
            }
        }
    }

    /// Takes out the names of `wanted` that may be joined.
    fn take(&mut self, wanted: &BTreeSet<String>) -> BTreeSet<String> {
        wanted
            .iter()
            .filter(|name| self.confirmed.remove(*name) | self.pending.remove(*name))
            .cloned()
            .collect()
    }
}

/// The names a leave may be sent for: channels and groups, kept apart.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    inner: Mutex<(Names, Names)>,
}

impl Joined {
    fn with<R>(&self, f: impl FnOnce(&mut Names, &mut Names) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (channels, groups) = &mut *guard;
        f(channels, groups)
    }

    /// A joining request for `input` is being sent.
    pub(crate) fn sent(&self, input: &Input) {
        self.with(|channels, groups| {
            channels.sent(input.channels.iter());
            groups.sent(input.groups.iter());
        });
    }

    /// The joining request for `input` ended with `outcome`.
    pub(crate) fn answered(&self, input: &Input, outcome: Outcome) {
        self.with(|channels, groups| {
            channels.answered(input.channels.iter(), outcome);
            groups.answered(input.groups.iter(), outcome);
        });
    }

    /// The part of `input` a leave should be sent for, forgotten from now on (a later join
    /// records the names again).
    pub(crate) fn leave(&self, input: &Input) -> Input {
        self.with(|channels, groups| {
            Input::from_sets(channels.take(&input.channels), groups.take(&input.groups))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn outcomes_of_answers() {
        let refused = Error::answer(ErrorKind::AccessDenied, 403, "Forbidden");
        let bad = Error::answer(ErrorKind::Http { status: 400 }, 400, "Invalid");
        let busy = Error::answer(ErrorKind::Http { status: 429 }, 429, "Too many");
        let timeout = Error::answer(ErrorKind::Http { status: 408 }, 408, "Timeout");
        let down = Error::answer(ErrorKind::Http { status: 503 }, 503, "Down");
        let silent = Error::new(ErrorKind::Timeout, "timed out");
        let cases: [(Result<(), Error>, Outcome); 7] = [
            (Ok(()), Outcome::Joined),
            (Err(refused), Outcome::Refused),
            (Err(bad), Outcome::Refused),
            (Err(busy), Outcome::Unknown),
            (Err(timeout), Outcome::Unknown),
            (Err(down), Outcome::Unknown),
            (Err(silent), Outcome::Unknown),
        ];
        for (i, (result, expected)) in cases.iter().enumerate() {
            assert_eq!(Outcome::of(result), *expected, "case {i}");
        }
    }

    /// One step of a case: `s` sent, `j` joined, `r` refused, `u` unknown, and the names.
    type Step<'a> = (&'a str, &'a [&'a str]);

    /// (steps, leave asked for, leave sent).
    #[test]
    fn a_leave_names_only_what_may_have_been_joined() {
        let table: &[(&[Step], &[&str], &[&str])] = &[
            (&[], &["a"], &[]),
            (&[("s", &["a"])], &["a"], &["a"]),
            (&[("s", &["a"]), ("u", &["a"])], &["a"], &["a"]),
            (&[("s", &["a"]), ("r", &["a"])], &["a"], &[]),
            (
                &[("s", &["a", "b"]), ("j", &["a", "b"])],
                &["a", "b", "c"],
                &["a", "b"],
            ),
            // Joined once, then a later request refused: it was joined, so leave it.
            (
                &[("s", &["a"]), ("j", &["a"]), ("s", &["a"]), ("r", &["a"])],
                &["a"],
                &["a"],
            ),
            // Refused, then joined by a later request.
            (
                &[("s", &["a"]), ("r", &["a"]), ("s", &["a"]), ("j", &["a"])],
                &["a"],
                &["a"],
            ),
            // Two requests in flight, one refused: the service refuses a name the same way twice.
            (&[("s", &["a"]), ("s", &["a"]), ("r", &["a"])], &["a"], &[]),
        ];
        for (i, (steps, asked, sent)) in table.iter().enumerate() {
            let joined = Joined::default();
            for (step, names) in steps.iter() {
                let input = Input::channels(names.iter().copied());
                match *step {
                    "s" => joined.sent(&input),
                    "j" => joined.answered(&input, Outcome::Joined),
                    "r" => joined.answered(&input, Outcome::Refused),
                    "u" => joined.answered(&input, Outcome::Unknown),
                    other => unreachable!("{other}"),
                }
            }
            let channels = |names: &[&str]| Input::channels(names.iter().copied());
            assert_eq!(joined.leave(&channels(asked)), channels(sent), "case {i}");
        }
    }

    #[test]
    fn a_name_left_is_forgotten_until_joined_again() {
        let joined = Joined::default();
        let input = Input::new(["a"], ["g"]);
        joined.sent(&input);
        joined.answered(&input, Outcome::Joined);
        assert_eq!(joined.leave(&input), input);
        assert!(joined.leave(&input).is_empty());
        joined.sent(&input);
        assert_eq!(joined.leave(&Input::new(["a", "b"], ["g", "h"])), input);
    }

    #[test]
    fn channels_and_groups_are_kept_apart() {
        let joined = Joined::default();
        joined.sent(&Input::new(["x"], Vec::<String>::new()));
        assert_eq!(
            joined.leave(&Input::new(["x"], ["x"])),
            Input::new(["x"], Vec::<String>::new())
        );
    }
}
