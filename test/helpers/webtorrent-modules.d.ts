// Minimal types for the parts of the bittorrent-tracker package the WebTorrent tests use from Bun (it ships
// none). The browser side (test/fixtures/webtorrent/page.js) is plain JavaScript and needs none.

declare module "bittorrent-tracker/server" {
  import { EventEmitter } from "node:events";
  import type { Server as HttpServer } from "node:http";

  export interface ServerOptions {
    http?: boolean;
    udp?: boolean;
    ws?: boolean | Record<string, unknown>;
    stats?: boolean;
    trustProxy?: boolean;
    /** Announce interval in milliseconds. */
    interval?: number;
  }

  /** A swarm, keyed by the hex info hash in `Server.torrents`. */
  export interface Swarm {
    complete: number;
    incomplete: number;
  }

  export default class Server extends EventEmitter {
    constructor(opts?: ServerOptions);
    torrents: Record<string, Swarm | undefined>;
    http: HttpServer | null;
    listen(port: number, hostname: string, onListening?: () => void): void;
    close(cb?: (err?: Error | null) => void): void;
  }
}
