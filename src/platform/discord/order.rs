//! Answers in one channel (a DM is one) go out in the order the questions came.
//!
//! serenity runs every gateway event in a task of its own, so ten questions sent quickly are
//! handled at once and their answers race. The adapter runs serenity on a single-threaded
//! runtime ([`super::run`]), where tasks first run in the order they were spawned, i.e. the
//! order the gateway delivered the events; each handler takes a [`Ticket`] for its channel
//! before its first `await`, and a lane per channel then lets one turn at a time through,
//! ticket by ticket, until its answer is sent.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<u64, Lane>>,
    /// Woken whenever a lane is released or a ticket given up.
    released: Notify,
}

#[derive(Debug, Default)]
struct Lane {
    /// The next ticket number of this channel.
    next: u64,
    /// Tickets taken and not yet served.
    waiting: BTreeSet<u64>,
    busy: bool,
}

/// A place in a channel's queue, taken when the event arrives. Dropped unused (the turn
/// ended early), it gives its place up.
#[derive(Debug)]
pub struct Ticket<'a> {
    lanes: &'a Lanes,
    channel: u64,
    number: u64,
}

/// The lane of a channel, held while a turn runs and sends; released on drop.
#[derive(Debug)]
pub struct InLane<'a> {
    lanes: &'a Lanes,
    channel: u64,
}

impl Lanes {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Lane>> {
        match self.lanes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A place in `channel`'s queue, after every ticket taken before it. Take it before the
    /// handler's first `await`, so that arrival order is ticket order.
    pub fn ticket(&self, channel: u64) -> Ticket<'_> {
        let mut lanes = self.lock();
        let lane = lanes.entry(channel).or_default();
        let number = lane.next;
        lane.next += 1;
        lane.waiting.insert(number);
        Ticket {
            lanes: self,
            channel,
            number,
        }
    }

    /// Forgets a lane nobody holds or waits for.
    fn tidy(lanes: &mut HashMap<u64, Lane>, channel: u64) {
        if lanes
            .get(&channel)
            .is_some_and(|lane| !lane.busy && lane.waiting.is_empty())
        {
            lanes.remove(&channel);
        }
    }
}

impl<'a> Ticket<'a> {
    /// Waits until every earlier ticket of the channel is served, then holds the lane.
    pub async fn enter(self) -> InLane<'a> {
        let (lanes, channel, number) = (self.lanes, self.channel, self.number);
        loop {
            let released = lanes.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release between the two is not missed.
            released.as_mut().enable();
            {
                let mut map = lanes.lock();
                let lane = map.entry(channel).or_default();
                if !lane.busy && lane.waiting.first() == Some(&number) {
                    lane.busy = true;
                    lane.waiting.remove(&number);
                    // Served: nothing left for the ticket's drop to give up.
                    std::mem::forget(self);
                    return InLane { lanes, channel };
                }
            }
            released.await;
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        {
            let mut lanes = self.lanes.lock();
            if let Some(lane) = lanes.get_mut(&self.channel) {
                lane.waiting.remove(&self.number);
            }
            Lanes::tidy(&mut lanes, self.channel);
        }
        self.lanes.released.notify_waiters();
    }
}

impl Drop for InLane<'_> {
    fn drop(&mut self) {
        {
            let mut lanes = self.lanes.lock();
            if let Some(lane) = lanes.get_mut(&self.channel) {
                lane.busy = false;
            }
            Lanes::tidy(&mut lanes, self.channel);
        }
        self.lanes.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_of_a_channel_run_one_at_a_time_in_ticket_order() {
        // Leaked: the spawned turns borrow it for 'static.
        let lanes: &'static Lanes = Box::leak(Box::default());
        let done = Arc::new(Mutex::new(Vec::new()));
        let held = lanes.ticket(7).enter().await;
        // Tickets taken in arrival order; one is given up (its turn ended early); the tasks
        // start in reverse, as a scheduler may start them.
        let mut tickets: Vec<(usize, Ticket<'static>)> =
            (1..=6).map(|i| (i, lanes.ticket(7))).collect();
        tickets.retain(|(i, _)| *i != 3);
        tickets.reverse();
        let tasks: Vec<_> = tickets
            .into_iter()
            .map(|(i, ticket)| {
                let done = done.clone();
                tokio::spawn(async move {
                    let _lane = ticket.enter().await;
                    // Work that yields, where answers raced before.
                    tokio::task::yield_now().await;
                    done.lock().unwrap().push(i);
                })
            })
            .collect();
        // Another channel is not held up by this one.
        drop(lanes.ticket(8).enter().await);
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*done.lock().unwrap(), [1, 2, 4, 5, 6]);
        assert!(lanes.lock().is_empty(), "released lanes are forgotten");
    }
}
