// Memory for the peer records of every torrent of one address family: blocks carved out of 1 MiB chunks
// by a bump pointer, instead of a typed array per torrent (measured: per-torrent arrays left the allocator
// holding two to four times the live bytes after swarms grew, because outgrown arrays are never reused).
//
// A block starts with an 8-byte header: the owner (torrent id, or DEAD once freed) and the block's length.
// Freed blocks are only counted as garbage. When garbage passes a sixteenth of the live bytes, `compactStep`
// starts moving the live blocks out of the chunk with the most garbage, EVACUATE_STEP_BYTES of it per call
// (a fraction of a millisecond; a whole chunk of small blocks took up to 28 ms), and recycles the chunk when
// it is empty; the owner is told its block's new address. So memory stays within about 17/16 of what the
// swarms hold. Blocks larger than a chunk get a chunk of their own.

import { readU32, writeU32 } from "./bytes.ts";

/** Not an address: chunk 0 is never used, so per-torrent block addresses can start as zeros. */
export const NO_BLOCK = 0;
export const BLOCK_HEADER = 8;
const CHUNK_SHIFT = 20;
export const CHUNK_BYTES = 1 << CHUNK_SHIFT;
const OFFSET_MASK = CHUNK_BYTES - 1;
const MAX_CHUNKS = 4096; // addresses are u32: chunk << 20 | offset
const DEAD = 0xffffffff;
/** Empty chunks kept for reuse instead of being given back (a burst of growth after a sweep is common). */
const SPARE_CHUNKS = 2;
/** Bytes of a chunk walked per compaction step. */
const EVACUATE_STEP_BYTES = 32 * 1024;

export class PeerArena {
  /** Chunk i holds the blocks whose address >>> 20 is i; null when the slot is unused (slot 0 always). */
  readonly chunks: (Uint8Array | null)[] = [null];
  /** Bytes bump-allocated so far in each chunk (the walkable end). */
  readonly #used: number[] = [0];
  /** Freed bytes in each chunk, including the unused tail of a chunk that was full. */
  readonly #garbage: number[] = [0];
  #current = -1;
  /** The chunk being emptied by compaction (-1: none) and how far its blocks have been walked. */
  #evacuating = -1;
  #evacuatedTo = 0;
  readonly #spare: number[] = [];
  readonly #unusedSlots: number[] = [];
  readonly #moved: (owner: number, addr: number) => void;
  liveBytes = 0;
  garbageBytes = 0;

  /** `moved(owner, addr)` is called when compaction moves a block. */
  constructor(moved: (owner: number, addr: number) => void) {
    this.#moved = moved;
  }

  /** Bytes held in chunks (live, garbage and the free room of the current chunk). */
  get reservedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== null) n += c.length;
    return n;
  }

  /** A block of `bytes` (header included) for `owner`; returns its address. */
  alloc(owner: number, bytes: number): number {
    this.liveBytes += bytes;
    if (bytes > CHUNK_BYTES) {
      const i = this.#newSlot();
      this.chunks[i] = new Uint8Array(bytes);
      this.#used[i] = bytes;
      this.#garbage[i] = 0;
      this.#writeHeader(this.chunks[i]!, 0, owner, bytes);
      return i * CHUNK_BYTES;
    }
    let cur = this.#current;
    if (cur < 0 || this.#used[cur] + bytes > CHUNK_BYTES) {
      if (cur >= 0) this.#retire(cur);
      cur = this.#current = this.#spare.pop() ?? this.#newChunk();
    }
    const o = this.#used[cur];
    this.#used[cur] = o + bytes;
    this.#writeHeader(this.chunks[cur]!, o, owner, bytes);
    return cur * CHUNK_BYTES + o;
  }

  /** Gives a block back. */
  free(addr: number): void {
    const i = addr >>> CHUNK_SHIFT;
    const o = addr & OFFSET_MASK;
    const chunk = this.chunks[i]!;
    const bytes = readU32(chunk, o + 4);
    writeU32(chunk, o, DEAD);
    this.liveBytes -= bytes;
    if (bytes > CHUNK_BYTES) {
      this.chunks[i] = null; // a block with a chunk of its own: give it all back
      this.#unusedSlots.push(i);
      return;
    }
    this.#garbage[i] += bytes;
    this.garbageBytes += bytes;
    if (i === this.#current && this.#garbage[i] === this.#used[i]) {
      this.garbageBytes -= this.#garbage[i]; // everything in the current chunk died: start it over
      this.#used[i] = this.#garbage[i] = 0;
    } else if (i !== this.#current && i !== this.#evacuating && this.#garbage[i] === CHUNK_BYTES) {
      this.garbageBytes -= CHUNK_BYTES;
      this.#recycle(i);
    }
  }

  /** Bytes of the block at `addr`, header included. */
  blockBytes(addr: number): number {
    return readU32(this.chunks[addr >>> CHUNK_SHIFT]!, (addr & OFFSET_MASK) + 4);
  }

  /**
   * If garbage has grown past a sixteenth of the live bytes (or a chunk is being emptied already), moves the
   * live blocks of the next EVACUATE_STEP_BYTES of the chunk with the most garbage. Call only between
   * operations: it changes block addresses.
   */
  compactStep(): void {
    if (this.#evacuating < 0) {
      if (this.garbageBytes <= 2 * CHUNK_BYTES || this.garbageBytes * 16 <= this.liveBytes) return;
      let worst = -1;
      for (let i = 0; i < this.chunks.length; i++) {
        if (i === this.#current || this.chunks[i] === null || this.#used[i] > CHUNK_BYTES) continue;
        if (worst < 0 || this.#garbage[i] > this.#garbage[worst]) worst = i;
      }
      if (worst < 0 || this.#garbage[worst] === 0) return;
      this.#evacuating = worst;
      this.#evacuatedTo = 0;
    }
    const worst = this.#evacuating;
    const from = this.chunks[worst]!;
    const end = this.#used[worst];
    const stop = Math.min(end, this.#evacuatedTo + EVACUATE_STEP_BYTES);
    let o = this.#evacuatedTo;
    while (o < stop) {
      const owner = readU32(from, o);
      const bytes = readU32(from, o + 4);
      if (owner !== DEAD) {
        const addr = this.alloc(owner, bytes); // never lands in `worst`: it is neither current nor spare
        this.liveBytes -= bytes;
        const to = this.chunks[addr >>> CHUNK_SHIFT]!;
        const at = addr & OFFSET_MASK;
        if (bytes > 64) to.set(from.subarray(o, o + bytes), at);
        else for (let k = 0; k < bytes; k++) to[at + k] = from[o + k];
        writeU32(from, o, DEAD);
        this.#moved(owner, addr);
      }
      o += bytes;
    }
    this.#evacuatedTo = o;
    if (o < end) return;
    this.#evacuating = -1;
    this.garbageBytes -= this.#garbage[worst];
    this.#recycle(worst);
  }

  /** A full chunk stops being bump-allocated; its unused tail counts as garbage from now on. */
  #retire(i: number): void {
    const tail = CHUNK_BYTES - this.#used[i];
    this.#garbage[i] += tail;
    this.garbageBytes += tail;
    if (this.#garbage[i] === CHUNK_BYTES) {
      this.garbageBytes -= CHUNK_BYTES;
      this.#recycle(i);
    }
  }

  #recycle(i: number): void {
    this.#used[i] = this.#garbage[i] = 0;
    if (this.#spare.length < SPARE_CHUNKS) this.#spare.push(i);
    else {
      this.chunks[i] = null;
      this.#unusedSlots.push(i);
    }
  }

  #newChunk(): number {
    const i = this.#newSlot();
    this.chunks[i] = new Uint8Array(CHUNK_BYTES);
    this.#used[i] = this.#garbage[i] = 0;
    return i;
  }

  #newSlot(): number {
    const reused = this.#unusedSlots.pop();
    if (reused !== undefined) return reused;
    if (this.chunks.length >= MAX_CHUNKS) throw new RangeError("peer memory exhausted (4 GiB per address family)");
    this.chunks.push(null);
    this.#used.push(0);
    this.#garbage.push(0);
    return this.chunks.length - 1;
  }

  #writeHeader(chunk: Uint8Array, o: number, owner: number, bytes: number): void {
    writeU32(chunk, o, owner);
    writeU32(chunk, o + 4, bytes);
  }
}
