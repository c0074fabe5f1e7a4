// The control messages between the main thread and its Workers (postMessage; a few a second). Requests for
// swarms never go this way: they go through the mesh (mesh.ts).

import type { LogLevel } from "../../config/config.ts";
import type { FrozenTable } from "../../core/torrent-table.ts";
import type { ConfigWire } from "./config-wire.ts";
import type { MeshMemory } from "./mesh.ts";

/** An HTTP request as it crosses threads (an operator request a Worker received on the public port). */
export interface WireRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
  /** The peer address of the connection (the main thread applies --trust-proxy to it as its own would). */
  address: string;
  family: string;
  port: number;
}

export interface WireResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export type ToWorker =
  | {
      t: "start";
      index: number;
      count: number;
      config: ConfigWire;
      memory: MeshMemory;
      ports: { http: number; tls: number | null; udp: number | null };
      shared: Record<string, SharedArrayBuffer>;
      /** The main thread's access list, shared (AccessControl `follow`). */
      access: FrozenTable | null;
    }
  | { t: "stop" }
  /** Asks for something by name (see worker-main.ts `answers`); the thread replies with an "answer". */
  | { t: "call"; id: number; what: string; arg: unknown }
  | { t: "operator"; id: number; res: WireResponse };

export type FromWorker =
  | { t: "log"; line: string; level: LogLevel }
  | { t: "ready" }
  | { t: "failed"; message: string }
  | { t: "stopped" }
  | { t: "answer"; id: number; value: unknown }
  | { t: "operator"; id: number; req: WireRequest }
  /** A datagram steered by `key` arrived on this thread's socket `socket` (see udp-steering.ts). */
  | { t: "landed"; socket: string; key: number };
