// A single-producer, single-consumer queue of variable-length messages in a SharedArrayBuffer: how one thread
// hands requests (and replies) to another without a postMessage per message. One writer thread, one reader
// thread, no locks: the writer only moves `head`, the reader only moves `tail`, each with an Atomics store
// after the bytes it covers are written or read (release/acquire ordering).
//
// Layout: two Int32 words (head, tail: byte positions that only grow, wrapping at 2^32 as int32 arithmetic),
// padding to 64 bytes, then `capacity` bytes of messages. A message is a 4-byte length and its bytes, padded
// to 4. A message that would cross the end is preceded by a WRAP word and starts again at 0.

const HEAD = 0;
const TAIL = 1;
const HEADER_BYTES = 64;
/** In place of a length: the rest of the buffer is unused, the next message is at 0. */
const WRAP = -1;

export class Ring {
  /** The message bytes; a message's payload is data[at, at + length). */
  readonly data: Uint8Array;
  readonly view: DataView;
  readonly capacity: number;
  readonly #words: Int32Array;
  readonly #mask: number;
  /** The writer's uncommitted position (reserve moves it, commit publishes it). */
  #writeAt = 0;
  /** The reader's position of the message after the one last returned by `next`. */
  #readNext = 0;

  /** `capacity`: a power of two, at least 1 KiB. */
  static memory(capacity: number): SharedArrayBuffer {
    if (capacity < 1024 || (capacity & (capacity - 1)) !== 0) throw new RangeError("ring capacity: a power of two");
    return new SharedArrayBuffer(HEADER_BYTES + capacity);
  }

  constructor(memory: SharedArrayBuffer) {
    this.capacity = memory.byteLength - HEADER_BYTES;
    this.#mask = this.capacity - 1;
    this.#words = new Int32Array(memory, 0, 2);
    this.data = new Uint8Array(memory, HEADER_BYTES, this.capacity);
    this.view = new DataView(memory, HEADER_BYTES, this.capacity);
    this.#writeAt = Atomics.load(this.#words, HEAD);
    this.#readNext = Atomics.load(this.#words, TAIL);
  }

  // ---- writer side

  /**
   * Room for a message of `length` bytes: returns the offset in `data` to write its payload at, or -1 when the
   * ring is full (the caller drops or refuses: the writer never waits). Call `commit` once it is written.
   */
  reserve(length: number): number {
    const need = 4 + ((length + 3) & ~3);
    let at = this.#writeAt;
    const used = (at - Atomics.load(this.#words, TAIL)) | 0;
    let offset = at & this.#mask;
    const toEnd = this.capacity - offset;
    if (toEnd < need) {
      // Skip to the start; the skipped bytes count as used until the reader passes them.
      if (used + toEnd + need > this.capacity) return -1;
      this.view.setInt32(offset, WRAP, true);
      at = (at + toEnd) | 0;
      offset = 0;
    } else if (used + need > this.capacity) {
      return -1;
    }
    this.view.setInt32(offset, length, true);
    this.#writeAt = (at + need) | 0;
    return offset + 4;
  }

  /** Publishes what `reserve` gave: the reader may now see it. */
  commit(): void {
    Atomics.store(this.#words, HEAD, this.#writeAt);
  }

  // ---- reader side

  /**
   * The next message: its payload offset in `data` (its length is `lengthAt(offset)`), or -1 when there is none
   * yet. The bytes stay valid until `release`, which frees everything read so far.
   */
  next(): number {
    let at = this.#readNext;
    if (at === Atomics.load(this.#words, HEAD)) return -1;
    let offset = at & this.#mask;
    let length = this.view.getInt32(offset, true);
    if (length === WRAP) {
      at = (at + (this.capacity - offset)) | 0;
      offset = 0;
      length = this.view.getInt32(0, true);
    }
    this.#readNext = (at + 4 + ((length + 3) & ~3)) | 0;
    return offset + 4;
  }

  /** The payload length of the message whose payload is at `offset`. */
  lengthAt(offset: number): number {
    return this.view.getInt32(offset - 4, true);
  }

  /** Frees the messages returned by `next` so far. */
  release(): void {
    Atomics.store(this.#words, TAIL, this.#readNext);
  }

  /** Bytes written and not yet released (either side may ask). */
  get pending(): number {
    return (Atomics.load(this.#words, HEAD) - Atomics.load(this.#words, TAIL)) | 0;
  }
}
