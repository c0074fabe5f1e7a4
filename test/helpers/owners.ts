// Info hashes for tests of --workers 2: so many owned by each thread, whatever the hash function makes of labels.

import { ownerAt } from "../../src/core/owner.ts";
import { sha1 } from "./http-client.ts";

/** `n` hashes owned by thread 0 and by thread 1 of two, alternately: sha1 of `${label}-${i}` for rising i. */
export function hashesForBothOwners(n: number, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; out.length < n; i++) {
    const h = sha1(`${label}-${i}`);
    if (ownerAt(h, 0, 2) === out.length % 2) out.push(h);
  }
  return out;
}
