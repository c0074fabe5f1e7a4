// One connection to one engine node (Redis or Valkey), around Bun's RedisClient with our own guards (its
// reconnect logic has a history of bugs, see docs/cluster.md): no offline queue (a command while disconnected
// fails at once instead of waiting for the server to return), a timeout on every batch, and reconnection with
// backoff done here, at the sync's pace. Going down and coming back are each logged once, never per command.

import { RedisClient } from "bun";
import { errorText, type Logger } from "../logger.ts";

const BACKOFF_MIN_MS = 250;
/** Reconnection attempts back off up to this many sync periods (at least 1 s, at most 10 s) apart. */
const BACKOFF_MAX_PERIODS = 5;

/** An engine failure (the link is down, a batch failed or timed out): expected, logged once per outage. */
export class EngineDown extends Error {
  constructor(cause?: unknown) {
    super(cause === undefined ? "engine node down" : errorText(cause), { cause });
  }
}

export class EngineLink {
  /** The URL without credentials, for logs and metrics. */
  readonly name: string;
  readonly #url: string;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #backoffMaxMs: number;
  #client: RedisClient | null = null;
  #up = false;
  /** Whether the link has been down since start or since it was last up (logged once per outage). */
  #downLogged = false;
  #backoffMs = 0;
  #nextAttemptAt = 0;
  /** Batches that failed (connection lost, timeout, error reply). */
  errors = 0;
  /** Connections made (the first and every reconnection). */
  connects = 0;

  constructor(url: string, name: string, log: Logger, timeoutMs: number, syncMs: number) {
    this.#url = url;
    this.name = name;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
    this.#backoffMaxMs = Math.min(10_000, Math.max(1000, BACKOFF_MAX_PERIODS * syncMs));
  }

  get up(): boolean {
    return this.#up;
  }

  /**
   * The client, connecting first when the link is down and its backoff has passed. null while down. `fresh`
   * is set when this call made a new connection (the engine may have lost everything: publish again).
   */
  async client(): Promise<{ client: RedisClient; fresh: boolean } | null> {
    const current = this.#client;
    if (this.#up && current?.connected) return { client: current, fresh: false };
    if (this.#up) this.#down(new Error("connection closed"));
    if (performance.now() < this.#nextAttemptAt) return null;
    const client = new RedisClient(this.#url, {
      enableOfflineQueue: false,
      autoReconnect: false,
      connectionTimeout: this.#timeoutMs,
    });
    client.onclose = () => {
      if (this.#client === client) this.#up = false;
    };
    this.#client = client;
    try {
      await this.#bounded(client.connect());
    } catch (err) {
      this.#down(err);
      return null;
    }
    this.#up = true;
    this.#backoffMs = 0;
    this.connects++;
    if (this.#downLogged || this.connects > 1) this.#log.info("cluster: engine connected", { engine: this.name });
    this.#downLogged = false;
    return { client, fresh: true };
  }

  /** Runs one batch of commands (issued together: Bun pipelines them) within the timeout; EngineDown if not. */
  async batch<T>(work: Promise<T>): Promise<T> {
    try {
      return await this.#bounded(work);
    } catch (err) {
      this.#down(err);
      throw new EngineDown(err);
    }
  }

  close(): void {
    const c = this.#client;
    this.#client = null;
    this.#up = false;
    try {
      c?.close();
    } catch {
      // closing a client that never connected
    }
  }

  #bounded<T>(work: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** A failure: drop the connection and retry later, with a longer wait each time in a row. */
  #down(err: unknown): void {
    this.errors++;
    const c = this.#client;
    this.#client = null;
    this.#up = false;
    try {
      c?.close();
    } catch {
      // already closed
    }
    this.#backoffMs = Math.min(this.#backoffMaxMs, Math.max(BACKOFF_MIN_MS, this.#backoffMs * 2));
    this.#nextAttemptAt = performance.now() + this.#backoffMs;
    if (!this.#downLogged) {
      this.#downLogged = true;
      this.#log.warn("cluster: engine unreachable; serving the local view and retrying", {
        engine: this.name,
        err: errorText(err),
      });
    }
  }
}
