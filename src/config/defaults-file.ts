// What --print-config prints: a complete config file of the defaults, every option with its help as comments
// and its default as a commented-out `key = value` line (uncomment one to change it). Read back with --config it
// gives the default settings, commented or not. Pure: the default Config (which may depend on the platform) is
// passed in.

import type { Config } from "./config.ts";
import { wrap } from "./help.ts";
import { GROUPS, OPTIONS } from "./options.ts";

const WIDTH = 100;

export function defaultsFile(defaults: Config, version: string): string {
  const out = [
    `# buntracker ${version} configuration (TOML). Use it with: buntracker --config PATH`,
    "# Every option is shown with its default, commented out: uncomment a line to change it. The command line and",
    "# BUNTRACKER_* environment variables win over this file. On Unix, SIGHUP re-reads it (see docs/options.md).",
  ];
  for (const group of GROUPS) {
    out.push("", `## ${group}`);
    for (const o of OPTIONS.filter((x) => x.group === group)) {
      const range = o.type.range === undefined ? "" : ` Range ${o.type.range}.`;
      const derived = o.defaultText === null ? "" : ` Default: ${o.defaultText}.`;
      out.push("", ...wrap(`${o.help}${range}${derived}`, WIDTH - 2).map((l) => `# ${l}`));
      // An alias has no value of its own (it only changes other defaults): shown with its placeholder.
      const value = o.field === null ? null : o.type.toml(defaults[o.field]);
      out.push(value === null ? `# ${o.key} = (not set; ${o.value})` : `# ${o.key} = ${value}`);
    }
  }
  return `${out.join("\n")}\n`;
}
