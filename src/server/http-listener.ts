// One HTTP or HTTPS listening address, and certificate renewal without a restart.
//
// Bun 1.4.4 cannot change the certificate of a running Bun.serve: server.reload({ tls }) is silently ignored
// (measured; oven-sh/bun#43815). So a renewal starts a second server with the new certificate on the same
// port (SO_REUSEPORT) and then stops the old one without force: new connections get the new certificate, and
// requests in flight and open WSS connections finish on the old server. If the new server cannot start, the
// old one keeps serving with the old certificate.
//
// A TLS listener therefore binds with SO_REUSEPORT. To keep "a second tracker on the same port fails to
// start" (rather than silently splitting the traffic), it first binds the port once without it: that fails
// if anything holds the port, and a later non-reuseport bind by another process fails against ours.

import type { Server } from "bun";
import type { ListenAddress } from "../config/config.ts";
import type { WsConnection } from "../frontend/ws-tracker.ts";
import { listenError } from "./listen-error.ts";
import type { TlsPair } from "./tls-files.ts";

export type ServeOptions = Omit<
  Bun.Serve.Options<WsConnection, string>,
  "hostname" | "port" | "reusePort" | "tls" | "unix"
>;

export class HttpListener {
  readonly #options: ServeOptions;
  readonly #host: string;
  readonly #port: number;
  readonly tls: boolean;
  #server: Server<WsConnection>;
  /** Servers replaced by a renewal, still finishing their connections. */
  readonly #retired = new Set<Server<WsConnection>>();

  /**
   * `name`: the listener in an error message (default HTTP or HTTPS). Binding errors are ListenErrors.
   * `shared`: with --workers every thread serves the port (SO_REUSEPORT); "first" (the main thread) checks
   * first that no other program holds it, as a TLS listener does; "join": the other threads.
   */
  constructor(
    options: ServeOptions,
    listen: ListenAddress,
    tls: TlsPair | null,
    name = tls === null ? "HTTP" : "HTTPS",
    shared?: "first" | "join",
  ) {
    this.#options = options;
    this.#host = listen.host;
    this.tls = tls !== null;
    try {
      if (tls === null && shared === undefined) {
        // Explicit: with development:false, Bun 1.4.4 otherwise sets SO_REUSEPORT, and a second tracker started
        // on the same port would silently share (split) the traffic instead of failing to start.
        this.#server = Bun.serve<WsConnection>({
          ...options,
          hostname: listen.host,
          port: listen.port,
          reusePort: false,
        } as Bun.Serve.Options<WsConnection, string>);
        this.#port = this.#server.port ?? listen.port;
        return;
      }
      this.#port = listen.port;
      if (shared !== "join") {
        const guard = Bun.serve({
          hostname: listen.host,
          port: listen.port,
          reusePort: false,
          development: false,
          fetch: () => new Response(null, { status: 503 }),
        });
        this.#port = guard.port ?? listen.port;
        guard.stop(true);
      }
      this.#server = this.#serve(tls);
    } catch (err) {
      throw listenError(err, name, listen);
    }
  }

  get port(): number {
    return this.#port;
  }

  get server(): Server<WsConnection> {
    return this.#server;
  }

  /** Serves new connections with `pair`; throws (keeping the old certificate) if the new server cannot start. */
  replaceTls(pair: TlsPair): void {
    const next = this.#serve(pair);
    const old = this.#server;
    this.#server = next;
    this.#retired.add(old);
    void old.stop(false).then(() => this.#retired.delete(old));
  }

  /** Stops accepting, lets requests in flight finish up to `graceMs`, then cuts what is left. */
  async stop(graceMs: number): Promise<void> {
    const servers = [this.#server, ...this.#retired];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(Promise.all(servers.map((s) => s.stop(true))).then(() => {})), graceMs);
    });
    await Promise.race([Promise.all(servers.map((s) => s.stop(false))), timeout]);
    clearTimeout(timer);
  }

  #serve(pair: TlsPair | null): Server<WsConnection> {
    return Bun.serve<WsConnection>({
      ...this.#options,
      hostname: this.#host,
      port: this.#port,
      reusePort: true,
      ...(pair === null ? {} : { tls: { cert: pair.cert, key: pair.key } }),
    } as Bun.Serve.Options<WsConnection, string>);
  }
}
