// A mutex in one Int32 of shared memory, for what threads (--workers) update together: a futex mutex that
// spins briefly (holders keep it for a few dozen nanoseconds, unless descheduled), then sleeps until the
// holder's unlock wakes it. A thread gives up after `patienceMs` (a worker terminated while holding one),
// and the caller decides what doing without it costs, rather than every thread hanging.

const FREE = 0;
const HELD = 1;
/** Held, and a thread may sleep on it: the unlock wakes the sleepers. */
const CONTENDED = 2;
const SPINS = 64;

/** Takes the lock at locks[i]; false when it stayed held for `patienceMs`. */
export function lock(locks: Int32Array, i: number, patienceMs: number): boolean {
  for (let k = 0; k < SPINS; k++) if (Atomics.compareExchange(locks, i, FREE, HELD) === FREE) return true;
  for (let k = 0; k < patienceMs; k++) {
    // Taken after a sleep, it stays CONTENDED: others may still sleep on it.
    if (Atomics.exchange(locks, i, CONTENDED) === FREE) return true;
    Atomics.wait(locks, i, CONTENDED, 1);
  }
  return false;
}

export function unlock(locks: Int32Array, i: number): void {
  if (Atomics.exchange(locks, i, FREE) === CONTENDED) Atomics.notify(locks, i);
}
