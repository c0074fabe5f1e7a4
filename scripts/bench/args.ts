// Option parsing for the bench subcommands: each declares its options once (name, kind, default, help), so
// parsing, validation and `--help` come from one table. Bad input exits 2 with one line, like the tracker.

export type OptionKind = "int" | "num" | "str" | "flag";

export interface OptionSpec {
  kind: OptionKind;
  default?: string | number | boolean;
  help: string;
  /** Smallest allowed value for int/num. */
  min?: number;
}

export type Specs = Record<string, OptionSpec>;

/** Parsed options: numbers for int/num, strings for str, booleans for flags. */
export type Options<S extends Specs> = {
  [K in keyof S]: S[K]["kind"] extends "int" | "num" ? number : S[K]["kind"] extends "flag" ? boolean : string;
};

export class UsageError extends Error {}

export function parseOptions<S extends Specs>(command: string, specs: S, argv: readonly string[]): Options<S> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.default ?? (spec.kind === "flag" ? false : "");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`${command}: unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`${command}: unknown option --${name} (see --help)`);
    if (spec.kind === "flag") {
      const v = eq < 0 ? "on" : arg.slice(eq + 1);
      if (!["on", "off", "true", "false"].includes(v))
        throw new UsageError(`${command}: --${name} takes no value, or =on/=off`);
      out[name] = v === "on" || v === "true";
      continue;
    }
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: --${name} needs a value`);
      text = argv[++i];
    }
    out[name] = convert(command, name, spec, text);
  }
  return out as Options<S>;
}

function convert(command: string, name: string, spec: OptionSpec, text: string): string | number {
  if (spec.kind === "str") return text;
  const n = Number(text.replaceAll("_", ""));
  const ok = text !== "" && Number.isFinite(n) && (spec.kind === "num" || Number.isInteger(n)) && n >= (spec.min ?? 0);
  if (!ok) {
    const what = spec.kind === "int" ? "an integer" : "a number";
    throw new UsageError(`${command}: invalid --${name} "${text}": must be ${what} >= ${spec.min ?? 0}`);
  }
  return n;
}

export function helpText(command: string, summary: string, specs: Specs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `--${name}${s.kind === "flag" ? "" : s.kind === "str" ? " VALUE" : " N"}`;
    const def = s.default === undefined || s.default === "" || s.default === false ? "" : ` (default ${s.default})`;
    return `  ${left.padEnd(28)} ${s.help}${def}`;
  });
  return `npm run bench -- ${command} [options]\n\n${summary}\n\n${rows.join("\n")}`;
}
