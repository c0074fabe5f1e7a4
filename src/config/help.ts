// --help, from the option table: options grouped under headings, each description wrapped beside (or, for a
// long flag, below) its flag, then the HTTP endpoints. Pure: the width is passed in.

import { GROUPS, type Option, OPTIONS } from "./options.ts";

/** The width to wrap to: the terminal's, or 80 when not a terminal. */
export function helpWidth(stdout: { isTTY?: boolean; columns?: number }): number {
  return stdout.isTTY && stdout.columns ? stdout.columns : 80;
}

const ENDPOINTS: readonly [string, string][] = [
  [
    "/announce, /scrape",
    "BitTorrent announce and scrape over HTTP; the same port serves udp://HOST:PORT/announce (BEP 15) and ws://HOST:PORT/announce (WebTorrent).",
  ],
  ["/", "The dashboard (when the build has it; not with --public-stats off)."],
  [
    "/healthz",
    'Answers "ok" while the tracker runs. On --admin-listen it also checks the UDP socket, the event-loop lag and the state file\'s folder, and answers 503 with the reason when one fails.',
  ],
  ["/metrics", "Prometheus metrics (only on --admin-listen when it is set)."],
  ["/api/stats, /api/trends, /api/clients", "The dashboard's data as JSON (not with --public-stats off)."],
  ["/api/blacklist", "The admin API for the access list (needs --admin-token; only on --admin-listen when it is set)."],
];

/** Splits text into lines of at most `width` characters (a word longer than that gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** A term and its description: side by side when the term leaves room, else the description below it. */
function entry(term: string, description: string, width: number, column: number): string[] {
  const head = `  ${term}`;
  const body = wrap(description, Math.max(20, width - column)).map((l) => " ".repeat(column) + l);
  if (head.length + 2 <= column && body.length > 0) return [head + body[0].slice(head.length), ...body.slice(1)];
  return [head, ...body];
}

export function optionDescription(o: Option): string {
  const range = o.type.range === undefined ? "" : ` Range ${o.type.range}.`;
  return `${o.help}${range}${o.defaultText === null ? "" : ` Default: ${o.defaultText}.`} Env ${o.env}.`;
}

export function helpText(version: string, width = 80): string {
  const column = Math.min(32, Math.max(8, Math.floor(width * 0.4)));
  const out = [
    ...wrap(`buntracker ${version}: a BitTorrent tracker (HTTP, UDP and WebTorrent)`, width),
    "",
    "Usage: buntracker [options]",
    "       buntracker healthcheck [URL] [options]",
    "",
    ...wrap(
      "Every option can also be set by the environment variable shown, or in a --config file; the command line wins, then the environment, then the file.",
      width,
    ),
  ];
  for (const group of GROUPS) {
    out.push("", `${group}:`);
    for (const o of OPTIONS.filter((x) => x.group === group))
      out.push(...entry(`${o.flag} ${o.value}`, optionDescription(o), width, column));
  }
  out.push("", "Other:");
  out.push(
    ...entry(
      "--config PATH",
      "Read settings from this TOML file: the keys are the option names in snake case (interval_secs = 900); --check-config prints them. The environment and the command line win over it. Env BUNTRACKER_CONFIG.",
      width,
      column,
    ),
  );
  out.push(
    ...entry(
      "--check-config",
      "Check the settings (flags, environment and --config file), print them with where each came from, and exit: 0 when they are good, 2 with the problem when not. The admin token is not shown.",
      width,
      column,
    ),
  );
  out.push(
    ...entry(
      "--print-config",
      "Print a config file of every option with its help and default (commented out), and exit.",
      width,
      column,
    ),
  );
  out.push(
    ...entry(
      "healthcheck [URL]",
      "Fetch URL (default: /healthz on --admin-listen if set, else on --listen, from the same settings), print one line and exit 0 when it answers 200, 1 otherwise. For container HEALTHCHECK and scripts without curl.",
      width,
      column,
    ),
  );
  out.push(...entry("-h, --help", "Show this help and exit.", width, column));
  out.push(...entry("-V, --version", "Print the version and exit.", width, column));
  out.push("", "HTTP endpoints (on --listen):");
  for (const [path, what] of ENDPOINTS) out.push(...entry(path, what, width, column));
  return out.join("\n");
}
