// The admin API for the access list: /api/blacklist (the name Rustracker users know; in allow mode it manages
// the allow list). Present only when an admin token is configured. Every request must carry
// `Authorization: Bearer <token>`; anything else gets 401 before the request is looked at further, and a source
// that keeps failing gets 429 before its token is even checked (see auth-throttle.ts).
//
//   GET    /api/blacklist?info_hash=HEX   is it listed?
//   GET    /api/blacklist?offset=&limit=  the list, sorted, a page at a time
//   POST   /api/blacklist {"info_hash": HEX}   add (file first, then memory); a duplicate is reported
//   DELETE /api/blacklist?info_hash=HEX   remove (its lines commented out in place)
//
// The lookup and the add answer as Rustracker documents them (`ok`, `blacklisted` / `added`, `info_hash`,
// `error: null`, and 200 for an add), so its operators' scripts keep working; our own fields come on top.
//
// Each answers in milliseconds on a list of millions: lookups and pages come from the packed table and its
// sorted order; an add appends one line and a removal comments lines out after one read, neither re-parses it
// (see access-control.ts). If the list file is gone, an edit writes it again from the list in force.
// A POST body over MAX_BODY gets 413 and is read no further (chunked bodies too), logged as such.

import { createHash, timingSafeEqual } from "node:crypto";
import { hexToKey, keyToHex } from "../core/access.ts";
import type { AccessControl } from "./access-control.ts";
import type { AuthThrottle, Source } from "./auth-throttle.ts";
import { json } from "./api.ts";
import { errorText, type Logger } from "./logger.ts";

export const ADMIN_PATH = "/api/blacklist";
export const MAX_BODY = 4096;
const MAX_PAGE = 1000;

export class AdminApi {
  readonly #tokenDigest: Buffer;
  readonly #access: AccessControl;
  readonly #log: Logger;
  readonly #throttle: AuthThrottle;

  constructor(token: string, access: AccessControl, log: Logger, throttle: AuthThrottle) {
    this.#tokenDigest = digest(token);
    this.#access = access;
    this.#log = log;
    this.#throttle = throttle;
  }

  /**
   * The token check every admin request passes first (the access list's API, the shutdown request): null when
   * the request carries the admin token, else the answer (429 for a throttled source, 401).
   * `source`: the client's address (behind a trusted proxy, the forwarded one).
   */
  refusal(req: Request, source: Source): Response | null {
    const wait = this.#throttle.retryAfter(source);
    if (wait > 0) {
      return json({ error: "too many failed admin token attempts from your address; try again later" }, 429, {
        "retry-after": String(wait),
      });
    }
    if (!this.#authorized(req.headers.get("authorization"))) {
      this.#throttle.failed(source, req.method);
      return json({ error: "unauthorized: send Authorization: Bearer <admin token>" }, 401, {
        "www-authenticate": 'Bearer realm="buntracker"',
      });
    }
    return null;
  }

  async handle(req: Request, query: URLSearchParams, source: Source): Promise<Response> {
    const refused = this.refusal(req, source);
    if (refused !== null) return refused;
    const access = this.#access;
    // A lookup is answered with access control off too (nothing is refused), as Rustracker does without a list.
    const lookup = (req.method === "GET" || req.method === "HEAD") && query.has("info_hash");
    if (access.path === null && !lookup) {
      return json({ error: "access control is off: start with --access-mode deny|allow and --access-list PATH" }, 409);
    }
    try {
      switch (req.method) {
        case "GET":
        case "HEAD":
          return lookup ? this.#lookup(query.get("info_hash")!) : await this.#page(query);
        case "POST":
          return await this.#add(req);
        case "DELETE":
          return await this.#remove(query.get("info_hash"));
        default:
          return json({ error: "method not allowed" }, 405, { allow: "GET, HEAD, POST, DELETE" });
      }
    } catch (err) {
      this.#log.error("admin: cannot update the access list file", { path: access.path, err: errorText(err) });
      return json({ error: "cannot write the access list file; nothing was changed" }, 500);
    }
  }

  /** Constant time: compares SHA-256 digests (equal lengths) with timingSafeEqual. */
  #authorized(header: string | null): boolean {
    if (header === null) return false;
    const m = /^Bearer[ ]+(.+)$/i.exec(header.trim());
    return m !== null && timingSafeEqual(digest(m[1]), this.#tokenDigest);
  }

  #lookup(hex: string): Response {
    const key = hexToKey(hex.trim());
    if (key === null) return badHash();
    const listed = this.#access.list.hashes.has(key);
    // Rustracker's question is "is it refused?": in allow mode that is a hash not on the list.
    const blacklisted = this.#access.mode === "allow" ? !listed : listed;
    return json({ ok: true, blacklisted, info_hash: keyToHex(key), error: null, mode: this.#access.mode, listed }, 200);
  }

  async #page(query: URLSearchParams): Promise<Response> {
    const offset = intParam(query.get("offset"), 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = intParam(query.get("limit"), 1, MAX_PAGE, 100);
    if (offset === null || limit === null) return json({ error: `offset must be 0 or more, limit 1-${MAX_PAGE}` }, 400);
    // The list keeps its sorted order (built once per load, after the swap): a page costs its own entries.
    let hashes = this.#access.list.hashes;
    for (let ready = this.#access.sorted(); ; ready = this.#access.sorted()) {
      await ready;
      if (this.#access.list.hashes === hashes) break;
      hashes = this.#access.list.hashes; // a newer list came in meanwhile: wait for its order instead
    }
    const page: string[] = [];
    for (let i = offset; i < Math.min(offset + limit, hashes.size); i++) page.push(keyToHex(hashes.keyAt(i)));
    return json({ mode: this.#access.mode, total: hashes.size, offset, limit, info_hashes: page }, 200);
  }

  async #add(req: Request): Promise<Response> {
    // Refused before reading when the length is declared; a chunked body is read only up to the cap.
    const body = Number(req.headers.get("content-length") ?? 0) > MAX_BODY ? TOO_LARGE : await readBody(req, MAX_BODY);
    if (body === TOO_LARGE) {
      this.#log.warn("admin: request body too large", { max_bytes: MAX_BODY });
      return json({ error: `body too large (at most ${MAX_BODY} bytes)` }, 413);
    }
    if (body === UNREADABLE) return json({ error: "the request body could not be read" }, 400);
    let hex: unknown;
    try {
      hex = (JSON.parse(new TextDecoder().decode(body)) as { info_hash?: unknown })?.info_hash;
    } catch {
      return json({ error: 'body must be JSON: {"info_hash": "<40 hex digits>"}' }, 400);
    }
    const key = typeof hex === "string" ? hexToKey(hex.trim()) : null;
    if (key === null) return badHash();
    const result = await this.#access.add(key);
    this.#log.info("admin: access list add", { info_hash: keyToHex(key), added: result === "done" });
    const hex40 = keyToHex(key);
    return result === "done"
      ? json({ ok: true, added: true, info_hash: hex40, error: null, mode: this.#access.mode }, 200)
      : json(
          { ok: true, added: false, info_hash: hex40, error: null, mode: this.#access.mode, reason: "already listed" },
          200,
        );
  }

  async #remove(hex: string | null): Promise<Response> {
    const key = hex === null ? null : hexToKey(hex.trim());
    if (key === null) return badHash();
    const result = await this.#access.remove(key);
    this.#log.info("admin: access list remove", { info_hash: keyToHex(key), removed: result === "done" });
    return result === "done"
      ? json({ mode: this.#access.mode, info_hash: keyToHex(key), removed: true }, 200)
      : json({ mode: this.#access.mode, info_hash: keyToHex(key), removed: false, error: "not listed" }, 404);
  }
}

export const TOO_LARGE = "too large";
export const UNREADABLE = "unreadable";

/** The body, read up to `max` bytes without buffering more: TOO_LARGE past that, UNREADABLE if it breaks off. */
export async function readBody(req: Request, max: number): Promise<Uint8Array | typeof TOO_LARGE | typeof UNREADABLE> {
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const out = new Uint8Array(max);
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return out.subarray(0, n);
      if (n + value.byteLength > max) {
        void reader.cancel().catch(() => {});
        return TOO_LARGE;
      }
      out.set(value, n);
      n += value.byteLength;
    }
  } catch {
    return UNREADABLE; // the client went away, or sent more than the server takes at all
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function badHash(): Response {
  return json({ error: "info_hash must be 40 hex digits" }, 400);
}

function intParam(text: string | null, min: number, max: number, fallback: number): number | null {
  if (text === null) return fallback;
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n < min || n > max ? null : n;
}
