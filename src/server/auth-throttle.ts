// Failed admin-token attempts, per source: a budget and a log. A source (IPv4 address or IPv6 /64) may fail
// AUTH_FAILURES_PER_MINUTE times a minute (in a burst, then one every 60/N s); past that its requests get 429
// with Retry-After before the token is even looked at, so guessing runs at that pace whatever the token. The
// budget is the tracker's token bucket in small fixed tables (spoofed sources cannot grow memory). A correct
// token spends nothing.
//
// Logging: the first failure of each source in a period is logged (a warning with the address that failed,
// never the token), further failures and refusals only counted, and one summary line ends a period that had any: a
// flood writes a line a minute, not a line a request.

import { formatIp } from "../codec/ip.ts";
import { RateLimiter } from "../core/rate-limit.ts";
import type { Logger } from "./logger.ts";

export const AUTH_FAILURES_PER_MINUTE = 5;
/** Sources logged one by one per period; the rest go into the summary only. */
const MAX_LOGGED_SOURCES = 100;

export interface Source {
  ip: Uint8Array;
  len: 4 | 16;
}

export interface AuthThrottleOptions {
  log: Logger;
  /** Whole unix seconds. */
  now: () => number;
  seed: number;
  /** Logging period (default one minute). */
  periodMs?: number;
}

export class AuthThrottle {
  readonly #limiter: RateLimiter;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #periodMs: number;
  /** Sources already logged this period, and what was only counted. */
  readonly #logged = new Set<string>();
  #failures = 0;
  #refused = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(o: AuthThrottleOptions) {
    this.#limiter = new RateLimiter({
      perSecond: AUTH_FAILURES_PER_MINUTE / 60,
      burst: AUTH_FAILURES_PER_MINUTE,
      seed: o.seed,
      slots: 1 << 14,
    });
    this.#log = o.log;
    this.#now = o.now;
    this.#periodMs = o.periodMs ?? 60_000;
  }

  /** Seconds the source must wait before its token is checked again; 0: check it now. */
  retryAfter(source: Source): number {
    const wait = this.#limiter.wait(source.ip, source.len, this.#now());
    if (wait > 0) {
      this.#refused++;
      this.#startPeriod();
    }
    return wait;
  }

  /** The source sent a missing or wrong token: spend from its budget, and log. */
  failed(source: Source, method: string): void {
    this.#limiter.allow(source.ip, source.len, this.#now());
    this.#startPeriod();
    const key = sourceKey(source);
    if (this.#logged.size < MAX_LOGGED_SOURCES && !this.#logged.has(key)) {
      this.#logged.add(key);
      this.#log.warn("admin: authentication failed", {
        source: formatIp(source.ip, 0, source.len),
        method,
        budget_per_minute: AUTH_FAILURES_PER_MINUTE,
      });
    } else this.#failures++;
  }

  /** Logs the summary of the open period now (at shutdown). */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#failures > 0 || this.#refused > 0) {
      this.#log.warn("admin: more authentication failures", {
        period_s: this.#periodMs / 1000,
        sources_logged: this.#logged.size,
        failures_not_logged: this.#failures,
        refused_429: this.#refused,
      });
    }
    this.#logged.clear();
    this.#failures = 0;
    this.#refused = 0;
  }

  #startPeriod(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => this.flush(), this.#periodMs);
    this.#timer.unref();
  }
}

/** What the budget counts as one source: the IPv4 address, or the IPv6 /64 (as for the rate limit). */
function sourceKey(s: Source): string {
  if (s.len === 4) return formatIp(s.ip, 0, 4);
  const prefix = new Uint8Array(16);
  prefix.set(s.ip.subarray(0, 8));
  return `${formatIp(prefix, 0, 16)}/64`;
}
