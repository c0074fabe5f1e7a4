// Text in the rings: URLs, addresses and socket names cross threads as latin1 bytes. A Buffer over a ring's
// bytes reads and writes them natively; one is made per ring and kept.

const buffers = new WeakMap<Uint8Array, Buffer>();

/** The Buffer over the same memory as `d` (a ring's bytes: `mesh.dataTo(to)` or a handler's `data`). */
export function latin1View(d: Uint8Array): Buffer {
  let b = buffers.get(d);
  if (b === undefined) buffers.set(d, (b = Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
  return b;
}
