// Typed arrays indexed by torrent id, which grow as the torrent table does. Each sits on a resizable
// ArrayBuffer with room reserved up front (the store reserves for its torrent limit), so growing is a
// `resize` in place: no copy, no outgrown array left with the allocator, no pause while a big one is copied.
// The room is only address space until ids use it (measured in Bun 1.4.4: two stores reserving 16M ids each
// added 3 MiB of RSS). A plain array of the full size is not as good: in 6 of 8 starts the allocator
// zero-filled one up front, which made it all resident.
//
// Copying growth, measured in-process on a 2.35M-peer, 100k-torrent fill, left 3.5 MiB of outgrown arrays
// resident; at 10M peers it stalled announces for 26 ms past 660k and 830k torrents (BENCHMARKS.md).

export type IdArray = Uint8Array | Int32Array | Uint32Array;
type Ctor<T extends IdArray> = {
  new (buffer: ArrayBuffer, offset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/**
 * A reservation this small is not worth one, and Bun's resizable buffers of at most 64 KiB fail to start under
 * QEMU's user-mode emulator ("mprotect failed"), where the release binaries are tested: a plain buffer then.
 */
const MIN_RESERVED_BYTES = 256 * 1024;

/** `length` zeros, with room to grow in place up to `room` elements. */
export function idArray<T extends IdArray>(ctor: Ctor<T>, length: number, room: number): T {
  const size = ctor.BYTES_PER_ELEMENT;
  const max = Math.max(length, room) * size;
  const buffer =
    max < MIN_RESERVED_BYTES ? new ArrayBuffer(length * size) : new ArrayBuffer(length * size, { maxByteLength: max });
  return new ctor(buffer, 0, length);
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
