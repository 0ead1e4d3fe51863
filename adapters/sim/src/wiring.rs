//! Where the intakes' decisions meet the clients' links: a crash cuts the streams, silence
//! wedges them, an open reply or an ack travels back over the link with its delay. The intakes
//! decide without touching a client; the clients' links change only here.

use crate::client::SimClient;
use crate::ctx::Ctx;
use crate::intake::{BatchRef, Intake, StreamsEvent};
use crate::queue::Event;

/// Whether stream `stream` of client `client` still stands and is acknowledged.
pub(crate) fn usable(clients: &[SimClient], client: u32, stream: u64) -> bool {
    clients[client as usize].links.iter().find(|l| l.id == stream).is_some_and(|l| !l.dead && !l.wedged)
}

/// Applies an intake's change to the streams it holds.
pub(crate) fn apply(event: StreamsEvent, now: u64, clients: &mut [SimClient], ctx: &mut Ctx) {
    match event {
        StreamsEvent::Cut { intake } => {
            for (id, client) in clients.iter_mut().enumerate() {
                let latency = client.latency_ms;
                for link in client.links.iter_mut().filter(|l| l.intake == intake && l.accepted && !l.dead) {
                    link.dead = true;
                    let arrive = (now + ctx.delay(latency)).max(link.down_free);
                    link.down_free = arrive;
                    ctx.queue.push(arrive, Event::StreamCut { client: id as u32, stream: link.id });
                }
            }
        }
        StreamsEvent::Wedged { intake } => {
            for client in clients.iter_mut() {
                for link in client.links.iter_mut().filter(|l| l.intake == intake && l.accepted) {
                    link.wedged = true;
                }
            }
        }
    }
}

/// An `OpenStream` of client `id` arrived at `intake`: its answer travels back.
pub(crate) fn open(
    intake: &mut Intake,
    now: u64,
    id: u32,
    client: &mut SimClient,
    stream: u64,
    ctx: &mut Ctx,
) {
    let latency = client.latency_ms;
    let Some(link) = client.link_mut(stream) else { return };
    let (outcome, wedged) = intake.open(now, ctx);
    if outcome == crate::queue::OpenOutcome::Opened {
        link.accepted = true;
        link.wedged = wedged;
    }
    let arrive = (now + ctx.delay(latency)).max(link.down_free);
    link.down_free = arrive;
    ctx.queue.push(arrive, Event::OpenReply { client: id, stream, outcome });
}

/// A batch of client `id` arrived at `intake`.
pub(crate) fn batch(
    intake: &mut Intake,
    now: u64,
    id: u32,
    clients: &[SimClient],
    batch: BatchRef,
    ctx: &mut Ctx,
) {
    intake.batch(now, id, batch, &|client, stream| usable(clients, client, stream), ctx);
}

/// `intake` processed its oldest batch (`BatchDone` of `epoch`): the records are written and,
/// unless the stream went silent or away, the ack travels back; then the next batch starts.
pub(crate) fn batch_done(
    intake: &mut Intake,
    now: u64,
    epoch: u32,
    clients: &mut [SimClient],
    records: u64,
    ctx: &mut Ctx,
) {
    let Some((id, batch)) = intake.finish(epoch) else { return };
    let client = &mut clients[id as usize];
    if client.link_mut(batch.stream).is_some_and(|l| l.wedged) {
        ctx.counters.batches_unanswered += 1;
    } else {
        client.deliver(now, batch.seq, records, ctx);
        let latency = client.latency_ms;
        if let Some(link) = client.link_mut(batch.stream)
            && !link.dead
        {
            let arrive = (now + ctx.delay(latency)).max(link.down_free);
            link.down_free = arrive;
            let ack = Event::AckArrive { client: id, stream: batch.stream, batch_id: batch.batch_id };
            ctx.queue.push(arrive, ack);
        }
    }
    intake.start_next(now, &|client, stream| usable(clients, client, stream), ctx);
}
