// A Config as it crosses to a Worker: structured cloning keeps plain values but not classes, so the address
// lists (CidrSet) travel as their text and are parsed again on the other side.

import type { Config } from "../../config/config.ts";
import { CidrSet } from "../../core/cidr.ts";

export type ConfigWire = Omit<Config, "trustProxy" | "rateLimitExempt"> & {
  trustProxy: string[] | null;
  rateLimitExempt: string[] | null;
};

export function configToWire(c: Config): ConfigWire {
  return { ...c, trustProxy: c.trustProxy?.text ?? null, rateLimitExempt: c.rateLimitExempt?.text ?? null };
}

export function configFromWire(w: ConfigWire): Config {
  const cidr = (text: string[] | null) => {
    if (text === null) return null;
    const set = CidrSet.parse(text.join(","));
    if (typeof set === "string") throw new Error(`address list did not survive the hand-over: ${set}`);
    return set;
  };
  return { ...w, trustProxy: cidr(w.trustProxy), rateLimitExempt: cidr(w.rateLimitExempt) };
}
