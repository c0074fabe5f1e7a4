// Info hashes for tests of --workers: so many owned by each thread, whatever the hash function makes of labels.

import { ownerAt } from "../../src/core/owner.ts";
import { sha1 } from "./http-client.ts";

/** `n` hashes, the i-th owned by thread i % count of `count`: sha1 of `${label}-${j}` for rising j. */
export function hashesForOwners(count: number, n: number, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; out.length < n; i++) {
    const h = sha1(`${label}-${i}`);
    if (ownerAt(h, 0, count) === out.length % count) out.push(h);
  }
  return out;
}

/** `n` hashes owned by thread 0 and by thread 1 of two, alternately. */
export function hashesForBothOwners(n: number, label: string): Uint8Array[] {
  return hashesForOwners(2, n, label);
}
