// What a SIGHUP re-read of the settings changed: the options whose value differs from the running one, split
// into those applied at once and those that only a restart applies. Pure.

import type { Config } from "./config.ts";
import { OPTIONS } from "./options.ts";

/** Settings a running tracker takes on at once. (The access list's and the TLS certificate's contents are
 * re-read by SIGHUP anyway; their paths, like every listener and limit, are fixed at start.) */
export const RELOADABLE: ReadonlySet<keyof Config> = new Set<keyof Config>(["logLevel"]);

export interface SettingChanges {
  /** "key: old -> new" for each applied setting (secrets without their values). */
  applied: string[];
  /** The keys of changed settings that need a restart. */
  restart: string[];
}

export function settingChanges(running: Config, next: Config): SettingChanges {
  const changes: SettingChanges = { applied: [], restart: [] };
  for (const o of OPTIONS) {
    if (o.field === null) continue;
    const before = o.type.toml(running[o.field]);
    const after = o.type.toml(next[o.field]);
    if (before === after) continue;
    if (!RELOADABLE.has(o.field)) changes.restart.push(o.key);
    else changes.applied.push(o.type.secret ? o.key : `${o.key}: ${before ?? "none"} -> ${after ?? "none"}`);
  }
  return changes;
}
