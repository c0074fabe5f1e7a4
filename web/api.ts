// The tracker's JSON API: response types, one fetch helper, and the connection state (live / offline) that
// every request updates so the header can show it.

export type Range = "24h" | "3d" | "7d";
export const RANGES: readonly Range[] = ["24h", "3d", "7d"];

export interface RequestRates {
  total: number;
  http_announce: number;
  http_scrape: number;
  udp_connect: number;
  udp_announce: number;
  udp_scrape: number;
  ws_announce: number;
  ws_scrape: number;
}

export interface Stats {
  version: string;
  uptime_secs: number;
  started_at: number;
  /** The announce interval in force, seconds (replies add ±10% jitter). */
  interval: number;
  /** fixed, or adaptive: the interval follows the load (interval_load, 1 = busy). */
  interval_mode: "fixed" | "adaptive";
  interval_load: number;
  min_interval: number;
  peer_timeout: number;
  torrents: number;
  peers: number;
  peers_ipv4: number;
  peers_ipv6: number;
  /** WebRTC peers of WebTorrent clients, connected over WebSocket. */
  peers_websocket: number;
  seeders: number;
  leechers: number;
  completed: number;
  udp_port: number | null;
  /** Whether WebTorrent clients can announce over WebSocket on this port. */
  websocket: boolean;
  websocket_connections: number;
  requests_per_sec: RequestRates;
  /** Cluster mode (--redis) only: cluster-wide totals, this instance, and the others. */
  cluster?: ClusterStats;
}

export interface ClusterInstance {
  instance: string;
  torrents: number;
  peers: number;
  seeders: number;
  completed: number;
  /** Unix seconds of its last heartbeat. */
  synced_at: number;
  version: string;
}

export interface ClusterStats {
  instances: number;
  peers: number;
  seeders: number;
  completed: number;
  instance: string;
  /** Each engine node; `errors`: its failed batches since start. */
  engines: { engine: string; up: boolean; errors: number }[];
  /** Command batches and commands sent to the engines since start (the page turns them into rates). */
  batches: number;
  commands: number;
  last_sync_at: number;
  sync_lag_ms: number | null;
  others: ClusterInstance[];
}

export interface TrendSample {
  t: number;
  torrents: number;
  peers: number;
  seeders: number;
  leechers: number;
}

export interface Trends {
  range: Range;
  interval_secs: number;
  samples: TrendSample[];
}

export interface ClientTrends {
  range: Range;
  /** Not sent by every version; the page falls back to the smallest gap between samples. */
  interval_secs?: number;
  clients: string[];
  samples: { t: number; counts: number[] }[];
}

export interface ClientList {
  total: number;
  clients: { name: string; peers: number; share: number }[];
}

export interface TopEntry {
  info_hash: string;
  seeders: number;
  leechers: number;
  peers: number;
  downloaded: number;
}

export type TopKind = "peers" | "seeders" | "leechers" | "downloaded";
export const TOP_KINDS: readonly TopKind[] = ["peers", "seeders", "leechers", "downloaded"];

export type Top = { limit: number; generated_at: number } & Record<TopKind, TopEntry[]>;

export type Connection = "connecting" | "live" | "offline";

let connection: Connection = "connecting";
const listeners = new Set<(c: Connection) => void>();

export function connectionState(): Connection {
  return connection;
}

/** Returns the unsubscribe function. */
export function onConnection(fn: (c: Connection) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setConnection(next: Connection): void {
  if (next === connection) return;
  connection = next;
  for (const fn of listeners) fn(next);
}

/** GETs a JSON API path; rejects on network errors and non-2xx replies, and records the outcome. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { signal, headers: { accept: "application/json" }, cache: "no-store" });
  } catch (err) {
    if (!signal?.aborted) setConnection("offline");
    throw err;
  }
  if (!res.ok) {
    setConnection("offline");
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === "string") message = body.error;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(message);
  }
  const body = (await res.json()) as T;
  setConnection("live");
  return body;
}

export const api = {
  stats: (signal?: AbortSignal) => getJson<Stats>("/api/stats", signal),
  trends: (range: Range, signal?: AbortSignal) => getJson<Trends>(`/api/trends?range=${range}`, signal),
  clientTrends: (range: Range, signal?: AbortSignal) => getJson<ClientTrends>(`/api/clients?range=${range}`, signal),
  clientList: (signal?: AbortSignal) => getJson<ClientList>("/api/clients/list", signal),
  top: (limit: number, signal?: AbortSignal) => getJson<Top>(`/api/top100?limit=${limit}`, signal),
};
