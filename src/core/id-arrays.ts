// Typed arrays indexed by torrent id, which grow as the torrent table does. Each sits on a resizable
// ArrayBuffer with room reserved up front (the store reserves for its torrent limit), so growing is a
// `resize` in place: no copy, no outgrown array left with the allocator, no pause while a big one is copied.
// The room is only address space: the runtime reserves it with mmap and the kernel backs a page once it is
// written, so ids not yet in use cost nothing. (A plain array of the full size is not as good: measured in
// Bun 1.4.4, the allocator zero-fills it up front in some runs, which makes it all resident.)
//
// Measured on a 2.35M-peer, 100k-torrent fill: copying growth left 3.5 MiB of outgrown arrays resident, and
// stalled announces for 26 ms at each step past half a million torrents (BENCHMARKS.md).

export type IdArray = Uint8Array | Int32Array | Uint32Array;
type Ctor<T extends IdArray> = { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** `length` zeros, with room to grow in place up to `room` elements. */
export function idArray<T extends IdArray>(ctor: Ctor<T>, length: number, room: number): T {
  const size = ctor.BYTES_PER_ELEMENT;
  return new ctor(new ArrayBuffer(length * size, { maxByteLength: Math.max(length, room) * size }), 0, length);
}

/**
 * `a` with room for `capacity` elements; the new tail is 0. In place while its buffer's room lasts, else
 * copied to a new array with room for `room` elements.
 */
export function grown<T extends IdArray>(a: T, capacity: number, room = capacity): T {
  const ctor = a.constructor as Ctor<T>;
  const buffer = a.buffer as ArrayBuffer;
  const bytes = capacity * ctor.BYTES_PER_ELEMENT;
  if (buffer.resizable && bytes <= buffer.maxByteLength) {
    if (bytes > buffer.byteLength) buffer.resize(bytes);
    return new ctor(buffer, 0, capacity);
  }
  const next = idArray(ctor, capacity, room);
  next.set(a);
  return next;
}
