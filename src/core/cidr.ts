// CIDR networks (trusted reverse proxies), compiled once and matched against raw address bytes. IPv4 and
// IPv4-mapped forms are the same network; IPv6 prefixes compare byte by byte (no BigInt per request).

import { parseIp } from "../codec/ip.ts";

interface Network {
  len: 4 | 16;
  bytes: Uint8Array;
  prefix: number;
}

export class CidrSet {
  readonly #nets: Network[];
  readonly text: string[];

  private constructor(nets: Network[], text: string[]) {
    this.#nets = nets;
    this.text = text;
  }

  /** "10.0.0.0/8, 2001:db8::/32, 127.0.0.1": an address without a prefix is a single host. */
  static parse(list: string): CidrSet | string {
    const nets: Network[] = [];
    const text: string[] = [];
    for (const raw of list.split(",")) {
      const item = raw.trim();
      if (item === "") continue;
      const slash = item.indexOf("/");
      const bytes = new Uint8Array(16);
      const len = parseIp(slash < 0 ? item : item.slice(0, slash), bytes);
      if (len === 0) return `"${item}" is not an IP address or CIDR network`;
      const max = len * 8;
      const prefixText = slash < 0 ? String(max) : item.slice(slash + 1);
      if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max)
        return `"${item}" has a bad prefix length (0-${max})`;
      nets.push({ len, bytes: bytes.slice(0, len), prefix: Number(prefixText) });
      text.push(item);
    }
    return new CidrSet(nets, text);
  }

  get size(): number {
    return this.#nets.length;
  }

  /** Whether ip[0..len) lies in one of the networks. */
  has(ip: Uint8Array, len: 4 | 16): boolean {
    for (const n of this.#nets) {
      if (n.len !== len) continue;
      const full = n.prefix >> 3;
      let ok = true;
      for (let i = 0; i < full && ok; i++) ok = ip[i] === n.bytes[i];
      const rest = n.prefix & 7;
      if (ok && rest > 0) {
        const mask = (0xff << (8 - rest)) & 0xff;
        ok = (ip[full] & mask) === (n.bytes[full] & mask);
      }
      if (ok) return true;
    }
    return false;
  }
}
