// The per-source request budget every front end consults first: the rate limiter, minus exempt networks
// (loopback by default: a local reverse proxy or health check must not be limited as one "client").

import type { CidrSet } from "../core/cidr.ts";
import type { RateLimiter } from "../core/rate-limit.ts";

export class SourceLimit {
  readonly limiter: RateLimiter;
  readonly #exempt: CidrSet | null;

  constructor(limiter: RateLimiter, exempt: CidrSet | null) {
    this.limiter = limiter;
    this.#exempt = exempt;
  }

  allow(ip: Uint8Array, len: 4 | 16, now: number): boolean {
    if (!this.limiter.enabled || this.#exempt?.has(ip, len)) return true;
    return this.limiter.allow(ip, len, now);
  }

  /** Seconds until a source over the limit has a request again (HTTP Retry-After). */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil(1 / this.limiter.perSecond));
  }
}

/** No limit (tests, tools). */
export const NO_LIMIT = { allow: () => true } as const;
