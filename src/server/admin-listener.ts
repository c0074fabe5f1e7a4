// The private listener for operators (--admin-listen, plain HTTP): the deep /healthz (health.ts), /metrics,
// the admin API, POST /admin/shutdown (with the admin token), the read-only JSON and the dashboard. No tracker traffic: announce, scrape and WebSocket
// requests get 404 here. Nothing is rate limited: only operators should reach this address.

import type { Server } from "bun";
import type { CidrSet } from "../core/cidr.ts";
import type { WsConnection } from "../frontend/ws-tracker.ts";
import type { Source } from "./auth-throttle.ts";
import { resolveClientAddress } from "./client-address.ts";
import type { Faults } from "./faults.ts";
import type { Health } from "./health.ts";
import { routeMatcher, type RouteValue } from "./http-server.ts";
import type { ServeOptions } from "./http-listener.ts";

const TEXT_HEADERS = { "content-type": "text/plain; charset=utf-8" };
/** A graceful stop on request, with the admin token: Windows has no SIGTERM for its scheduled task. */
export const SHUTDOWN_PATH = "/admin/shutdown";
const GET_ONLY = () =>
  new Response("method not allowed\n", { status: 405, headers: { ...TEXT_HEADERS, allow: "GET, HEAD" } });

export interface AdminServeOptions {
  /** The dashboard's routes (GET and HEAD). */
  routes: Record<string, RouteValue>;
  /** Answers /api/* and /metrics (or null for 404). */
  api: (
    req: Request,
    path: string,
    query: URLSearchParams,
    source: () => Source,
  ) => Response | Promise<Response> | null;
  health: Health;
  /** Answers POST SHUTDOWN_PATH (a graceful stop, for service managers without signals); absent: 404. */
  shutdown?: (req: Request, source: Source) => Response;
  /** Reverse proxies whose forwarding headers are believed (the admin login throttle counts by source). */
  proxies: CidrSet | null;
  faults: Faults;
}

export function adminServeOptions(o: AdminServeOptions): ServeOptions {
  const isRoute = routeMatcher(o.routes);
  const sourceOf = (req: Request, server: Server<WsConnection>): Source => {
    const ip = new Uint8Array(16);
    const peer = server.requestIP(req);
    const len = peer === null ? 0 : resolveClientAddress(peer.address, req, o.proxies, ip).len;
    return len === 0 ? { ip: new Uint8Array(4), len: 4 } : { ip: ip.slice(0, len), len };
  };
  return {
    development: false,
    idleTimeout: 30,
    maxRequestBodySize: 1024 * 1024,
    routes: o.routes,
    fetch(req, server) {
      // (An HTTP/1.0 request without Host has a bare path as its URL.)
      const url = new URL(req.url, "http://admin.invalid");
      const path = url.pathname;
      const getOrHead = req.method === "GET" || req.method === "HEAD";
      if (path === "/healthz") return getOrHead ? o.health.response(req.method) : GET_ONLY();
      if (path === SHUTDOWN_PATH && o.shutdown !== undefined) {
        if (req.method !== "POST")
          return new Response("method not allowed\n", { status: 405, headers: { ...TEXT_HEADERS, allow: "POST" } });
        return o.shutdown(req, sourceOf(req, server));
      }
      if (path.startsWith("/api/") || path === "/metrics") {
        const res = o.api(req, path, url.searchParams, () => sourceOf(req, server));
        if (res !== null) return res;
      }
      if (!getOrHead && isRoute(path)) return GET_ONLY();
      return new Response("not found\n", { status: 404, headers: TEXT_HEADERS });
    },
    error(err) {
      o.faults.caught("admin http handler", err);
      return new Response("internal error\n", { status: 500, headers: TEXT_HEADERS });
    },
  };
}
