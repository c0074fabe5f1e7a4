// The kinds of value an option takes: each parses the text given on the command line or in the environment
// (later: a config file), says what is wrong with a bad one, and writes a value back in TOML form for
// --check-config. Pure.

import { CidrSet } from "../core/cidr.ts";
import type { ListenAddress } from "./config.ts";

/** What is wrong with a value. `quote`: the message repeats the value given (false for secrets, and for
 * messages that already name the bad part). */
export class Invalid {
  constructor(
    readonly message: string,
    readonly quote = true,
  ) {}
}

export interface ValueType<T> {
  parse(text: string): T | Invalid;
  /** The value as a TOML value; null: not set (printed as a comment). */
  toml(value: T): string | null;
  /** The values allowed, for --help and the docs, when the placeholder does not say ("1-86400"). */
  range?: string;
  /** Asks --check-config to print a placeholder instead of the value. */
  secret?: boolean;
}

export const tomlString = (s: string): string => JSON.stringify(s); // JSON string escapes are valid TOML basic strings

export function int(min: number, max: number): ValueType<number> & { min: number; max: number } {
  return {
    min,
    max,
    range: `${min}-${max}`,
    parse: (text) =>
      /^[0-9]{1,15}$/.test(text) && Number(text) >= min && Number(text) <= max
        ? Number(text)
        : new Invalid(`must be an integer from ${min} to ${max}`),
    toml: (v) => String(v),
  };
}

/** An integer in [min, max], or "auto" (resolved when the tracker starts). */
export function intOrAuto(min: number, max: number): ValueType<number | "auto"> {
  const n = int(min, max);
  return {
    range: `auto or ${n.range}`,
    parse: (text) =>
      text === "auto"
        ? "auto"
        : n.parse(text) instanceof Invalid
          ? new Invalid(`must be auto or an integer from ${min} to ${max}`)
          : Number(text),
    toml: (v) => (v === "auto" ? tomlString(v) : String(v)),
  };
}

/** "a, b or c" */
export function orList(words: readonly string[]): string {
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

export function oneOf<const W extends string>(...words: W[]): ValueType<W> & { words: readonly W[] } {
  return {
    words,
    parse: (text) => ((words as string[]).includes(text) ? (text as W) : new Invalid(`must be ${orList(words)}`)),
    toml: (v) => tomlString(v),
  };
}

export const onOff: ValueType<boolean> = {
  parse: (text) => (text === "on" ? true : text === "off" ? false : new Invalid("must be on or off")),
  toml: (v) => tomlString(v ? "on" : "off"),
};

/** A file path; an empty value means none. */
export const path: ValueType<string | null> = {
  parse: (text) => (text === "" ? null : /[\0\n]/.test(text) ? new Invalid("not a file path", false) : text),
  toml: (v) => (v === null ? null : tomlString(v)),
};

/** A CIDR list ("" means none). */
export const cidrList: ValueType<CidrSet | null> = {
  parse(text) {
    const set = CidrSet.parse(text);
    if (typeof set === "string") return new Invalid(set, false);
    return set.size === 0 ? null : set;
  },
  toml: (v) => tomlString(v === null ? "" : v.text.join(",")),
};

export const ADMIN_TOKEN_MIN = 16;

/** The admin token: checked for length, never repeated in a message or printed. */
export const secret: ValueType<string | null> = {
  parse: (text) =>
    text.length >= ADMIN_TOKEN_MIN
      ? text
      : new Invalid(`must be at least ${ADMIN_TOKEN_MIN} characters (try: openssl rand -hex 32)`, false),
  toml: (v) => (v === null ? null : tomlString(v)),
  secret: true,
};

const DEFAULT_HOST = "::";

export function formatListen(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** "HOST:PORT", "[IPv6]:PORT", ":PORT" or "PORT" (a bare port is dual stack). Hosts may be names; the OS
 * resolves them when binding. Port 0 picks a free port. */
export function parseListen(text: string): ListenAddress | Invalid {
  const shape = new Invalid("expected HOST:PORT, [IPv6]:PORT or PORT");
  let host = DEFAULT_HOST;
  let portText = text;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return shape;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    if (text.slice(0, colon).includes(":")) return new Invalid("an IPv6 address needs brackets: [IPv6]:PORT");
    host = text.slice(0, colon) || DEFAULT_HOST;
    portText = text.slice(colon + 1);
  }
  if (host === "" || /[\s/?#@[\]]/.test(host)) return shape;
  if (!/^[0-9]+$/.test(portText)) return shape;
  if (portText.length > 5 || Number(portText) > 65535) return new Invalid("port out of range (0-65535)");
  return { host, port: Number(portText) };
}

export const listen: ValueType<ListenAddress> = { parse: parseListen, toml: (v) => tomlString(formatListen(v)) };

export const listenOrOff: ValueType<ListenAddress | null> = {
  parse: (text) => (text === "off" ? null : parseListen(text)),
  toml: (v) => tomlString(v === null ? "off" : formatListen(v)),
};

/** A listen address, or none ("" or not given). */
export const optionalListen: ValueType<ListenAddress | null> = {
  parse: (text) => (text === "" ? null : parseListen(text)),
  toml: (v) => (v === null ? null : tomlString(formatListen(v))),
};

const ENGINE_SCHEMES = ["redis:", "rediss:", "valkey:", "valkeys:"];

/** An engine URL as logs and metrics show it: without user name and password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * Engine URLs for cluster mode (redis://, rediss:// for TLS, or valkey:// and valkeys://), comma-separated; ""
 * means none. Secret: a URL may carry a password, so it is never repeated in a message or printed.
 */
export const engineUrls: ValueType<string[] | null> = {
  parse(text) {
    if (text === "") return null;
    const urls = text.split(",").map((u) => u.trim());
    for (const [i, u] of urls.entries()) {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        return new Invalid(`URL ${i + 1} is not a URL (expected redis://[USER:PASSWORD@]HOST:PORT[/DB])`, false);
      }
      if (!ENGINE_SCHEMES.includes(parsed.protocol) || parsed.hostname === "")
        return new Invalid(`URL ${i + 1} must be redis://, rediss://, valkey:// or valkeys:// with a host`, false);
    }
    if (new Set(urls.map(redactUrl)).size !== urls.length) return new Invalid("the same engine is named twice", false);
    return urls;
  },
  toml: (v) => (v === null ? null : tomlString(v.join(","))),
  secret: true,
};

/** A name made of letters, digits and -_.: (an engine key part). */
export function keyName(maxLength: number): ValueType<string> {
  return {
    parse: (text) =>
      new RegExp(`^[A-Za-z0-9_.:-]{1,${maxLength}}$`).test(text)
        ? text
        : new Invalid(`must be 1 to ${maxLength} of A-Z a-z 0-9 _ . : -`),
    toml: (v) => tomlString(v),
  };
}
