// Cluster mode for one Store (see docs/cluster.md): every sync period it publishes the torrents whose local
// peers or completions changed, and refreshes the remote view (core/cluster-view.ts) of the torrents the
// other instances changed (adopting those the store does not hold yet). One ClusterSync per Store, with its own connections:
// with --workers, each thread syncs the torrents of its own shard, under an instance id of its own (the run
// token, heartbeat and change lists are per sync).
//
// Keys, per engine node (a torrent lives on node hash[0..2] mod nodes; P is --cluster-key-prefix, H the
// 20 info-hash bytes, I an instance id):
//   P:p:H:I   that instance's peers of the torrent, one blob (core/peer-blob.ts); expires after twice the
//             peer timeout unless published again (a torrent is republished at least every half timeout)
//   P:d:H     hash: instance id -> its completion total for the torrent (absolute, so writing it again is
//             harmless); the global count is the sum. No expiry: durable as the engine is.
//   P:o:I     hash: info hash (hex) -> the same total: what an instance reads back at start
//   P:c:I:N   the info hashes instance I published in its sync N (so readers fetch only what changed)
//   P:a:I     set: the info hashes (hex) instance I has peers of, for a reader that sees I for the first time
//             (its change lists do not go back that far); expires like the blobs
//   P:i:I     heartbeat "RUN {figures}", written every sync period on a timer of its own (a long sync does
//             not hold it up), with a short expiry: a dead instance's peers leave the others' answers once
//             it is gone. RUN is random per process start.
//   P:q:I     "RUN SEQ": the last sync whose change list is written
//   P:n       the set of instance ids; P:e a marker that tells an engine that lost its data (then publish all)
// Nothing here runs in a request: announces and scrapes read the remote view, synchronously.

import type { RedisClient } from "bun";
import { ClusterView } from "../../core/cluster-view.ts";
import { blobRun, encodeBlob, mergeBlobs } from "../../core/peer-blob.ts";
import type { Store } from "../../core/store.ts";
import type { Faults } from "../faults.ts";
import type { Logger } from "../logger.ts";
import { EngineDown, type EngineLink } from "./engine-link.ts";

const HASH = 20;
/** A reader more than this many syncs behind an instance reads all its torrents again. */
const MAX_CHANGE_GAP = 50;
/**
 * Commands per pipelined batch: a big publication (everything, after a reconnection) goes in several, each
 * within the engine timeout, and the event loop runs between them.
 */
const BATCH_COMMANDS = 4000;

export interface ClusterSyncOptions {
  store: Store;
  engines: EngineLink[];
  instanceId: string;
  prefix: string;
  syncMs: number;
  peerTimeoutS: number;
  log: Logger;
  faults: Faults;
  /** Unix seconds. */
  now: () => number;
  version: string;
  /**
   * With --workers: whether this thread owns an info hash (latin1). The others' peers and completion totals are
   * read only for those: a thread's store holds no other torrents. Absent: every hash.
   */
  owns?: (hash: string) => boolean;
  /**
   * With --workers: the process's instance id, whose threads sync as "ID-wN" (start-cluster.ts); they are this
   * process, not other instances, in `instances`.
   */
  processId?: string;
}

/** Another instance as this one last saw it. */
export interface InstanceFigures {
  id: string;
  torrents: number;
  peers: number;
  seeders: number;
  completed: number;
  /** Unix seconds of its last sync. */
  syncedAt: number;
  version: string;
}

/**
 * The heartbeat's expiry: a dead instance's peers leave the others' answers within this plus a sync period.
 * Several periods (and 3 s at least), so an engine slowed down by load does not make live instances look dead.
 */
export function heartbeatTtlMs(syncMs: number): number {
  return Math.max(5 * syncMs, 3000);
}

const enc = new TextEncoder();

/** head + info hash h + tail, as one binary key. */
function key(head: Uint8Array, h: Uint8Array, tail?: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + HASH + (tail?.length ?? 0));
  out.set(head, 0);
  out.set(h, head.length);
  if (tail !== undefined) out.set(tail, head.length + HASH);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

// Info hashes as the store's latin1 strings, as bytes and as hex (Buffer's native conversions: a sync may
// convert a few hundred thousand).
// (never through `.buffer`: on a small typed array that getter is slow)
const latin1 = (b: Uint8Array, o = 0): string => Buffer.prototype.toString.call(b, "latin1", o, o + HASH);
const hexOf = (h: string) => Buffer.from(h, "latin1").toString("hex");
const bytesOf = (h: string): Uint8Array => Buffer.from(h, "latin1");

interface Remote {
  run: number;
  seq: number;
  figures: InstanceFigures;
}

/** Per engine node: what this instance published there and what it knows of the others there. */
class Node {
  /** Our last sync whose change list and progress (P:q) were written. */
  seq = 0;
  /** Our completion totals read back from this node (nothing is written before). */
  loaded = false;
  /** Publish every torrent of this node (first connection, reconnection, an engine that lost its data). */
  republish = true;
  readonly remotes = new Map<string, Remote>();
  /** Per info hash (latin1): each other instance's blob of it. */
  readonly parts = new Map<string, Map<string, Uint8Array>>();
  constructor(readonly link: EngineLink) {}
}

/** Figures for /metrics, /api/stats and the health check. */
export class ClusterStats {
  syncs = 0;
  batches = 0;
  commands = 0;
  /** Unix ms of the last sync in which every engine node answered; 0 before the first. */
  lastSyncAtMs = 0;
  lastSyncMs = 0;
  /** Syncs skipped because the one before was still running. */
  overruns = 0;
}

export class ClusterSync {
  readonly view: ClusterView;
  readonly stats = new ClusterStats();
  readonly instanceId: string;
  readonly #o: ClusterSyncOptions;
  readonly #nodes: Node[];
  readonly #run = crypto.getRandomValues(new Uint32Array(1))[0] || 1;
  /** Our completion total per info hash (latin1) as the engine holds it. */
  readonly #acked = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #beatTimer: ReturnType<typeof setInterval> | undefined;
  /** Heartbeats of another process with our instance id replaced so far, and whether that was logged. */
  #foreignBeats = 0;
  #twinLogged = false;
  #running: Promise<void> | null = null;
  readonly #p: string;
  /** Key parts: "P:p:", "P:d:", and ":I" per instance id. */
  readonly #blobHead: Uint8Array;
  readonly #countsHead: Uint8Array;
  readonly #tails = new Map<string, Uint8Array>();

  constructor(o: ClusterSyncOptions) {
    this.#o = o;
    this.instanceId = o.instanceId;
    this.#p = o.prefix;
    this.#blobHead = enc.encode(`${o.prefix}:p:`);
    this.#countsHead = enc.encode(`${o.prefix}:d:`);
    this.view = new ClusterView(Math.max(1, Math.floor(o.peerTimeoutS / 2)));
    this.#nodes = o.engines.map((l) => new Node(l));
  }

  get syncMs(): number {
    return this.#o.syncMs;
  }

  get engines(): readonly EngineLink[] {
    return this.#o.engines;
  }

  /** Other instances alive at the last sync, on any node. */
  get instances(): InstanceFigures[] {
    const seen = new Map<string, InstanceFigures>();
    const sibling = new RegExp(`^${RegExp.escape(this.#o.processId ?? this.instanceId)}-w[0-9]+$`);
    for (const n of this.#nodes) for (const [id, r] of n.remotes) if (!sibling.test(id)) seen.set(id, r.figures);
    return [...seen.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Attaches the remote view to the store, makes a first sync (bounded: a dead engine does not hold up the start) and starts the timer. */
  async start(): Promise<void> {
    this.#o.store.attachCluster(this.view);
    await this.syncNow();
    this.#timer = this.#o.faults.every("cluster sync", this.#o.syncMs, () => this.syncNow());
    this.#beatTimer = this.#o.faults.every("cluster heartbeat", this.#o.syncMs, () => this.#beat());
  }

  /** The heartbeat on every node that is up (a node that is down is the sync's to reconnect). */
  async #beat(): Promise<void> {
    await Promise.all(
      this.#nodes.map(async (n) => {
        if (!n.link.up || !n.loaded) return;
        const got = await n.link.client();
        if (got === null) return;
        await n.link.batch(Promise.all(this.#heartbeat(got.client))).catch(() => {});
      }),
    );
  }

  /** The commands that say this instance is alive, with its figures. */
  #heartbeat(c: RedisClient): Promise<unknown>[] {
    const o = this.#o;
    const store = o.store;
    const figures = {
      torrents: store.torrents,
      peers: store.peers,
      seeders: store.seeders,
      completed: store.completed,
      syncedAt: Math.floor(this.stats.lastSyncAtMs / 1000),
      version: o.version,
    };
    const beat = `${this.#run} ${JSON.stringify(figures)}`;
    const set = this.#send(c, "SET", [
      `${this.#p}:i:${this.instanceId}`,
      beat,
      "PX",
      String(heartbeatTtlMs(o.syncMs)),
      "GET",
    ]);
    return [set.then((before) => this.#checkTwin(before)), this.#send(c, "SADD", [`${this.#p}:n`, this.instanceId])];
  }

  /**
   * The heartbeat this one replaced: with another run token, another running process uses our instance id
   * (both write every period, so each replaces the other's). Once could be this id's previous process, which
   * died a moment ago; twice is a twin. Logged once.
   */
  #checkTwin(before: unknown): void {
    if (typeof before !== "string" || before.startsWith(`${this.#run} `) || this.#twinLogged) return;
    if (++this.#foreignBeats < 2) return;
    this.#twinLogged = true;
    this.#o.log.error("cluster: another running instance uses the same --cluster-instance-id; give each its own", {
      instance: this.instanceId,
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#beatTimer);
    await this.#running;
    // A last publication (our completions are in), then the heartbeat goes: the others drop our peers at
    // their next sync instead of after its expiry.
    await this.#sync().catch(() => {});
    const p = this.#p;
    await Promise.all(
      this.#nodes.map(async (n) => {
        const c = n.link.up ? await n.link.client() : null;
        if (c !== null) {
          const bye = [
            this.#send(c.client, "DEL", [`${p}:i:${this.instanceId}`, `${p}:q:${this.instanceId}`]),
            this.#send(c.client, "SREM", [`${p}:n`, this.instanceId]),
          ];
          await n.link.batch(Promise.all(bye)).catch(() => {});
        }
        n.link.close();
      }),
    );
  }

  /** One sync (the timer calls it; tests may too). A sync still running makes this one wait for it instead. */
  syncNow(): Promise<void> {
    if (this.#running !== null) {
      this.stats.overruns++;
      return this.#running;
    }
    this.#running = this.#sync().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sync(): Promise<void> {
    const view = this.view;
    const store = this.#o.store;
    const started = performance.now();
    // What changed since the last sync, split by node.
    const count = this.#nodes.length;
    const ids: number[][] = this.#nodes.map(() => []);
    const wanted: string[][] = this.#nodes.map(() => []);
    const gone: string[][] = this.#nodes.map(() => []);
    const h = new Uint8Array(HASH);
    for (const id of view.takeChanged()) {
      if (!store.holds(id)) continue;
      store.copyInfoHash(id, h, 0);
      ids[this.#nodeOf(h, 0, count)].push(id);
    }
    const w = view.takeWanted();
    for (let o = 0; o < w.length; o += HASH) wanted[this.#nodeOf(w, o, count)].push(latin1(w, o));
    const g = view.takeGone();
    for (let o = 0; o < g.length; o += HASH) {
      const i = this.#nodeOf(g, o, count);
      const hash = latin1(g, o);
      gone[i].push(hash);
      this.#nodes[i].parts.delete(hash); // its remote view went with it
    }
    const results = await Promise.all(
      this.#nodes.map((n, i) =>
        this.#syncNode(n, i, ids[i], wanted[i], gone[i]).then(
          () => true,
          (err) => {
            // Whatever was not written is written at the next sync that reaches the node.
            for (const id of ids[i]) if (store.holds(id)) view.changed(id);
            for (const hash of wanted[i]) {
              const at = view.wantSlot();
              if (at >= 0) view.wantBytes.set(bytesOf(hash), at);
            }
            view.putBackGone(concat(gone[i].map(bytesOf)));
            if (!(err instanceof EngineDown)) this.#o.faults.caught("cluster sync", err);
            return false;
          },
        ),
      ),
    );
    this.stats.syncs++;
    this.stats.lastSyncMs = performance.now() - started;
    if (results.every((ok) => ok)) this.stats.lastSyncAtMs = Date.now();
  }

  #nodeOf(b: Uint8Array, o: number, count: number): number {
    return count === 1 ? 0 : ((b[o] << 8) | b[o + 1]) % count;
  }

  async #syncNode(n: Node, index: number, ids: number[], wanted: string[], gone: string[]): Promise<void> {
    const got = await n.link.client();
    if (got === null) throw new EngineDown();
    const c = got.client;
    if (got.fresh) {
      n.republish = true;
      n.remotes.clear(); // read everything again too
    }
    if (!n.loaded) {
      await this.#loadOwn(n, c);
      n.loaded = true;
    }
    const store = this.#o.store;
    const republish = n.republish;
    if (republish) {
      const all: number[] = [];
      const h = new Uint8Array(HASH);
      const count = this.#nodes.length;
      store.forEachTorrentIn(0, store.idLimit, (id) => {
        store.copyInfoHash(id, h, 0);
        if (this.#nodeOf(h, 0, count) === index) all.push(id);
      });
      ids = all;
      await this.#writeAllTotals(n, c, index);
    }
    n.republish = false;
    try {
      await this.#publish(n, c, ids, gone, republish);
    } catch (err) {
      if (republish) n.republish = true;
      throw err;
    }
    await this.#refresh(n, c, wanted);
  }

  /** Reads this instance's completion totals back (after a restart) into the store. */
  async #loadOwn(n: Node, c: RedisClient): Promise<void> {
    const totals = (await n.link.batch(this.#send(c, "HGETALL", [`${this.#p}:o:${this.instanceId}`]))) as Record<
      string,
      string
    > | null;
    this.stats.batches++;
    const store = this.#o.store;
    let restored = 0;
    for (const [hex, text] of Object.entries(totals ?? {})) {
      const total = Number(text);
      if (!/^[0-9a-f]{40}$/.test(hex) || !Number.isSafeInteger(total) || total <= 0) continue;
      const hash = String.fromCharCode(...(hex.match(/../g) ?? []).map((x) => Number.parseInt(x, 16)));
      if (this.#o.owns !== undefined && !this.#o.owns(hash)) continue; // (written under this id by another layout)
      const had = this.#acked.get(hash) ?? 0;
      if (total <= had) continue;
      this.#acked.set(hash, total);
      const id = store.idOf(hash);
      if (id >= 0) store.addDownloaded(id, total - had);
      else if (store.restoreTorrent(hash, total - had) >= 0) restored++;
    }
    if (restored > 0) this.#o.log.info("cluster: completion counts read back", { torrents: restored });
  }

  /** Writes every completion total of ours on node `index` again (the engine may have lost them). */
  async #writeAllTotals(n: Node, c: RedisClient, index: number): Promise<void> {
    let sends: Promise<unknown>[] = [];
    let own: string[] = [];
    const flush = async () => {
      if (own.length > 0) sends.push(this.#send(c, "HSET", [`${this.#p}:o:${this.instanceId}`, ...own]));
      await n.link.batch(Promise.all(sends));
      this.stats.batches++;
      sends = [];
      own = [];
    };
    for (const [hash, total] of this.#acked) {
      const b = bytesOf(hash);
      if (this.#nodeOf(b, 0, this.#nodes.length) !== index) continue;
      sends.push(this.#send(c, "HSET", [key(this.#countsHead, b), this.instanceId, String(total)]));
      own.push(hexOf(hash), String(total));
      if (sends.length >= BATCH_COMMANDS) await flush();
    }
    if (sends.length > 0) await flush();
  }

  /** Writes our blobs and completion totals of the torrents in `ids`, deletes those `gone`, then the heartbeat. */
  async #publish(n: Node, c: RedisClient, ids: number[], gone: string[], all: boolean): Promise<void> {
    const o = this.#o;
    const store = o.store;
    const now = o.now();
    const p = this.#p;
    const me = this.instanceId;
    const blobTtl = String(2 * o.peerTimeoutS * 1000);
    let sends: Promise<unknown>[] = [];
    const changed: Uint8Array[] = [];
    const totals: [string, number][] = [];
    // Our totals go to P:o:I, and our index P:a:I, in one command per batch each.
    const indexKey = `${p}:a:${me}`;
    let own: string[] = [];
    let indexed: string[] = [];
    let unindexed: string[] = [];
    const flush = async () => {
      if (own.length > 0) sends.push(this.#send(c, "HSET", [`${p}:o:${me}`, ...own]));
      if (indexed.length > 0) sends.push(this.#send(c, "SADD", [indexKey, ...indexed]));
      if (unindexed.length > 0) sends.push(this.#send(c, "SREM", [indexKey, ...unindexed]));
      own = [];
      indexed = [];
      unindexed = [];
      await n.link.batch(Promise.all(sends));
      this.stats.batches++;
      sends = [];
    };
    // An engine that lost its data (restarted without persistence, flushed) no longer has this marker.
    const marker = this.#send(c, "SET", [`${p}:e`, "1", "NX"]);
    sends.push(marker);
    // Everything is published: the index starts over (it may name torrents of an earlier run).
    if (all) sends.push(this.#send(c, "DEL", [indexKey]));
    for (const id of ids) {
      if (sends.length >= BATCH_COMMANDS) await flush();
      if (!store.holds(id)) continue; // forgotten meanwhile: its hash is in the next sync's "gone"
      const h = new Uint8Array(HASH);
      store.copyInfoHash(id, h, 0);
      const blobKey = key(this.#blobHead, h, this.#tail(me));
      const hex = Buffer.prototype.toString.call(h, "hex", 0, HASH);
      if (store.peerCount(id, 4) + store.peerCount(id, 16) > 0) {
        sends.push(this.#send(c, "SET", [blobKey, encodeBlob(store, id, this.#run), "PX", blobTtl]));
        indexed.push(hex);
      } else {
        sends.push(this.#send(c, "DEL", [blobKey]));
        if (!all) unindexed.push(hex);
      }
      let total = store.downloadedOf(id);
      if (total > 0 || this.#acked.size > 0) {
        // Our own total never goes back: a torrent forgotten here and back again gets its old total added.
        const hash = latin1(h);
        const acked = this.#acked.get(hash) ?? 0;
        if (total < acked) {
          store.addDownloaded(id, acked);
          total += acked;
        }
        if (total !== acked) {
          sends.push(this.#send(c, "HSET", [key(this.#countsHead, h), me, String(total)]));
          own.push(hex, String(total));
          totals.push([hash, total]);
        }
      }
      this.view.published(id, now);
      changed.push(h);
    }
    for (const hash of gone) {
      const h = bytesOf(hash);
      sends.push(this.#send(c, "DEL", [key(this.#blobHead, h, this.#tail(me))]));
      unindexed.push(hexOf(hash));
      changed.push(h);
    }
    sends.push(this.#send(c, "PEXPIRE", [indexKey, blobTtl]));
    const seq = changed.length > 0 ? n.seq + 1 : n.seq;
    const changeTtl = String(Math.max(60_000, MAX_CHANGE_GAP * o.syncMs));
    if (changed.length > 0) sends.push(this.#send(c, "SET", [`${p}:c:${me}:${seq}`, concat(changed), "PX", changeTtl]));
    sends.push(this.#send(c, "SET", [`${p}:q:${me}`, `${this.#run} ${seq}`, "PX", changeTtl]));
    sends.push(...this.#heartbeat(c));
    await flush();
    n.seq = seq;
    for (const [hash, total] of totals) this.#acked.set(hash, total);
    if ((await marker) === "OK" && n.seq > 1) {
      // The marker was gone: the engine lost its data. Publish everything again at the next sync.
      n.republish = true;
      n.remotes.clear();
      this.#o.log.warn("cluster: the engine lost its data; publishing everything again", { engine: n.link.name });
    }
  }

  /** Reads the other instances' heartbeats and refreshes the remote view of what changed there. */
  async #refresh(n: Node, c: RedisClient, wanted: string[]): Promise<void> {
    const p = this.#p;
    const me = this.instanceId;
    const all = (await n.link.batch(this.#send(c, "SMEMBERS", [`${p}:n`]))) as string[];
    const members = all.filter((m) => m !== me);
    // Per member: its heartbeat (alive?) and how far it has published.
    const replies =
      members.length === 0
        ? []
        : ((await n.link.batch(
            Promise.all(
              members.flatMap((m) => [this.#send(c, "GET", [`${p}:i:${m}`]), this.#send(c, "GET", [`${p}:q:${m}`])]),
            ),
          )) as (string | null)[]);
    const beats = members.map((_, i) => replies[2 * i]);
    this.stats.batches += members.length === 0 ? 1 : 2;
    const refresh = new Set<string>(wanted);
    /** Instances to read whole: first seen, restarted, or further behind than their change lists go. */
    const whole = new Set<string>();
    const changeReads: [string, number][] = [];
    const live = new Map<string, Remote>();
    for (let i = 0; i < members.length; i++) {
      const m = /^(\d+) (.*)$/s.exec(beats[i] ?? "");
      if (m === null) continue;
      const run = Number(m[1]);
      let figures: InstanceFigures;
      try {
        figures = { id: members[i], ...JSON.parse(m[2]) };
      } catch {
        continue;
      }
      // (a run that has not published yet is at 0)
      const q = /^(\d+) (\d+)$/.exec(replies[2 * i + 1] ?? "");
      const seq = q !== null && Number(q[1]) === run ? Number(q[2]) : 0;
      const before = n.remotes.get(members[i]);
      live.set(members[i], { run, seq, figures });
      if (before === undefined || before.run !== run || seq < before.seq || seq - before.seq > MAX_CHANGE_GAP) {
        whole.add(members[i]);
      } else for (let s = before.seq + 1; s <= seq; s++) changeReads.push([members[i], s]);
    }
    // Instances whose heartbeat is gone: their peers leave every answer now.
    const dead = [...n.remotes.keys()].filter((id) => !live.has(id));
    const deadIds = members.filter((_, i) => beats[i] === null);
    n.remotes.clear();
    for (const [id, r] of live) n.remotes.set(id, r);
    if (changeReads.length > 0) {
      const lists = await n.link.batch(
        Promise.all(changeReads.map(([id, s]) => this.#count(c.getBuffer(`${p}:c:${id}:${s}`)))),
      );
      this.stats.batches++;
      for (const [k, list] of lists.entries()) {
        if (list === null) {
          whole.add(changeReads[k][0]); // expired: read it all
          continue;
        }
        for (let o = 0; o + HASH <= list.length; o += HASH) refresh.add(latin1(list, o));
      }
    }
    if (whole.size > 0) {
      // What each has (its index), and what we hold of it (it may have dropped some since).
      const ids = [...whole];
      const indexes = (await n.link.batch(
        Promise.all(ids.map((id) => this.#send(c, "SMEMBERS", [`${p}:a:${id}`]))),
      )) as string[][];
      this.stats.batches++;
      for (const list of indexes)
        for (const hex of list) if (/^[0-9a-f]{40}$/.test(hex)) refresh.add(Buffer.from(hex, "hex").toString("latin1"));
      for (const [hash, parts] of n.parts) for (const id of ids) if (parts.has(id)) refresh.add(hash);
    }
    for (const id of dead) {
      for (const [hash, parts] of n.parts) if (parts.delete(id)) refresh.add(hash);
    }
    if (deadIds.length > 0) void this.#send(c, "SREM", [`${p}:n`, ...deadIds]).catch(() => {});
    // Every torrent of the cluster, not only those held here: the first announce of a torrent at this instance
    // then already has the other instances' peers.
    const owns = this.#o.owns;
    const mine = owns === undefined ? [...refresh] : [...refresh].filter(owns);
    if (mine.length > 0) await this.#fetch(n, c, mine);
  }

  /** Fetches the live instances' blobs and the completion counts of `hashes` into the remote view. */
  async #fetch(n: Node, c: RedisClient, all: string[]): Promise<void> {
    const step = Math.max(1, Math.floor(BATCH_COMMANDS / (n.remotes.size + 1)));
    for (let i = 0; i < all.length; i += step) await this.#fetchSome(n, c, all.slice(i, i + step));
  }

  async #fetchSome(n: Node, c: RedisClient, hashes: string[]): Promise<void> {
    const others = [...n.remotes.keys()];
    const sends: Promise<unknown>[] = [];
    for (const hash of hashes) {
      const h = bytesOf(hash);
      for (const id of others) sends.push(this.#count(c.getBuffer(key(this.#blobHead, h, this.#tail(id)))));
      sends.push(this.#send(c, "HGETALL", [key(this.#countsHead, h)]));
    }
    const replies = await n.link.batch(Promise.all(sends));
    this.stats.batches++;
    const store = this.#o.store;
    const me = this.instanceId;
    let r = 0;
    for (const hash of hashes) {
      let parts = n.parts.get(hash);
      for (const id of others) {
        const blob = replies[r++] as Uint8Array | null;
        // A blob left by an earlier run of that instance (it restarted) is not its peers any more.
        if (blob !== null && blobRun(blob) === n.remotes.get(id)!.run) {
          if (parts === undefined) n.parts.set(hash, (parts = new Map()));
          parts.set(id, blob);
        } else parts?.delete(id);
      }
      if (parts !== undefined && parts.size === 0) {
        n.parts.delete(hash);
        parts = undefined;
      }
      const counts = (replies[r++] ?? {}) as Record<string, string>;
      let downloaded = 0;
      for (const [id, v] of Object.entries(counts)) if (id !== me) downloaded += Number(v) || 0;
      const merged = parts === undefined ? null : mergeBlobs([...parts.values()]);
      let id = store.idOf(hash);
      if (id < 0) {
        if (merged === null && downloaded === 0) continue;
        id = store.adoptBytes(bytesOf(hash), 0);
        if (id < 0) continue;
      }
      this.view.setRemote(id, merged, downloaded);
      // Held only for the others' peers, and they are gone: forget it.
      if (merged === null && downloaded === 0 && store.isDormant(id) && store.downloadedOf(id) === 0) {
        store.dropTorrent(hash);
      }
    }
  }

  #tail(id: string): Uint8Array {
    let t = this.#tails.get(id);
    if (t === undefined) this.#tails.set(id, (t = enc.encode(`:${id}`)));
    return t;
  }

  #send(c: RedisClient, cmd: string, args: (string | Uint8Array)[]): Promise<unknown> {
    this.stats.commands++;
    // (send takes byte arrays at runtime, though its type says strings: binary keys and values go as is)
    return c.send(cmd, args as string[]);
  }

  #count<T>(p: Promise<T>): Promise<T> {
    this.stats.commands++;
    return p;
  }
}
