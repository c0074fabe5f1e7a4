// One boundary for every timer and socket callback. An exception that reaches it is a bug, not bad input (bad
// input is answered or dropped by the front ends): it is counted by place (for /metrics), logged at most once
// per place per LOG_EVERY_MS with the number held back, and the process keeps serving.

import { errorText, type Logger } from "./logger.ts";

const LOG_EVERY_MS = 60_000;

export class Faults {
  readonly #log: Logger;
  /** Unexpected throws since start, by place ("sweep", "udp handler", ...). */
  readonly counts = new Map<string, number>();
  readonly #loggedAt = new Map<string, number>();
  readonly #heldBack = new Map<string, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Records a throw that reached the boundary at `where`. */
  caught(where: string, err: unknown): void {
    this.counts.set(where, (this.counts.get(where) ?? 0) + 1);
    const now = performance.now();
    if (now - (this.#loggedAt.get(where) ?? -Infinity) < LOG_EVERY_MS) {
      this.#heldBack.set(where, (this.#heldBack.get(where) ?? 0) + 1);
      return;
    }
    this.#loggedAt.set(where, now);
    const since = this.#heldBack.get(where) ?? 0;
    this.#heldBack.delete(where);
    this.#log.error("unexpected error; still serving", {
      where,
      err: err instanceof Error ? (err.stack ?? err.message) : errorText(err),
      ...(since > 0 ? { alsoSinceLastLog: since } : {}),
    });
  }

  /** `fn` behind the boundary: a throw or a rejected promise is caught and recorded. */
  guard<A extends unknown[]>(where: string, fn: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => {
      try {
        const r = fn(...args);
        if (r instanceof Promise) r.catch((err) => this.caught(where, err));
      } catch (err) {
        this.caught(where, err);
      }
    };
  }

  /** setInterval behind the boundary, not holding the process open. */
  every(where: string, ms: number, fn: () => unknown): ReturnType<typeof setInterval> {
    const t = setInterval(this.guard(where, fn), ms);
    t.unref();
    return t;
  }

  /** setTimeout behind the boundary, not holding the process open. */
  after(where: string, ms: number, fn: () => unknown): ReturnType<typeof setTimeout> {
    const t = setTimeout(this.guard(where, fn), ms);
    t.unref();
    return t;
  }
}
