// One torrent: its IPv4 and IPv6 peer lists (created on first use) and its completion count.

import { PeerList } from "./peer-list.ts";

export class Swarm {
  v4: PeerList | null = null;
  v6: PeerList | null = null;
  /** Completions seen for this torrent (BEP 48 `downloaded`). */
  downloaded = 0;
  /** No peers left, kept only for `downloaded` (see Store). */
  dormant = false;

  list(ipLen: 4 | 16): PeerList | null {
    return ipLen === 4 ? this.v4 : this.v6;
  }

  listOrCreate(ipLen: 4 | 16): PeerList {
    if (ipLen === 4) return (this.v4 ??= new PeerList(4));
    return (this.v6 ??= new PeerList(16));
  }

  get seeders(): number {
    return (this.v4?.seeders ?? 0) + (this.v6?.seeders ?? 0);
  }

  get leechers(): number {
    return (this.v4?.leechers ?? 0) + (this.v6?.leechers ?? 0);
  }

  get peers(): number {
    return (this.v4?.count ?? 0) + (this.v6?.count ?? 0);
  }
}
