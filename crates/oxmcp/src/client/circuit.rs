//! [`CircuitBreaker`]: stops calling a server that keeps failing, and probes it later.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{CircuitOpen, Error, Result};

/// Stops sending requests to a server that keeps failing, then lets a probe through to
/// see whether it is back: the circuit breaker of the error-handling pattern of the same
/// name, given to [`ClientBuilder::circuit_breaker`](super::ClientBuilder::circuit_breaker)
/// (a [`Hub`](crate::server::compose::Hub) gives one to each back end).
///
/// - **Closed** (the start): requests go through. After `failure_threshold` failures in a
///   row (default 5), it **opens**.
/// - **Open**: every request fails at once, without reaching the server, with an error
///   whose [`circuit_open`](Error::circuit_open) says the server is unavailable and when
///   the next attempt is ([`CircuitOpen::retry_in`]). This lasts `open_for` (default 30 s).
/// - **Half-open**: after that, the next `half_open_probes` requests (default 1) go
///   through as probes while the others still fail at once. A probe that succeeds closes
///   the circuit; one that fails opens it again for another `open_for`. A probe waits
///   no longer than any request (the client's timeouts), so keep a timeout set.
///
/// A *failure* is the server not answering: a transport failure (it cannot be reached,
/// the connection is lost, an HTTP `5xx`), or a timeout. An answer is a success, even a
/// JSON-RPC error or a tool result with `isError`: the server chose to send it. A request
/// cancelled by the caller counts as neither.
///
/// Clones share one circuit: give clones of one breaker to the clients that reach the same
/// server (a hub keeps its back end's breaker across restarts). Settings changed on any
/// clone apply to all.
///
/// ```
/// use std::time::Duration;
/// use oxmcp::client::{CircuitBreaker, CircuitState, Client};
///
/// # async fn run() -> oxmcp::Result<()> {
/// let breaker = CircuitBreaker::new()
///     .failure_threshold(3)
///     .open_for(Duration::from_secs(10))
///     .half_open_probes(1);
/// let client = Client::builder()
///     .circuit_breaker(breaker.clone())
///     .connect_http("https://example.com/mcp")
///     .await?;
/// match client.list_tools(None).await {
///     Err(e) if e.circuit_open().is_some() => {
///         let open = e.circuit_open().unwrap();
///         eprintln!("server unavailable, next attempt in {:?}", open.retry_in());
///     }
///     other => drop(other),
/// }
/// assert!(matches!(breaker.state(), CircuitState::Closed | CircuitState::Open { .. } | CircuitState::HalfOpen));
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

/// Where a [`CircuitBreaker`] stands, from [`CircuitBreaker::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Requests go through.
    Closed,
    /// Requests fail at once until `retry_at`; the first request after it is a probe.
    Open {
        /// When the open period ends.
        retry_at: Instant,
    },
    /// Probes are in flight; the other requests fail at once until one of them answers.
    HalfOpen,
}

struct Shared {
    machine: Mutex<Machine>,
    /// Bumped at every change of state, for whoever waits for one (the hub).
    changed: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Policy {
    threshold: u32,
    open_for: Duration,
    probes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probes: u32 },
}

#[derive(Debug)]
struct Machine {
    policy: Policy,
    phase: Phase,
    /// Failures in a row (closed), or the ones that opened the circuit.
    failures: u32,
    /// Bumped at every change of phase but one (open to half-open, when no request is in
    /// flight): outcomes of requests let through in an earlier phase are ignored.
    generation: u64,
}

/// How a request let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The server answered (a result or an error it chose to send).
    Answered,
    /// The server did not answer: transport failure or timeout.
    Failed,
    /// The caller gave up (cancelled, dropped): says nothing about the server.
    Abandoned,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker::new()
    }
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let machine = self.shared.machine.lock().expect("circuit lock");
        f.debug_struct("CircuitBreaker")
            .field("failure_threshold", &machine.policy.threshold)
            .field("open_for", &machine.policy.open_for)
            .field("half_open_probes", &machine.policy.probes)
            .field("phase", &machine.phase)
            .finish()
    }
}

impl CircuitBreaker {
    /// A closed circuit that opens after 5 failures in a row, for 30 s, then lets one
    /// probe through.
    pub fn new() -> Self {
        CircuitBreaker {
            shared: Arc::new(Shared {
                machine: Mutex::new(Machine {
                    policy: Policy {
                        threshold: 5,
                        open_for: Duration::from_secs(30),
                        probes: 1,
                    },
                    phase: Phase::Closed,
                    failures: 0,
                    generation: 0,
                }),
                changed: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// How many failures in a row open the circuit (default 5; at least 1).
    pub fn failure_threshold(self, failures: u32) -> Self {
        self.policy(|p| p.threshold = failures.max(1))
    }

    /// How long the circuit stays open before a probe goes through (default 30 s).
    pub fn open_for(self, period: Duration) -> Self {
        self.policy(|p| p.open_for = period)
    }

    /// How many requests go through at once as probes when the open period is over
    /// (default 1; at least 1).
    pub fn half_open_probes(self, probes: u32) -> Self {
        self.policy(|p| p.probes = probes.max(1))
    }

    fn policy(self, change: impl FnOnce(&mut Policy)) -> Self {
        change(&mut self.shared.machine.lock().expect("circuit lock").policy);
        self
    }

    /// Where the circuit stands now. An open circuit whose `retry_at` has passed lets the
    /// next request through as a probe.
    pub fn state(&self) -> CircuitState {
        match self.shared.machine.lock().expect("circuit lock").phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } => CircuitState::Open { retry_at: until },
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Lets a request through (the permit says how it ended), or refuses it with the
    /// error that says the server is unavailable.
    pub(crate) fn admit(&self) -> Result<Permit> {
        let admitted = self
            .shared
            .machine
            .lock()
            .expect("circuit lock")
            .admit(Instant::now());
        match admitted {
            Ok((generation, probe)) => Ok(Permit {
                breaker: self.clone(),
                generation,
                probe,
                done: false,
            }),
            Err(open) => Err(Error::unavailable(open)),
        }
    }

    /// A receiver told of every change of state.
    #[cfg_attr(not(feature = "server"), allow(dead_code))] // for the hub
    pub(crate) fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    fn record(&self, generation: u64, probe: bool, outcome: Outcome) {
        let changed = self.shared.machine.lock().expect("circuit lock").record(
            generation,
            probe,
            outcome,
            Instant::now(),
        );
        if changed {
            self.shared.changed.send_modify(|n| *n += 1);
        }
    }
}

impl Machine {
    /// `Ok((generation, probe))` for a request let through, else why not.
    fn admit(&mut self, now: Instant) -> Result<(u64, bool), CircuitOpen> {
        match self.phase {
            Phase::Closed => Ok((self.generation, false)),
            Phase::Open { until } if now < until => Err(CircuitOpen::new(self.failures, until)),
            Phase::Open { .. } => {
                self.phase = Phase::HalfOpen { probes: 1 };
                Ok((self.generation, true))
            }
            Phase::HalfOpen { probes } if probes < self.policy.probes => {
                self.phase = Phase::HalfOpen { probes: probes + 1 };
                Ok((self.generation, true))
            }
            Phase::HalfOpen { .. } => Err(CircuitOpen::probing(self.failures)),
        }
    }

    /// Takes the outcome of a request let through in `generation`; whether the phase
    /// changed.
    fn record(&mut self, generation: u64, probe: bool, outcome: Outcome, now: Instant) -> bool {
        if generation != self.generation {
            return false;
        }
        match (self.phase, outcome) {
            (Phase::Closed, Outcome::Answered) => {
                self.failures = 0;
                false
            }
            (Phase::Closed, Outcome::Failed) => {
                self.failures += 1;
                if self.failures >= self.policy.threshold {
                    self.open(now);
                    return true;
                }
                false
            }
            (Phase::HalfOpen { .. }, Outcome::Answered) if probe => {
                self.phase = Phase::Closed;
                self.failures = 0;
                self.generation += 1;
                true
            }
            (Phase::HalfOpen { .. }, Outcome::Failed) if probe => {
                self.failures += 1;
                self.open(now);
                true
            }
            (Phase::HalfOpen { probes }, Outcome::Abandoned) if probe => {
                self.phase = Phase::HalfOpen {
                    probes: probes.saturating_sub(1),
                };
                false
            }
            _ => false,
        }
    }

    fn open(&mut self, now: Instant) {
        self.phase = Phase::Open {
            until: now + self.policy.open_for,
        };
        self.generation += 1;
    }
}

/// A request let through by a [`CircuitBreaker`]; dropped without
/// [`finish`](Permit::finish), it was abandoned (cancelled).
pub(crate) struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    probe: bool,
    done: bool,
}

impl Permit {
    /// Records how the request ended.
    pub(crate) fn finish<T>(mut self, result: &Result<T>) {
        let outcome = match result {
            Ok(_) => Outcome::Answered,
            Err(e) if e.is_cancelled() => Outcome::Abandoned,
            Err(e) if e.is_outage() => Outcome::Failed,
            Err(_) => Outcome::Answered,
        };
        self.done = true;
        self.breaker.record(self.generation, self.probe, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker
                .record(self.generation, self.probe, Outcome::Abandoned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(threshold: u32, probes: u32) -> Machine {
        Machine {
            policy: Policy {
                threshold,
                open_for: Duration::from_secs(10),
                probes,
            },
            phase: Phase::Closed,
            failures: 0,
            generation: 0,
        }
    }

    fn fail(m: &mut Machine, now: Instant) -> bool {
        let (generation, probe) = m.admit(now).expect("let through");
        m.record(generation, probe, Outcome::Failed, now)
    }

    #[test]
    fn opens_after_the_threshold_of_failures_in_a_row_only() {
        let now = Instant::now();
        let mut m = machine(3, 1);
        assert!(!fail(&mut m, now) && !fail(&mut m, now));
        // An answer (even an error the server sent) resets the count.
        let (g, p) = m.admit(now).unwrap();
        m.record(g, p, Outcome::Answered, now);
        assert!(!fail(&mut m, now) && !fail(&mut m, now));
        assert!(fail(&mut m, now), "the third failure in a row opens it");
        let open = m.admit(now).unwrap_err();
        assert_eq!(open.failures(), 3);
        assert_eq!(open.retry_at(), now + Duration::from_secs(10));
        assert!(m.admit(now + Duration::from_secs(9)).is_err());
    }

    #[test]
    fn half_open_lets_the_allowed_probes_through_then_closes_or_reopens() {
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        let mut m = machine(1, 2);
        let (stale, _) = m.admit(now).unwrap();
        assert!(fail(&mut m, now));
        let (g1, p1) = m.admit(later).unwrap();
        let (g2, p2) = m.admit(later).unwrap();
        assert!(p1 && p2, "two probes");
        assert!(m.admit(later).unwrap_err().is_probing(), "no third");
        // A request let through before the circuit opened says nothing now.
        assert!(!m.record(stale, false, Outcome::Answered, later));
        // A probe abandoned frees its place.
        assert!(!m.record(g2, p2, Outcome::Abandoned, later));
        let (g3, p3) = m.admit(later).unwrap();
        // One probe fails: open again for another period.
        assert!(m.record(g1, p1, Outcome::Failed, later));
        assert!(
            matches!(m.phase, Phase::Open { until } if until == later + Duration::from_secs(10))
        );
        assert!(
            !m.record(g3, p3, Outcome::Answered, later),
            "a probe of the past"
        );
        // The next probe answers: closed.
        let again = later + Duration::from_secs(10);
        let (g, p) = m.admit(again).unwrap();
        assert!(m.record(g, p, Outcome::Answered, again));
        assert_eq!(m.phase, Phase::Closed);
        assert!(m.admit(again).is_ok_and(|(_, probe)| !probe));
    }
}
