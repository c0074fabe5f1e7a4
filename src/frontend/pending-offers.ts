// The offers relayed to one WebTorrent connection that it may still answer. An answer is relayed only when it
// matches one of them: same offer id and torrent, from the peer the offer went to, back to the peer that made
// it, once, within OFFER_ANSWER_TIMEOUT_S. Without this, any swarm member could push answers (up to the
// message cap each) at any peer id and fill a slow victim's send queue until it is disconnected.
//
// The maker is named by peer id in the answer and found by its handle here (recorded with the offer), so the
// answer reaches the very connection that made the offer, on whichever thread (--workers) it is.
//
// Memory: a ring of fixed-size slots (offer id, info hash and the maker's peer id as 60 bytes, three u32s),
// allocated on the first offer and doubled only when the slot to reuse is still live, up to MAX_PENDING_OFFERS;
// past that the oldest offer is forgotten (its maker gives up on it first). Recording an offer allocates nothing once the ring has
// grown to fit the connection's traffic. Pure: the caller passes the time in (whole seconds).

/**
 * How long an offer can be answered, seconds. The reference client (bittorrent-tracker) drops an unanswered
 * offer after 50 s; with whole-second clocks an answer up to a second later still passes.
 */
export const OFFER_ANSWER_TIMEOUT_S = 50;
/** Offers one connection can have outstanding: 16 peer ids each receiving offers from many swarms fit. */
export const MAX_PENDING_OFFERS = 256;
const FIRST_SLOTS = 8;
const ID_BYTES = 60; // offer id, info hash, maker's peer id (binary strings: one char per byte)
const META = 3; // maker's handle, receiver's handle, expiry (0: free)
const EXPIRES = 2;

export class PendingOffers {
  #ids: Uint8Array | null = null;
  #meta: Uint32Array | null = null;
  /** The slot written next: the oldest one once the ring is full. */
  #next = 0;

  /** Slots allocated now (grows with traffic, at most MAX_PENDING_OFFERS). */
  get capacity(): number {
    return this.#meta === null ? 0 : this.#meta.length / META;
  }

  /**
   * Remembers that `offerId` (torrent `infoHash`) went from handle `maker` (peer id `makerPeerId`) to this
   * connection's `receiver`.
   */
  add(offerId: string, infoHash: string, maker: number, receiver: number, now: number, makerPeerId: string): void {
    if (this.#meta === null) this.#alloc(FIRST_SLOTS);
    let meta = this.#meta!;
    if (meta[this.#next * META + EXPIRES] >= now && this.capacity < MAX_PENDING_OFFERS) {
      this.#grow();
      meta = this.#meta!;
    }
    const slot = this.#next;
    const ids = this.#ids!;
    const at = slot * ID_BYTES;
    for (let i = 0; i < 20; i++) {
      ids[at + i] = offerId.charCodeAt(i);
      ids[at + 20 + i] = infoHash.charCodeAt(i);
      ids[at + 40 + i] = makerPeerId.charCodeAt(i);
    }
    meta[slot * META] = maker;
    meta[slot * META + 1] = receiver;
    meta[slot * META + EXPIRES] = now + OFFER_ANSWER_TIMEOUT_S;
    this.#next = (slot + 1) % this.capacity;
  }

  /**
   * The slot of an outstanding offer `offerId` (torrent `infoHash`) that peer id `makerPeerId` made for
   * `receiver`, or -1: how an answer finds its maker's handle (`makerAt`) when the maker's connection may be on
   * another thread (see ws-tracker.ts). The offer stays outstanding until `end`.
   */
  find(offerId: string, infoHash: string, makerPeerId: string, receiver: number, now: number): number {
    const meta = this.#meta;
    if (meta === null) return -1;
    const ids = this.#ids!;
    const first = offerId.charCodeAt(0);
    for (let slot = 0, m = 0; m < meta.length; slot++, m += META) {
      const at = slot * ID_BYTES;
      // (The offer id's first byte first: random, it rules out nearly every other slot at once.)
      if (ids[at] !== first || meta[m + 1] !== receiver || meta[m + EXPIRES] < now || meta[m + EXPIRES] === 0) continue;
      let i = 1;
      while (i < 20 && ids[at + i] === offerId.charCodeAt(i)) i++;
      if (i < 20) continue;
      i = 0;
      while (i < 20 && ids[at + 20 + i] === infoHash.charCodeAt(i) && ids[at + 40 + i] === makerPeerId.charCodeAt(i))
        i++;
      if (i === 20) return slot;
    }
    return -1;
  }

  /** The maker's handle of the offer in `slot` (from `find`). */
  makerAt(slot: number): number {
    return this.#meta![slot * META];
  }

  /** Ends the offer in `slot` (from `find`): it has been answered. */
  end(slot: number): void {
    this.#meta![slot * META + EXPIRES] = 0;
  }

  #alloc(slots: number): void {
    this.#ids = new Uint8Array(slots * ID_BYTES);
    this.#meta = new Uint32Array(slots * META);
  }

  /** Doubles the ring, oldest slot first, so the new half is free and written next. */
  #grow(): void {
    const [ids, meta, old] = [this.#ids!, this.#meta!, this.capacity];
    this.#alloc(Math.min(MAX_PENDING_OFFERS, old * 2));
    const split = this.#next;
    this.#ids!.set(ids.subarray(split * ID_BYTES), 0);
    this.#ids!.set(ids.subarray(0, split * ID_BYTES), (old - split) * ID_BYTES);
    this.#meta!.set(meta.subarray(split * META), 0);
    this.#meta!.set(meta.subarray(0, split * META), (old - split) * META);
    this.#next = old;
  }
}
