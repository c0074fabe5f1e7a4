// What the HTTP listeners (Bun.serve, plain or TLS: see http-listener.ts) do with requests: route announce,
// scrape and health requests to the front end, and upgrade WebSocket requests for / and the announce path to
// the WebTorrent tracker.
//
// Methods: the tracker's own paths and the dashboard's answer GET and HEAD only; anything else there gets 405
// with an Allow header (the admin API has its own list).
//
// Routing follows BEP 48's convention: a last path segment "announce" (or "announce.EXT") is an announce,
// and the same URL with "announce" replaced by "scrape" is its scrape (so /announce.php and /KEY/announce
// work, with /scrape.php and /KEY/scrape beside them). One trailing slash is forgiven.

import type { Server, ServerWebSocket } from "bun";
import type { CidrSet } from "../core/cidr.ts";
import { resolveClientAddress } from "./client-address.ts";
import { FORWARD_HTTP, FULL_SCRAPE, type HttpTracker } from "../frontend/http-tracker.ts";
import type { FullScrapeReply } from "../frontend/full-scrape.ts";
import type { HttpForward } from "./workers/http-forwarding.ts";
import type { WsConnection, WsTracker } from "../frontend/ws-tracker.ts";
import type { ServeOptions } from "./http-listener.ts";
import type { Faults } from "./faults.ts";
import type { Source } from "./auth-throttle.ts";
import type { SourceLimit } from "../frontend/source-limit.ts";
import { FAILURE_TEXT } from "../core/failure.ts";
import { ADMIN_PATH } from "./admin.ts";

const BENCODE_HEADERS = { "content-type": "text/plain; charset=iso-8859-1", "cache-control": "no-store" };
const BENCODE_INIT: ResponseInit = { headers: BENCODE_HEADERS };
const TEXT_HEADERS = { "content-type": "text/plain; charset=utf-8" };

function fullScrapeResponse(full: FullScrapeReply): Response {
  return new Response(full.body, {
    headers: full.gzip
      ? { ...BENCODE_HEADERS, "content-encoding": "gzip", vary: "accept-encoding" }
      : { ...BENCODE_HEADERS, vary: "accept-encoding" },
  });
}
const API_LIMITED_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

const GET_ONLY = () =>
  new Response("method not allowed\n", { status: 405, headers: { ...TEXT_HEADERS, allow: "GET, HEAD" } });

/** A route handler; undefined: the request was upgraded to a WebSocket. */
type Handler = (req: Request, server: Server<WsConnection>) => Response | undefined | Promise<Response | undefined>;
/** A dashboard route: GET and HEAD only (Bun hands other methods to `fetch`, which answers 405). */
export type RouteValue = { GET: Response | Handler; HEAD: Response | Handler };

export interface HttpServerOptions {
  /**
   * Extra routes (the dashboard), answered before the tracker's own routing: exact paths, or a prefix ending
   * in "/*".
   */
  routes?: Record<string, RouteValue>;
  /** Answers /api/* and /metrics (or returns null for 404); `source()` resolves the client's address. */
  api?: (
    req: Request,
    path: string,
    query: URLSearchParams,
    source: () => Source,
  ) => Response | Promise<Response> | null;
  /**
   * The per-source request budget the tracker requests use, which the public /api/* count against too: over
   * it, a 429 with Retry-After. (Not the admin API, behind its token, nor /metrics: a monitoring host scrapes
   * it, cheaply, and must still see a source it would refuse.)
   */
  apiLimit?: Pick<SourceLimit, "allow" | "retryAfterS">;
  /** Reverse proxies whose forwarding headers are believed (see client-address.ts). */
  proxies: CidrSet | null;
  tracker: HttpTracker;
  /** The WebTorrent tracker; null when WebSocket is off. */
  ws: WsTracker | null;
  faults: Faults;
  now: () => number;
  /** With --workers: hands an announce or scrape another thread owns to it (see workers/http-forwarding.ts). */
  forward?: HttpForward;
  /**
   * A Worker thread's listener: every request that is not an announce, a scrape, a WebSocket or /healthz
   * (the API, /metrics, the dashboard) goes to the main thread, which answers it (see workers/pool.ts).
   */
  operator?: (req: Request, server: Server<WsConnection>) => Promise<Response>;
}

/** A WebTorrent message larger than this closes the connection (1009): ten offers take a few KiB. */
export const WS_MAX_MESSAGE_BYTES = 64 * 1024;
/** A connection silent this long is pinged, then closed if the ping goes unanswered (seconds). */
export const WS_IDLE_TIMEOUT_S = 120;
/** A connection that stops reading is closed once this much is waiting to be sent to it. */
const WS_BACKPRESSURE_BYTES = 1024 * 1024;

/** The Bun.serve options every listener shares (address, port and TLS are the listener's). */
export function httpServeOptions(o: HttpServerOptions): ServeOptions {
  const ip = new Uint8Array(16);
  const { tracker, faults, ws } = o;
  /** The client's address into `ip` (forwarding headers believed only from trusted proxies); len 0: none. */
  const clientOf = (req: Request, server: Server<WsConnection>) => {
    const addr = server.requestIP(req);
    return addr === null ? NO_ADDRESS : resolveClientAddress(addr.address, req, o.proxies, ip);
  };
  /** A copy of the client's address, for callers that keep it past this request (0.0.0.0 when unknown). */
  const sourceOf = (req: Request, server: Server<WsConnection>): Source => {
    const client = clientOf(req, server);
    return client.len === 0 ? { ip: new Uint8Array(4), len: 4 } : { ip: ip.slice(0, client.len), len: client.len };
  };
  const routes = o.routes ?? {};
  /** A dashboard path, reached by `fetch` only with a method its route does not take. */
  const isRoute = routeMatcher(routes);
  const options: ServeOptions = {
    development: false, // never stack traces to clients
    // Clients reconnect for every announce anyway; an idle keep-alive socket only holds a descriptor.
    idleTimeout: 10,
    // Nothing here takes a large body (the admin API's are under 4 KiB, checked after its token):
    // refuse anything huge before buffering it.
    maxRequestBodySize: 1024 * 1024,
    routes,
    fetch(req, server) {
      const url = req.url;
      const pathStart = findPathStart(url);
      let pathEnd = url.indexOf("?", pathStart);
      if (pathEnd < 0) pathEnd = url.length;
      const kind = routeOf(url, pathStart, pathEnd);
      // Only a query-less "/" or announce URL can be a WebSocket handshake: HTTP announces never pay the
      // header lookup.
      if (
        ws !== null &&
        pathEnd === url.length &&
        (kind === ANNOUNCE || pathEnd - pathStart <= 1) &&
        isWebSocketUpgrade(req)
      ) {
        const client = clientOf(req, server);
        if (client.len === 0)
          return new Response(`${FAILURE_TEXT.no_address}\n`, { status: 400, headers: TEXT_HEADERS });
        const conn = ws.connect(ip, client.len);
        if (conn === null)
          return new Response(`${FAILURE_TEXT.too_many_connections}\n`, { status: 429, headers: TEXT_HEADERS });
        if (server.upgrade(req, { data: conn })) return undefined;
        ws.close(conn, o.now());
        return new Response("bad WebSocket handshake\n", { status: 400, headers: TEXT_HEADERS });
      }
      if (kind === 0) {
        const getOrHead = req.method === "GET" || req.method === "HEAD";
        if (pathEnd - pathStart === 8 && url.startsWith("/healthz", pathStart)) {
          return getOrHead ? new Response("ok\n", { headers: TEXT_HEADERS }) : GET_ONLY();
        }
        if (o.operator !== undefined) return o.operator(req, server);
        if (o.api !== undefined && (url.startsWith("/api/", pathStart) || url.startsWith("/metrics", pathStart))) {
          const path = url.slice(pathStart, pathEnd);
          if (o.apiLimit !== undefined && path !== ADMIN_PATH && path !== "/metrics") {
            const client = clientOf(req, server);
            if (client.len !== 0 && !o.apiLimit.allow(ip, client.len, o.now())) {
              tracker.counters.failures.http.rate_limited++;
              return new Response(JSON.stringify({ error: FAILURE_TEXT.rate_limited }), {
                status: 429,
                headers: { ...API_LIMITED_HEADERS, "retry-after": String(o.apiLimit.retryAfterS) },
              });
            }
          }
          const query = new URLSearchParams(pathEnd < url.length ? url.slice(pathEnd + 1) : "");
          const res = o.api(req, path, query, () => sourceOf(req, server));
          if (res !== null) return res;
        }
        if (!getOrHead && isRoute(url.slice(pathStart, pathEnd))) return GET_ONLY();
        return new Response("not found\n", { status: 404, headers: TEXT_HEADERS });
      }
      if (req.method !== "GET" && req.method !== "HEAD") return GET_ONLY();
      const client = clientOf(req, server);
      if (client.len === 0) return new Response(tracker.failure("no_address", kind === SCRAPE), BENCODE_INIT);
      const now = o.now();
      if (kind === ANNOUNCE) {
        const body = tracker.announce(url, ip, client.len, now);
        if (body !== FORWARD_HTTP) return new Response(body, BENCODE_INIT);
        return o.forward!(false, url, ip, client.len, now).then(bencoded);
      }
      const body = tracker.scrape(url, ip, client.len, now);
      if (body === FORWARD_HTTP) return o.forward!(true, url, ip, client.len, now).then(bencoded);
      if (body !== FULL_SCRAPE) return new Response(body, BENCODE_INIT);
      if (o.operator !== undefined) return o.operator(req, server); // (see HttpTracker.scrape)
      const full = tracker.fullScrape!.reply(now, /\bgzip\b/.test(req.headers.get("accept-encoding") ?? ""));
      return full instanceof Promise ? full.then(fullScrapeResponse) : fullScrapeResponse(full);
    },
    websocket: {
      maxPayloadLength: WS_MAX_MESSAGE_BYTES,
      idleTimeout: WS_IDLE_TIMEOUT_S,
      sendPings: true,
      backpressureLimit: WS_BACKPRESSURE_BYTES,
      closeOnBackpressureLimit: true,
      perMessageDeflate: false,
      open: faults.guard("websocket open", (socket: ServerWebSocket<WsConnection>) => {
        socket.data.sink = {
          send(text) {
            try {
              socket.send(text);
            } catch {
              // closing under us: its close handler takes it out of the swarms
            }
          },
          close(code, reason) {
            socket.close(code, reason);
          },
        };
      }),
      message: faults.guard("websocket message", (socket: ServerWebSocket<WsConnection>, message: string | Buffer) => {
        ws?.message(socket.data, message, o.now());
      }),
      close: faults.guard("websocket close", (socket: ServerWebSocket<WsConnection>) => {
        ws?.close(socket.data, o.now());
      }),
    },
    error(err) {
      // A bug, not bad input (bad input gets a failure reason above). Keep serving; tell the operator.
      faults.caught("http handler", err);
      return new Response("internal error\n", { status: 500, headers: TEXT_HEADERS });
    },
  };
  // Bun gives a WebSocket handshake on "/" to a function route's GET handler (a static Response route lets it
  // through to `fetch`): send those on to `fetch`, which upgrades them.
  const viaFetch = options.fetch as Handler;
  const wrapped: Record<string, RouteValue> = {};
  for (const [path, r] of Object.entries(routes)) {
    const get = r.GET;
    wrapped[path] =
      typeof get === "function"
        ? { ...r, GET: (req, server) => (isWebSocketUpgrade(req) ? viaFetch(req, server) : get(req, server)) }
        : r;
  }
  options.routes = wrapped;
  return options;
}

const NO_ADDRESS = { len: 0 } as const;
const bencoded = (body: Uint8Array) => new Response(body, BENCODE_INIT);

/** The route a path takes in `routes`: an exact path, or the first prefix route ("/assets/*") it falls under. */
export function routeFinder(routes: Record<string, RouteValue>): (path: string) => RouteValue | undefined {
  const prefixes = Object.keys(routes)
    .filter((p) => p.endsWith("/*"))
    .map((p) => [p.slice(0, -1), routes[p]] as const);
  return (path) => (Object.hasOwn(routes, path) ? routes[path] : prefixes.find(([p]) => path.startsWith(p))?.[1]);
}

/** Whether a path is one of `routes` (see routeFinder). */
export function routeMatcher(routes: Record<string, RouteValue>): (path: string) => boolean {
  const find = routeFinder(routes);
  return (path) => find(path) !== undefined;
}

function isWebSocketUpgrade(req: Request): boolean {
  return req.method === "GET" && req.headers.get("upgrade")?.toLowerCase() === "websocket";
}
const ANNOUNCE = 1;
const SCRAPE = 2;

/** ANNOUNCE, SCRAPE or 0, from the last path segment of url[pathStart, pathEnd). */
function routeOf(url: string, pathStart: number, pathEnd: number): number {
  let end = pathEnd;
  if (end - pathStart > 1 && url.charCodeAt(end - 1) === 47 /* / */) end--;
  const segment = url.lastIndexOf("/", end - 1) + 1;
  return isSegment(url, segment, end, "announce") ? ANNOUNCE : isSegment(url, segment, end, "scrape") ? SCRAPE : 0;
}

/** url[segment, end) is `name` or `name.EXT`. */
function isSegment(url: string, segment: number, end: number, name: string): boolean {
  const after = segment + name.length;
  return url.startsWith(name, segment) && (after === end || (after < end && url.charCodeAt(after) === 46)) /* . */;
}

/** req.url is absolute ("http://host/announce?..."), or just a path for HTTP/1.0 requests without Host. */
function findPathStart(url: string): number {
  if (url.charCodeAt(0) === 47 /* / */) return 0;
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  return slash < 0 ? url.length : slash;
}
