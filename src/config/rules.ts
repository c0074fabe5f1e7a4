// Rules that tie options together, each with its message. They run after every option has its value (given or
// default); the defaults always satisfy them, so each rule only fires on something the user gave. Messages
// name options as the user gave them (--flag or BUNTRACKER_VARIABLE), or by flag when they were not given.

import { resolve } from "node:path";
import type { Config } from "./config.ts";

export interface RuleContext {
  get<F extends keyof Config>(field: F): Config[F];
  /** The option's text and where it came from; undefined when it was not given. */
  given(key: string): { text: string; from: string } | undefined;
  /** How to name the option in a message: where it was given, else its flag. */
  name(key: string): string;
}

export interface Rule {
  id: string;
  /** The rule as docs/options.md states it. */
  doc: string;
  /** A message when broken, else null. */
  check(c: RuleContext): string | null;
}

const atMostInterval =
  (key: string, what: string): Rule["check"] =>
  (c) => {
    const g = c.given(key);
    if (g === undefined || Number(g.text) <= c.get("intervalS")) return null;
    return `invalid ${g.from} "${g.text}": ${what} must be at most the announce interval (${c.name("interval_secs")}, ${c.get("intervalS")})`;
  };

export const RULES: readonly Rule[] = [
  {
    id: "cluster-no-state-file",
    doc: "`--state-file` is not given with `--redis` (in cluster mode the engine keeps the completion counts).",
    check(c) {
      const state = c.given("state_file");
      const redis = c.given("redis");
      return state !== undefined && redis !== undefined && c.get("redis") !== null && c.get("stateFile") !== null
        ? `${state.from} and ${redis.from} cannot go together: in cluster mode the engine keeps the completion counts (see docs/cluster.md)`
        : null;
    },
  },
  {
    id: "min-interval-at-most-interval",
    doc: "`--min-interval-secs` is at most `--interval-secs`.",
    check: atMostInterval("min_interval_secs", "the min interval"),
  },
  {
    id: "peer-timeout-at-least-interval",
    doc: "`--peer-timeout-secs` is at least `--interval-secs` (a peer announcing on time is never dropped).",
    check(c) {
      const g = c.given("peer_timeout_secs");
      if (g === undefined || c.get("peerTimeoutS") >= c.get("intervalS")) return null;
      return `invalid ${g.from} "${g.text}": the peer timeout must be at least the announce interval (${c.name("interval_secs")}, ${c.get("intervalS")})`;
    },
  },
  {
    id: "default-numwant-at-most-max",
    doc: "`--default-numwant` is at most `--max-numwant`.",
    check(c) {
      const g = c.given("default_numwant");
      if (g === undefined || c.get("defaultNumWant") <= c.get("maxNumWant")) return null;
      return `invalid ${g.from} "${g.text}": must be at most the most peers per reply (${c.name("max_numwant")}, ${c.get("maxNumWant")})`;
    },
  },
  {
    id: "tls-cert-and-key-together",
    doc: "`--tls-cert` and `--tls-key` come together.",
    check(c) {
      const cert = c.given("tls_cert");
      const key = c.given("tls_key");
      if (cert !== undefined && key === undefined) return `${cert.from} needs --tls-key PATH too`;
      if (key !== undefined && cert === undefined) return `${key.from} needs --tls-cert PATH too`;
      return null;
    },
  },
  {
    id: "tls-listen-needs-cert",
    doc: "`--tls-listen` needs `--tls-cert` and `--tls-key`.",
    check(c) {
      const listen = c.given("tls_listen");
      return listen !== undefined && c.get("tlsCert") === null
        ? `${listen.from} needs --tls-cert PATH and --tls-key PATH`
        : null;
    },
  },
  {
    id: "blacklist-or-access-list",
    doc: "`--blacklist` and `--access-list` are not given together.",
    check(c) {
      const blacklist = c.given("blacklist");
      const list = c.given("access_list");
      return blacklist !== undefined && list !== undefined
        ? `${blacklist.from} and ${list.from} both name a list: use one`
        : null;
    },
  },
  {
    id: "blacklist-is-deny",
    doc: "`--blacklist` goes only with `--access-mode deny` (or none).",
    check(c) {
      const blacklist = c.given("blacklist");
      const mode = c.get("accessMode");
      return blacklist !== undefined && mode !== "deny"
        ? `${blacklist.from} is a deny list, but ${c.name("access_mode")} is ${mode}`
        : null;
    },
  },
  {
    id: "access-mode-needs-list",
    doc: "`--access-mode deny` or `allow` needs `--access-list`.",
    check(c) {
      const mode = c.get("accessMode");
      return mode !== "off" && c.get("accessList") === null
        ? `${c.name("access_mode")} ${mode} needs --access-list PATH`
        : null;
    },
  },
  {
    id: "access-list-needs-mode",
    doc: "`--access-list` needs `--access-mode deny` or `allow`.",
    check(c) {
      return c.get("accessMode") === "off" && c.get("accessList") !== null
        ? `${c.name("access_list")} needs --access-mode deny or allow`
        : null;
    },
  },
  {
    id: "import-is-not-the-trends-file",
    doc: "`--import-rustracker-trends` is not the `--trends-file` (Rustracker's file is read, never written).",
    check(c) {
      const imported = c.given("import_rustracker_trends");
      const ours = c.get("trendsFile");
      if (imported === undefined || ours === null || resolve(imported.text) !== resolve(ours)) return null;
      const why = "give --trends-file another path (the history is kept in buntracker's own format)";
      return `${imported.from} and ${c.name("trends_file")} name the same file: ${why}`;
    },
  },
  {
    id: "one-admin-token",
    doc: "`--admin-token` and `--admin-token-file` are not given together.",
    check(c) {
      const token = c.given("admin_token");
      const file = c.given("admin_token_file");
      return token !== undefined && file !== undefined
        ? `${token.from} and ${file.from} both give an admin token: use one`
        : null;
    },
  },
  {
    id: "admin-listen-own-port",
    doc: "`--admin-listen` has a port of its own (not that of `--listen` or `--tls-listen`).",
    check(c) {
      const admin = c.given("admin_listen");
      const port = c.get("adminListen")?.port ?? 0;
      if (admin === undefined || port === 0) return null;
      const clash = c.get("listen").port === port ? "listen" : c.get("tlsListen")?.port === port ? "tls_listen" : null;
      if (clash === null) return null;
      return `invalid ${admin.from} "${admin.text}": the admin listener needs a port of its own (${c.name(clash)} uses ${port})`;
    },
  },
];
