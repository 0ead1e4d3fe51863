//! The event queue: a min-heap on (time, sequence number), so events at the same millisecond
//! run in the order they were scheduled and a run is the same every time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// How an open attempt ended at the intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenOutcome {
    /// Accepted: the client may write.
    Opened,
    /// Over the intake's new-stream capacity: `UNAVAILABLE`, or with pushback
    /// `RESOURCE_EXHAUSTED` and `grpc-retry-pushback-ms`.
    Overloaded {
        /// The pushback, ms.
        pushback_ms: Option<u32>,
    },
    /// The intake is down: connection refused.
    Refused,
}

/// Something that happens at a point in simulated time. Streams are named by the core's
/// stream id (unique per client); intakes look up their side of a stream on the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The client's core starts (its first `OpenStream` is queued).
    Start { client: u32 },
    /// The client flushes one batch.
    Produce { client: u32 },
    /// A deadline of the client's core may be due.
    Timer { client: u32 },
    /// An `OpenStream` reaches the intake.
    OpenArrive { client: u32, stream: u64 },
    /// The intake's answer reaches the client.
    OpenReply { client: u32, stream: u64, outcome: OpenOutcome },
    /// A batch reaches the intake.
    BatchArrive { client: u32, stream: u64, batch_id: u32, seq: u64 },
    /// The intake finished processing the batch at the front of its queue.
    BatchDone { intake: u8, epoch: u32 },
    /// An ack reaches the client.
    AckArrive { client: u32, stream: u64, batch_id: u32 },
    /// The intake ended the stream (it went down); the error reaches the client.
    StreamCut { client: u32, stream: u64 },
    /// The client's close reaches the intake.
    CloseArrive { client: u32, stream: u64 },
    /// Step `index` of the scenario.
    Incident { index: usize },
    /// The clients stop producing.
    StopProducing,
    /// End of a simulated second: sample the fleet.
    Sample,
}

struct Entry {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending events.
#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
    processed: u64,
}

impl EventQueue {
    /// Schedules `event` at `at` (ms).
    pub(crate) fn push(&mut self, at: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, event });
    }

    /// The earliest event and its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, Event)> {
        let entry = self.heap.pop()?;
        self.processed += 1;
        Some((entry.at, entry.event))
    }

    /// Events handed out so far.
    pub(crate) fn processed(&self) -> u64 {
        self.processed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_come_out_in_scheduling_order() {
        let mut q = EventQueue::default();
        q.push(5, Event::Timer { client: 2 });
        q.push(3, Event::Timer { client: 1 });
        q.push(5, Event::Timer { client: 0 });
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                (3, Event::Timer { client: 1 }),
                (5, Event::Timer { client: 2 }),
                (5, Event::Timer { client: 0 })
            ]
        );
    }
}
