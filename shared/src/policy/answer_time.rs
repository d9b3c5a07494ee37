//! Answers that must not tell an existing account from an unknown one also take the same
//! time. Supabase Auth compares a password hash only for an address it knows, and sends
//! an email only to an address that may receive one, so the time of a failed sign-in or
//! of a sign-up, magic-link or recovery request would tell an observer which addresses
//! have accounts. Those answers leave at `AUTH_ANSWER_FLOOR_MS` after the request arrived
//! (default [`crate::config::DEFAULT_AUTH_ANSWER_FLOOR_MS`]), above the slow path; an
//! answer slower than that (an overloaded Supabase Auth) waits for the next multiple, so
//! it tells at most which multiple it landed on. The cost is that wait, on these answers
//! only (a function sleeping is billed for its time).

use std::time::{Duration, Instant};

/// When an answer that started at `started` may leave, for `floor`: the first multiple
/// of the floor not before now (now itself when the floor is zero).
pub fn release_after(elapsed: Duration, floor: Duration) -> Duration {
    if floor.is_zero() {
        return elapsed;
    }
    let floors = elapsed.as_nanos().div_ceil(floor.as_nanos()).max(1);
    floor * u32::try_from(floors).unwrap_or(u32::MAX)
}

/// Waits until the answer to a request that arrived at `started` may leave.
pub async fn level(app: &crate::clients::App, started: Instant) {
    let elapsed = started.elapsed();
    let release = release_after(elapsed, app.config.auth_answer_floor);
    if let Some(wait) = release.checked_sub(elapsed).filter(|w| !w.is_zero()) {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_leave_on_a_multiple_of_the_floor() {
        let ms = Duration::from_millis;
        assert_eq!(release_after(ms(3), ms(1000)), ms(1000));
        assert_eq!(release_after(ms(999), ms(1000)), ms(1000));
        assert_eq!(release_after(ms(1000), ms(1000)), ms(1000));
        assert_eq!(release_after(ms(1001), ms(1000)), ms(2000));
        assert_eq!(release_after(ms(0), ms(1000)), ms(1000));
        assert_eq!(release_after(ms(250), Duration::ZERO), ms(250));
    }
}
