//! An intake's admission control of new streams, as the reference intake does it
//! (`stateful-logs intake --max-stream-opens-per-sec`): at most `capacity` opens start in each
//! second; one more is refused, and with pushback told to come back at the next slot not yet
//! promised, one `1 / capacity` s after the last, from the next second on. Refused openers
//! thus return at the rate the intake admits instead of all at once.
//!
//! Slots are promised, not held: an opener that comes back competes with the others in that
//! second. (Holding them would waste capacity on clients that ignore pushback, such as the
//! reference agent, and so would make the comparison unfair.)

/// The admission state of one intake.
#[derive(Clone, Debug)]
pub(crate) struct Admission {
    capacity: u32,
    pushback: bool,
    /// The current second and the opens admitted in it.
    second: u64,
    admitted: u32,
    /// The last slot promised, ns.
    promised_until_ns: u64,
}

impl Admission {
    /// `capacity` opens per second (at least 1); refusals promise a slot when `pushback`.
    pub(crate) fn new(capacity: u32, pushback: bool) -> Self {
        Admission { capacity: capacity.max(1), pushback, second: 0, admitted: 0, promised_until_ns: 0 }
    }

    /// An open at `now` (ms): `Ok` when admitted, else the pushback (ms) it is told, if the
    /// intake sends pushback.
    pub(crate) fn admit(&mut self, now: u64) -> Result<(), Option<u32>> {
        if now / 1000 != self.second {
            self.second = now / 1000;
            self.admitted = 0;
        }
        if self.admitted < self.capacity {
            self.admitted += 1;
            return Ok(());
        }
        if !self.pushback {
            return Err(None);
        }
        let slot_ns = 1_000_000_000 / u64::from(self.capacity);
        let next_second_ns = (self.second + 1) * 1_000_000_000;
        self.promised_until_ns = self.promised_until_ns.max(next_second_ns - slot_ns) + slot_ns;
        let ms = self.promised_until_ns.div_ceil(1_000_000) - now;
        Err(Some(u32::try_from(ms).unwrap_or(u32::MAX)))
    }

    /// The intake restarted: it has promised nothing.
    pub(crate) fn forget(&mut self) {
        self.promised_until_ns = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_promised_successive_slots_from_the_next_second_on() {
        let mut admission = Admission::new(4, true);
        for _ in 0..4 {
            assert_eq!(admission.admit(200), Ok(()));
        }
        let waits: Vec<Option<u32>> = (0..5).map(|_| admission.admit(200).unwrap_err()).collect();
        assert_eq!(waits, [Some(800), Some(1_050), Some(1_300), Some(1_550), Some(1_800)]);
        // A new second admits again; once the promises are past, a refusal waits for the
        // next second only.
        assert_eq!(admission.admit(1_000), Ok(()));
        for _ in 0..4 {
            assert_eq!(admission.admit(10_000), Ok(()));
        }
        assert_eq!(admission.admit(10_000), Err(Some(1_000)));
    }

    #[test]
    fn without_pushback_a_refusal_promises_nothing() {
        let mut admission = Admission::new(1, false);
        assert_eq!(admission.admit(0), Ok(()));
        assert_eq!(admission.admit(10), Err(None));
        assert_eq!(admission.admit(1_000), Ok(()));
    }
}
