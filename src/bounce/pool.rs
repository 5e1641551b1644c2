//! Reading many messages on every core, in order: `bounces inspect` and
//! `bounces import` parse each message on a pool of worker threads and
//! take the results back in the order the messages came, so the output is
//! the same as one thread's. At most a bounded number of messages is in
//! flight (read, being parsed, or parsed and waiting for its turn), so a
//! large folder is never read in whole.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

/// Messages in flight per worker: enough that a slow message does not
/// stall the others, few enough that memory stays small.
const AHEAD_PER_WORKER: usize = 16;

/// The number of workers: one per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Applies `f` to every item of `items` on `workers` threads and hands
/// the results to `sink` in the items' order, on the calling thread. The
/// items are taken from the iterator on a thread of their own, at most
/// `AHEAD_PER_WORKER` per worker ahead of `sink`. The first error of
/// `sink` stops the work and is returned.
pub fn in_order<T, R, E>(
    items: impl Iterator<Item = T> + Send,
    workers: usize,
    f: impl Fn(T) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    R: Send,
{
    let workers = workers.max(1);
    if workers == 1 {
        return items.map(f).try_for_each(sink);
    }
    let ahead = workers * AHEAD_PER_WORKER;
    // Each item travels to a worker with the sending half of its own
    // one-result channel; the receiving half goes to `sink`'s side in
    // order, so `sink` waits for exactly the next result.
    let (work_tx, work_rx) = sync_channel::<(T, SyncSender<R>)>(ahead);
    let (order_tx, order_rx) = sync_channel::<Receiver<R>>(ahead);
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|s| {
        s.spawn(move || {
            for item in items {
                let (tx, rx) = sync_channel(1);
                if order_tx.send(rx).is_err() || work_tx.send((item, tx)).is_err() {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let (work_rx, f) = (&work_rx, &f);
            s.spawn(move || loop {
                // The lock is held only while taking the next item.
                let next = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((item, tx))) = next else { break };
                // After an error of `sink` nobody waits for the result; the
                // worker goes on draining until the reader stops.
                let _ = tx.send(f(item));
            });
        }
        let mut result = Ok(());
        for rx in &order_rx {
            // A worker that panicked drops its sender: nothing to hand on.
            let Ok(r) = rx.recv() else { break };
            if let Err(e) = sink(r) {
                result = Err(e);
                break;
            }
        }
        // Dropping the receivers makes the reader and the workers stop.
        drop(order_rx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_items_order() {
        let mut got = Vec::new();
        in_order(
            0..1000u64,
            4,
            |i| {
                // Uneven work, so workers finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((i * 7919) % 50));
                i * 2
            },
            |r| {
                got.push(r);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(got, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_of_the_sink_stops_the_work() {
        let mut seen = 0;
        let r = in_order(
            0..100_000u32,
            2,
            |i| i,
            |i| {
                seen += 1;
                if i == 10 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err(10));
        assert_eq!(seen, 11);
    }
}
