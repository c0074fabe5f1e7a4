// Rustracker's environment variables (its README and /etc/rustracker.env as its installer writes it), read as
// aliases of ours so that an operator can swap the binary and keep the settings file. Ours win: an alias is
// dropped when one of our settings for the same thing is given (flag, BUNTRACKER_* variable or --config file).
// parse-args.ts applies them and reports each one found, so that main.ts can log one line per variable.

export interface RustrackerVariable {
  name: string;
  /** The option it stands for; null: no equivalent (ignored, and `note` says what to do instead). */
  key: string | null;
  /** Our other options that, when given, make the alias moot (they would contradict it). */
  yieldsTo?: readonly string[];
  note?: string;
}

export const RUSTRACKER_VARIABLES: readonly RustrackerVariable[] = [
  { name: "RUSTRACKER_LISTEN", key: "listen" },
  { name: "RUSTRACKER_INTERVAL_SECS", key: "interval_secs" },
  { name: "RUSTRACKER_PEER_TIMEOUT_SECS", key: "peer_timeout_secs" },
  { name: "RUSTRACKER_BLACKLIST", key: "blacklist", yieldsTo: ["access_list", "access_mode"] },
  { name: "RUSTRACKER_ADMIN_TOKEN", key: "admin_token", yieldsTo: ["admin_token_file"] },
  // Its history in its own format: imported once into ours (beside it unless --trends-file says), never written.
  { name: "RUSTRACKER_TRENDS_FILE", key: "import_rustracker_trends" },
  // A yes/no there; here the proxies' addresses, so that no one else can forge a client address.
  { name: "RUSTRACKER_TRUST_PROXY_HEADERS", key: null, note: "set BUNTRACKER_TRUST_PROXY to your proxies' addresses" },
  // Only in some 0.2.x versions (a header-read timeout).
  { name: "RUSTRACKER_KEEPALIVE_TIMEOUT_SECS", key: null, note: "the server closes idle connections itself" },
];

/** One Rustracker variable found in the environment, and what became of it. */
export type AliasUse =
  /** `ours`: the variable it was read as. */
  | { variable: string; outcome: "used"; ours: string }
  /** `by`: our setting that won (a flag, a variable, or a key in the config file). */
  | { variable: string; outcome: "overridden"; ours: string; by: string }
  | { variable: string; outcome: "unsupported"; note: string };

/** The sentence --check-config prints and the log line carries. */
export function describeAlias(a: AliasUse): string {
  switch (a.outcome) {
    case "used":
      return `${a.variable} is read as ${a.ours}`;
    case "overridden":
      return `${a.variable} is ignored: ${a.by} is given`;
    case "unsupported":
      return `${a.variable} has no equivalent and is ignored: ${a.note}`;
  }
}
