//! The simulated network link's view of one stream, shared by the client and the intake.

/// One stream as the link and the intake see it (the core keeps its own view).
#[derive(Clone, Debug)]
pub(crate) struct LinkStream {
    /// The core's stream id.
    pub id: u64,
    /// The intake it goes to.
    pub intake: u8,
    /// The intake accepted it.
    pub accepted: bool,
    /// The intake ended it (it went down).
    pub dead: bool,
    /// Accepted by a silent intake: never acknowledged.
    pub wedged: bool,
    /// Arrival time of the last message towards the intake (messages stay in order).
    pub up_free: u64,
    /// Arrival time of the last message towards the client.
    pub down_free: u64,
}
