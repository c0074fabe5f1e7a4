// A WebTorrent-protocol test client over a real WebSocket: sends JSON, and hands out received messages in
// order, awaiting the next one (with a deadline) instead of sleeping.

import { latin1, sha1 } from "./http-client.ts";

export type Json = Record<string, unknown>;

export class WsClient {
  readonly socket: WebSocket;
  readonly #queue: Json[] = [];
  #waiter: ((m: Json) => void) | null = null;
  /** Resolves with the close code when the server (or we) close the connection. */
  readonly closed: Promise<number>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as Json;
      if (this.#waiter !== null) {
        const w = this.#waiter;
        this.#waiter = null;
        w(m);
      } else this.#queue.push(m);
    };
    this.closed = new Promise((resolve) => socket.addEventListener("close", (e) => resolve(e.code)));
  }

  static open(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new WsClient(socket));
      socket.onerror = () => reject(new Error(`cannot open ${url}`));
    });
  }

  send(m: Json | string): void {
    this.socket.send(typeof m === "string" ? m : JSON.stringify(m));
  }

  /** The next message, or a rejection after `ms`. */
  next(ms = 5000): Promise<Json> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`no message within ${ms} ms`));
      }, ms);
      this.#waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  /** Messages received and not yet taken. */
  get pending(): number {
    return this.#queue.length;
  }

  close(): void {
    this.socket.close();
  }
}

/** A 20-char binary string per label (SHA-1 bytes as latin1: chars up to 0xFF, as browsers send them). */
export function bin20(label: string): string {
  return latin1(sha1(label));
}

/** A WebTorrent-style peer id ("-WW0208-" and 12 more chars). */
export function webtorrentPeerId(n: number): string {
  return `-WW0208-${String(n).padStart(12, "0")}`;
}
