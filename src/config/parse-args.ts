// Command line + BUNTRACKER_* environment -> Config, driven by the option table (options.ts) and the rules
// (rules.ts). Pure: argv and env are passed in. The command line wins over the environment; every bad value
// yields one line naming the flag or variable, the value and what is allowed.

import type { Config } from "./config.ts";
import { type DefaultContext, OPTION_BY_FLAG, OPTION_BY_KEY, OPTIONS } from "./options.ts";
import type { PlatformDefaults } from "./platform.ts";
import { RULES, type RuleContext } from "./rules.ts";
import { Invalid } from "./value-types.ts";

/** Where a setting came from: `from` is the flag or variable as given ("default" when neither). */
export interface Source {
  kind: "default" | "env" | "flag";
  from: string;
}

export type ParseResult =
  | { kind: "run"; config: Config }
  | { kind: "check"; config: Config; sources: ReadonlyMap<string, Source> }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

const NO_PLATFORM: PlatformDefaults = { trendsFile: null };

/** `platform`: defaults that depend on where the tracker runs (see platform.ts); none when not given. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: PlatformDefaults = NO_PLATFORM,
): ParseResult {
  const given = new Map<string, { text: string; from: string; kind: "env" | "flag" }>();
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v !== undefined && v !== "") given.set(o.key, { text: v, from: o.env, kind: "env" });
  }
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--version" || arg === "-V") return { kind: "version" };
    if (arg === "--check-config") {
      check = true;
      continue;
    }
    if (!arg.startsWith("--")) return { kind: "error", message: `unexpected argument "${arg}" (see --help)` };
    const eq = arg.indexOf("=");
    const flag = arg.slice(0, eq < 0 ? undefined : eq);
    const option = OPTION_BY_FLAG.get(flag);
    if (option === undefined) return { kind: "error", message: unknownFlag(flag) };
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) return { kind: "error", message: `${flag} needs a value` };
      text = argv[++i];
    }
    given.set(option.key, { text, from: flag, kind: "flag" });
  }

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
    given: ((key: string) => given.get(key)) as DefaultContext["given"] & RuleContext["given"],
    givenText: (key) => given.get(key)?.text,
    name: (key) => given.get(key)?.from ?? OPTION_BY_KEY.get(key)!.flag,
    platform,
  };
  for (const o of OPTIONS) if (o.field !== null) ctx.get(o.field);
  for (const rule of RULES) {
    const message = rule.check(ctx);
    if (message !== null) return { kind: "error", message };
  }
  if (!check) return { kind: "run", config: config as Config };
  const sources = new Map<string, Source>();
  for (const o of OPTIONS) {
    const g = given.get(o.key);
    sources.set(o.key, g === undefined ? { kind: "default", from: "default" } : { kind: g.kind, from: g.from });
  }
  for (const alias of OPTIONS) {
    const g = given.get(alias.key);
    for (const key of alias.sets ?? []) if (g !== undefined && !given.has(key)) sources.set(key, { kind: g.kind, from: g.from });
  }
  return { kind: "check", config: config as Config, sources };
}

/** "unknown option --lisen (did you mean --listen?)" when a flag is close. */
function unknownFlag(flag: string): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of [...OPTION_BY_FLAG.keys(), "--help", "--version", "--check-config"]) {
    // A flag cut short ("--peer-timeout") is as close as one typo.
    const d = flag.length > 4 && known.startsWith(flag) ? 1 : editDistance(flag, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  const close = best !== null && bestDistance <= Math.max(2, Math.floor(flag.length / 4));
  return `unknown option ${flag} ${close ? `(did you mean ${best}?)` : "(see --help)"}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
