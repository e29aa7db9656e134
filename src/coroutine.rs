//! Runs a pull-style body (symphonia's reader and decoder, which call `Read::read` for bytes)
//! on the thread that feeds it, as a stackful coroutine: when the body needs bytes that have not
//! arrived, it suspends, and the next [`Resumable::resume`] (after the next input buffer) goes
//! on where it stopped. This replaces a decoder thread and its two context switches per buffer.
//!
//! `corosensei` does the stack switching. This module holds all the `unsafe` the design needs:
//! suspending from deep inside the body through a [`Suspender`] that only stores a pointer to the
//! coroutine's yielder, and sending a suspended coroutine to another thread (GStreamer may call
//! the chain function from a different streaming thread after a restart).
//!
//! Work that never suspends but runs deep (decoding a packet: libopus and symphonia's AAC
//! decoder put about 90 KiB of arrays on the stack; building a decoder or a resampler) runs on a
//! stack lent from a process-wide pool by [`on_shared_stack`]. A coroutine's own stack then only
//! ever holds the reader's frames, 12 to 16 KiB resident instead of up to 104 KiB, and with
//! hundreds of live streams the deep pages exist once per concurrently decoding thread rather
//! than once per stream.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

/// Stack of each coroutine. It is reserved, not committed: only the pages the body touches
/// become resident (symphonia's deepest paths use well under 100 KiB). A guard page below it
/// turns an overflow into a crash, as for a thread's stack.
const STACK_SIZE: usize = 1 << 20;

/// Lent stacks kept for reuse; more are unmapped when given back. About as many are in use at
/// once as threads decode at once (the cores, plus threads preempted while decoding).
const MAX_SPARE_STACKS: usize = 16;

/// How many resumes `Drop` allows an aborted body to wind down before the coroutine is leaked.
const WIND_DOWN_RESUMES: usize = 64;

thread_local! {
    /// The coroutine running on this thread right now (innermost), to check `suspend` calls.
    static RUNNING: Cell<*const SuspendPoint> = const { Cell::new(ptr::null()) };
}

/// Where a running body suspends: its coroutine's yielder, set when the body starts.
struct SuspendPoint {
    yielder: AtomicPtr<Yielder<(), ()>>,
}

/// Suspends the body of one [`Resumable`] from anywhere in its call stack. It can be cloned and
/// stored (it is `Send + Sync`, as a `Read` source for symphonia must be), but suspending works
/// only on that coroutine's own stack while it runs; anywhere else it panics.
#[derive(Clone)]
pub struct Suspender(Arc<SuspendPoint>);

impl std::fmt::Debug for Suspender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Suspender")
            .field(&Arc::as_ptr(&self.0))
            .finish()
    }
}

impl Suspender {
    /// Returns control to the caller of `resume`; returns when the coroutine is resumed again.
    ///
    /// # Panics
    ///
    /// When called outside the body of its own coroutine (another thread, another coroutine,
    /// or after the body returned).
    pub fn suspend(&self) {
        let point = Arc::as_ptr(&self.0);
        assert!(
            RUNNING.with(Cell::get) == point,
            "Suspender::suspend called outside its coroutine"
        );
        let yielder = self.0.yielder.load(Ordering::Acquire);
        assert!(!yielder.is_null(), "the coroutine's body has not started");
        // SAFETY: `RUNNING` equals this coroutine's point only between the stack switch into it
        // and the switch back (see `Resumable::resume`), on this thread, and neither another
        // coroutine is resumed nor a lent stack entered from inside ours (either would have
        // replaced `RUNNING`). So we are on this coroutine's stack, inside its body, and the
        // yielder the body stored at its start is alive: it lives at the base of that stack
        // until the body returns.
        unsafe { (*yielder).suspend(()) }
    }
}

/// A body suspended between input buffers, or finished.
pub struct Resumable {
    /// Dropped by hand: see `Drop`.
    coroutine: ManuallyDrop<Coroutine<(), (), (), DefaultStack>>,
    point: Arc<SuspendPoint>,
}

// SAFETY: a coroutine may go to another thread when everything on its stack at a suspension
// is `Send` and nothing there refers to the old thread (corosensei's `Coroutine` docs). The
// closure must be `Send + 'static`. The one body in this crate (the decoder worker) holds
// symphonia readers and decoders (`Send + Sync` by their traits), its own state (`Send`) and
// `Arc`s, and suspends only in `StreamReader::read`, which releases its lock first, and in
// `EventQueue::stop_for_output`, which holds none: no lock guard, thread-local borrow or `Rc`
// lives across a suspension.
unsafe impl Send for Resumable {}

/// Sets `RUNNING` back to what it was when dropped, also when a panic unwinds through.
struct RestoreRunning(*const SuspendPoint);

impl Drop for RestoreRunning {
    fn drop(&mut self) {
        RUNNING.with(|running| running.set(self.0));
    }
}

/// Stacks not lent out at the moment.
static SPARE_STACKS: Mutex<Vec<DefaultStack>> = Mutex::new(Vec::new());

/// A stack from the pool, given back when dropped.
struct LentStack(Option<DefaultStack>);

impl Drop for LentStack {
    fn drop(&mut self) {
        if let Some(stack) = self.0.take() {
            let mut spare = SPARE_STACKS.lock().unwrap_or_else(|e| e.into_inner());
            if spare.len() < MAX_SPARE_STACKS {
                spare.push(stack);
            }
        }
    }
}

/// Runs `work` on a stack lent from a process-wide pool and returns its result; a panic in
/// `work` goes on to the caller, as if `work` had been called directly.
///
/// `work` must not suspend its coroutine: [`Suspender::suspend`] panics inside it (the
/// suspension would keep the lent stack busy, and the SAFETY argument of `suspend` needs the
/// coroutine's own stack). Without a stack to lend (mapping one failed), `work` runs where it is.
pub fn on_shared_stack<R>(work: impl FnOnce() -> R) -> R {
    let spare = SPARE_STACKS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let Some(stack) = spare.or_else(|| DefaultStack::new(STACK_SIZE).ok()) else {
        return work();
    };
    let mut lent = LentStack(Some(stack));
    let previous = RUNNING.with(|running| running.replace(ptr::null()));
    let _restore = RestoreRunning(previous);
    let stack = lent.0.as_mut().expect("the stack was just lent");
    corosensei::on_stack(stack, work)
}

impl Resumable {
    /// Prepares `body` on a fresh stack; it starts at the first `resume`.
    pub fn new<F>(body: F) -> std::io::Result<Resumable>
    where
        F: FnOnce(Suspender) + Send + 'static,
    {
        let stack = DefaultStack::new(STACK_SIZE)?;
        let point = Arc::new(SuspendPoint {
            yielder: AtomicPtr::new(ptr::null_mut()),
        });
        let suspender = Suspender(point.clone());
        let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
            suspender
                .0
                .yielder
                .store(ptr::from_ref(yielder).cast_mut(), Ordering::Release);
            body(suspender)
        });
        Ok(Resumable {
            coroutine: ManuallyDrop::new(coroutine),
            point,
        })
    }

    /// Runs the body until it suspends or returns. True when it has returned.
    pub fn resume(&mut self) -> bool {
        if self.coroutine.done() {
            return true;
        }
        let previous = RUNNING.with(|running| running.replace(Arc::as_ptr(&self.point)));
        // Restores `RUNNING` even if the body panics (the panic goes on to our caller).
        let _restore = RestoreRunning(previous);
        matches!(self.coroutine.resume(()), CoroutineResult::Return(()))
    }

    pub fn is_done(&self) -> bool {
        self.coroutine.done()
    }

    /// Resumes an owner-aborted body until it returns; false if it did not within the bound.
    pub fn wind_down(&mut self) -> bool {
        (0..WIND_DOWN_RESUMES).any(|_| self.resume())
    }
}

impl Drop for Resumable {
    fn drop(&mut self) {
        // The owner aborts its input before dropping, so a started body returns within a few
        // resumes. corosensei would otherwise unwind the suspended stack with a panic that the
        // body's own `catch_unwind` could swallow, which aborts the process: leak it instead.
        if self.coroutine.started() && !self.wind_down() {
            return;
        }
        // SAFETY: not started or returned, so dropping needs no unwinding; never used again.
        unsafe { ManuallyDrop::drop(&mut self.coroutine) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn body_suspends_deep_in_its_stack_and_resumes_where_it_stopped() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let body_log = log.clone();
        let mut resumable = Resumable::new(move |suspender| {
            fn deep(depth: u32, suspender: &Suspender, log: &Mutex<Vec<u32>>) {
                if depth == 0 {
                    for step in 0..3 {
                        log.lock().unwrap().push(step);
                        suspender.suspend();
                    }
                } else {
                    deep(depth - 1, suspender, log);
                }
            }
            deep(20, &suspender, &body_log);
        })
        .unwrap();
        assert!(!resumable.resume());
        assert_eq!(*log.lock().unwrap(), [0]);
        assert!(!resumable.resume());
        assert!(!resumable.resume());
        assert_eq!(*log.lock().unwrap(), [0, 1, 2]);
        assert!(
            resumable.resume(),
            "the body returns after its third suspension"
        );
        assert!(resumable.is_done());
        assert!(resumable.resume(), "resuming a finished body is a no-op");
    }

    #[test]
    fn a_suspended_body_moves_between_threads() {
        let mut resumable = Resumable::new(|suspender| {
            for _ in 0..4 {
                suspender.suspend();
            }
        })
        .unwrap();
        for _ in 0..4 {
            resumable = std::thread::spawn(move || {
                assert!(!resumable.resume());
                resumable
            })
            .join()
            .unwrap();
        }
        assert!(resumable.resume());
    }

    #[test]
    fn suspending_outside_the_body_panics() {
        let stolen = Arc::new(Mutex::new(None));
        let slot = stolen.clone();
        let mut resumable = Resumable::new(move |suspender| {
            *slot.lock().unwrap() = Some(suspender.clone());
            suspender.suspend();
        })
        .unwrap();
        assert!(!resumable.resume());
        let suspender = stolen.lock().unwrap().take().unwrap();
        let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            suspender.suspend();
        }));
        assert!(
            outside.is_err(),
            "suspend on the resumer's stack must panic"
        );
        assert!(resumable.resume());
    }

    #[test]
    fn a_panic_in_the_body_reaches_the_resumer_and_clears_the_running_mark() {
        let mut resumable = Resumable::new(|_| panic!("boom")).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resumable.resume()));
        assert!(caught.is_err());
        assert!(RUNNING.with(Cell::get).is_null());
    }

    #[test]
    fn dropping_a_suspended_body_that_will_not_end_leaks_it_without_aborting() {
        let mut resumable = Resumable::new(|suspender| {
            loop {
                suspender.suspend();
            }
        })
        .unwrap();
        assert!(!resumable.resume());
        drop(resumable);
    }

    /// Address of a local variable of the caller's frame: where its stack is right now.
    #[inline(never)]
    fn stack_address() -> usize {
        let local = 0u8;
        std::hint::black_box(ptr::from_ref(&local)) as usize
    }

    #[test]
    fn shared_stack_work_runs_off_the_coroutine_stack_and_returns_its_result() {
        let seen = Arc::new(Mutex::new(None));
        let slot = seen.clone();
        let mut resumable = Resumable::new(move |suspender| {
            let body = stack_address();
            let (work, sum) = on_shared_stack(|| (stack_address(), (1..=10u32).sum::<u32>()));
            *slot.lock().unwrap() = Some((body, work, sum));
            suspender.suspend();
        })
        .unwrap();
        assert!(!resumable.resume());
        let (body, work, sum) = seen.lock().unwrap().take().unwrap();
        assert_eq!(sum, 55);
        // The body runs near the top of its own stack mapping; the work on another mapping.
        assert!(
            !(body - STACK_SIZE..=body + 4096).contains(&work),
            "work at {work:#x} ran on the coroutine's stack (body at {body:#x})"
        );
        assert!(resumable.resume());
    }

    #[test]
    fn a_panic_on_a_shared_stack_reaches_the_caller_and_the_pool_still_works() {
        let caught = std::panic::catch_unwind(|| on_shared_stack(|| panic!("bad packet")));
        let payload = caught.expect_err("the panic goes on to the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"bad packet"));
        assert!(RUNNING.with(Cell::get).is_null());
        assert_eq!(on_shared_stack(|| 7), 7);
    }

    #[test]
    fn suspending_on_a_shared_stack_panics_and_the_body_goes_on() {
        let outcome = Arc::new(Mutex::new(None));
        let slot = outcome.clone();
        let mut resumable = Resumable::new(move |suspender| {
            let inside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                on_shared_stack(|| suspender.suspend())
            }));
            *slot.lock().unwrap() = Some(inside.is_err());
            // Back on its own stack, the body suspends as usual.
            suspender.suspend();
        })
        .unwrap();
        assert!(!resumable.resume());
        assert_eq!(*outcome.lock().unwrap(), Some(true));
        assert!(resumable.resume());
    }

    #[test]
    fn deep_work_on_shared_stacks_from_many_threads_at_once() {
        fn deep(depth: u32) -> u64 {
            let frame = std::hint::black_box([depth as u64; 64]);
            if depth == 0 {
                frame[0]
            } else {
                frame[1] + deep(depth - 1)
            }
        }
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| (0..50).map(|_| on_shared_stack(|| deep(500))).sum::<u64>())
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), 50 * (500 * 501 / 2));
        }
    }
}
