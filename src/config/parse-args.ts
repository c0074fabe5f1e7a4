// Command line + BUNTRACKER_* environment + optional TOML config file -> Config, driven by the option table
// (options.ts) and the rules (rules.ts). Pure: argv, env and the file reader are passed in. The command line
// wins over the environment, which wins over the file, which wins over Rustracker's variables
// (rustracker-env.ts); every bad value yields one line naming the flag, variable or file key, the value and
// what is allowed.

import { readFileSync } from "node:fs";
import type { Config } from "./config.ts";
import { type DefaultContext, OPTION_BY_FLAG, OPTION_BY_KEY, OPTIONS } from "./options.ts";
import type { PlatformDefaults } from "./platform.ts";
import { RULES, type RuleContext } from "./rules.ts";
import { type AliasUse, describeAlias, RUSTRACKER_VARIABLES } from "./rustracker-env.ts";
import { Invalid } from "./value-types.ts";

/** Where a setting came from: `from` is the flag or variable as given ("default" when neither). */
export interface Source {
  kind: "default" | "file" | "env" | "flag";
  from: string;
}

/** The config file's flag and variable (not options themselves: a file cannot name another file). */
export const CONFIG_FLAG = "--config";
export const CONFIG_ENV = "BUNTRACKER_CONFIG";

type Given = Map<string, { text: string; from: string; kind: "file" | "env" | "flag" }>;

/** `aliases`: each Rustracker variable found in the environment and what became of it (main.ts logs them).
 * `configFile`: the --config file read, if any. */
export type ParseResult =
  | { kind: "run"; config: Config; aliases: AliasUse[]; configFile: string | null }
  | { kind: "check"; config: Config; sources: ReadonlyMap<string, Source>; warnings: string[]; aliases: AliasUse[] }
  | { kind: "help" }
  | { kind: "print-config" }
  | { kind: "version" }
  | { kind: "error"; message: string };

const NO_PLATFORM: PlatformDefaults = { trendsFile: null };

/** `platform`: defaults that depend on where the tracker runs (see platform.ts); none when not given.
 * `readText`: reads the --config file. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: PlatformDefaults = NO_PLATFORM,
  readText: (path: string) => string = (path) => readFileSync(path, "utf8"),
): ParseResult {
  const flags: { key: string; text: string; from: string }[] = [];
  let configFile: { path: string; from: string } | null = env[CONFIG_ENV]
    ? { path: env[CONFIG_ENV], from: CONFIG_ENV }
    : null;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--version" || arg === "-V") return { kind: "version" };
    if (arg === "--print-config") return { kind: "print-config" };
    if (arg === "--check-config") {
      check = true;
      continue;
    }
    if (!arg.startsWith("--")) return { kind: "error", message: `unexpected argument "${arg}" (see --help)` };
    const eq = arg.indexOf("=");
    const flag = arg.slice(0, eq < 0 ? undefined : eq);
    const option = OPTION_BY_FLAG.get(flag);
    if (option === undefined && flag !== CONFIG_FLAG) return { kind: "error", message: unknownFlag(flag) };
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) return { kind: "error", message: `${flag} needs a value` };
      text = argv[++i];
    }
    if (option === undefined) configFile = { path: text, from: flag };
    else flags.push({ key: option.key, text, from: flag });
  }

  // Lowest first: the file, then the environment, then the command line.
  const given: Given = new Map();
  if (configFile !== null) {
    const error = readConfigFile(configFile.path, configFile.from, readText, given);
    if (error !== null) return { kind: "error", message: error };
  }
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v !== undefined && v !== "") given.set(o.key, { text: v, from: o.env, kind: "env" });
  }
  for (const f of flags) given.set(f.key, { text: f.text, from: f.from, kind: "flag" });
  const aliases = applyAliases(env, given);

  // Every given value is parsed first (in table order, so the first bad one is reported), then defaults are
  // derived on demand, then the rules run.
  const parsed = new Map<string, unknown>();
  for (const o of OPTIONS) {
    const g = given.get(o.key);
    if (g === undefined) continue;
    const v = o.type.parse(g.text);
    if (v instanceof Invalid) {
      return { kind: "error", message: `invalid ${g.from}${v.quote ? ` "${g.text}"` : ""}: ${v.message}` };
    }
    parsed.set(o.key, v);
  }
  const config: Partial<Record<keyof Config, unknown>> = {};
  const ctx: DefaultContext & RuleContext = {
    get<F extends keyof Config>(field: F): Config[F] {
      if (!(field in config)) {
        const o = OPTIONS.find((x) => x.field === field)!;
        config[field] = parsed.has(o.key) ? parsed.get(o.key) : o.default(ctx);
      }
      return config[field] as Config[F];
    },
    given: (key) => given.get(key),
    name: (key) => given.get(key)?.from ?? OPTION_BY_KEY.get(key)!.flag,
    platform,
  };
  // In table order, whatever order the defaults were derived in.
  const result = Object.fromEntries(
    OPTIONS.filter((o) => o.field !== null).map((o) => [o.field, ctx.get(o.field!)]),
  ) as unknown as Config;
  for (const rule of RULES) {
    const message = rule.check(ctx);
    if (message !== null) return { kind: "error", message };
  }
  if (!check) return { kind: "run", config: result, aliases, configFile: configFile?.path ?? null };
  const sources = new Map<string, Source>();
  for (const o of OPTIONS) {
    const g = given.get(o.key);
    sources.set(o.key, g === undefined ? { kind: "default", from: "default" } : { kind: g.kind, from: g.from });
  }
  for (const alias of OPTIONS) {
    const g = given.get(alias.key);
    for (const key of alias.sets ?? [])
      if (g !== undefined && !given.has(key)) sources.set(key, { kind: g.kind, from: g.from });
  }
  const warnings = [...aliases.filter((a) => a.outcome !== "used").map(describeAlias), ...unknownVariables(env)];
  return { kind: "check", config: result, sources, warnings, aliases };
}

/** Rustracker's variables, lowest of all: each fills its option unless one of ours already covers it. */
function applyAliases(env: Readonly<Record<string, string | undefined>>, given: Given): AliasUse[] {
  const uses: AliasUse[] = [];
  for (const v of RUSTRACKER_VARIABLES) {
    const text = env[v.name];
    if (text === undefined || text === "") continue;
    if (v.key === null) {
      uses.push({ variable: v.name, outcome: "unsupported", note: v.note ?? "" });
      continue;
    }
    const ours = OPTION_BY_KEY.get(v.key)!.env;
    const winner = [v.key, ...(v.yieldsTo ?? [])].map((k) => given.get(k)).find((g) => g !== undefined);
    if (winner !== undefined) uses.push({ variable: v.name, outcome: "overridden", ours, by: winner.from });
    else {
      given.set(v.key, { text, from: v.name, kind: "env" });
      uses.push({ variable: v.name, outcome: "used", ours });
    }
  }
  return uses;
}

/** A TOML file with the table's keys at top level: its values go into `given`. Returns a message when bad. */
function readConfigFile(path: string, from: string, readText: (path: string) => string, given: Given): string | null {
  let doc: Record<string, unknown>;
  let source: string;
  try {
    source = readText(path);
    doc = Bun.TOML.parse(source) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^TOML Parse error: /, "") : String(err);
    return `cannot read ${from} ${path}: ${why}`;
  }
  for (const [key, value] of Object.entries(doc)) {
    const option = OPTION_BY_KEY.get(key);
    if (option === undefined) {
      const near = closest(key, [...OPTION_BY_KEY.keys()]);
      return `unknown key ${key} in ${path}${lineOf(source, key)} ${near === null ? "(see docs/options.md)" : `(did you mean ${near}?)`}`;
    }
    const text =
      typeof value === "string"
        ? value
        : typeof value === "number" && Number.isInteger(value)
          ? String(value)
          : typeof value === "boolean"
            ? value
              ? "on"
              : "off"
            : null;
    if (text === null)
      return `invalid ${key} in ${path}${lineOf(source, key)}: must be a string, an integer, true or false`;
    given.set(key, { text, from: `${key} in ${path}`, kind: "file" });
  }
  return null;
}

/** " line N" where `key` is set or opens a table in a TOML text ("" if not found: Bun.TOML gives no
 * positions, so the line is looked up by its key, bare or quoted). */
function lineOf(text: string, key: string): string {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const name = `(?:${k}|"${k}"|'${k}')`;
  const pattern = new RegExp(`^\\s*(?:${name}\\s*[=.]|\\[\\[?\\s*${name}\\s*[\\].])`);
  const index = text.split(/\r?\n/).findIndex((line) => pattern.test(line));
  return index < 0 ? "" : ` line ${index + 1}`;
}

/** BUNTRACKER_* variables that are no setting: a typo in a settings file would otherwise go unnoticed. (Not an
 * error: other tools use the prefix too, such as the installer's BUNTRACKER_BINARY.) */
function unknownVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = [...OPTIONS.map((o) => o.env), CONFIG_ENV];
  return Object.keys(env)
    .filter((name) => name.startsWith("BUNTRACKER_") && !known.includes(name))
    .sort()
    .map((name) => {
      const near = closest(name, known);
      return `${name} is not a setting${near === null ? "" : ` (did you mean ${near}?)`}`;
    });
}

/** "unknown option --lisen (did you mean --listen?)" when a flag is close. */
function unknownFlag(flag: string): string {
  const near = closest(flag, [
    ...OPTION_BY_FLAG.keys(),
    CONFIG_FLAG,
    "--help",
    "--version",
    "--check-config",
    "--print-config",
  ]);
  return `unknown option ${flag} ${near === null ? "(see --help)" : `(did you mean ${near}?)`}`;
}

/** The known name nearest to a mistyped one, if near enough. */
function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    // A name cut short ("--peer-timeout") is as close as one typo.
    const d = name.length > 4 && k.startsWith(name) ? 1 : editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
