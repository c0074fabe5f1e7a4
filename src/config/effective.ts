// What --check-config prints: every setting in force as `key = value` (TOML, with the table's keys, so the
// text can serve as a --config file), grouped, each with where it came from. Secrets are masked. Pure.

import type { Config } from "./config.ts";
import { GROUPS, OPTIONS } from "./options.ts";
import type { Source } from "./parse-args.ts";

/** `dashboard`: whether this build serves it (the installers read the line to say so); null: no line. */
export function effectiveSettings(
  config: Config,
  sources: ReadonlyMap<string, Source>,
  version: string,
  warnings: readonly string[] = [],
  dashboard: boolean | null = null,
): string {
  const out = [`# buntracker ${version}: these settings are valid. Where each came from is on its right.`];
  if (dashboard !== null)
    out.push(dashboard ? "# built with the dashboard" : "# built without the dashboard (/ answers 404)");
  for (const w of warnings) out.push(`# warning: ${w}`);
  for (const group of GROUPS) {
    out.push("", `# ${group}`);
    for (const o of OPTIONS.filter((x) => x.group === group)) {
      const source = sources.get(o.key) ?? { kind: "default", from: "default" };
      const origin =
        source.kind === "default"
          ? "default"
          : source.kind === "file"
            ? `file ${source.from.slice(`${o.key} in `.length)}`
            : `${source.kind} ${source.from}`;
      if (o.field === null) {
        // An alias: shown when given, as what it stands for is shown on the lines it set.
        if (source.kind !== "default") out.push(`# ${o.key} given (${origin}): ${o.help}`);
        continue;
      }
      const value = o.type.toml(config[o.field]);
      // A secret stays out (commented), so the text is still a config file that works, just without it.
      const line =
        value === null
          ? `# ${o.key} = (not set)`
          : o.type.secret
            ? `# ${o.key} = (set, hidden)`
            : `${o.key} = ${value}`;
      out.push(`${line.padEnd(44)}  # ${origin}`);
    }
  }
  return out.join("\n");
}
