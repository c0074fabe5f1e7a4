// `buntracker healthcheck [URL] [options]`: one GET of a /healthz URL, for a container HEALTHCHECK or a script
// without curl. Exits 0 when it answers 200 and 1 otherwise (also for bad arguments: Docker reserves other
// codes), with one line saying what it saw. Without URL: the admin listener's /healthz (the deep checks) when
// the same settings (flags, BUNTRACKER_* environment, --config) name one, else --listen's.

import type { Config } from "../config/config.ts";
import { parseArgs } from "../config/parse-args.ts";
import { platformDefaults } from "../config/platform.ts";
import { formatListen } from "../config/value-types.ts";
import { errorText } from "./logger.ts";

export const HEALTHCHECK_TIMEOUT_MS = 5000;

export interface HealthTarget {
  url: string;
  /** The tracker's own address with its own certificate: not checked against the name (it is a local IP). */
  ownCertificate: boolean;
}

/** The /healthz URL the settings lead to: the admin listener's if set, else --listen's (HTTPS when it is). */
export function defaultHealthTarget(config: Config): HealthTarget | string {
  const admin = config.adminListen;
  const listen = admin ?? config.listen;
  if (listen.port === 0) return `${admin === null ? "--listen" : "--admin-listen"} has port 0: give the URL`;
  // A wildcard address is reached on the loopback address (a dual-stack [::] takes IPv4 too).
  const host = listen.host === "::" || listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host;
  const tls = admin === null && config.tlsCert !== null && config.tlsListen === null;
  return {
    url: `${tls ? "https" : "http"}://${formatListen({ host, port: listen.port })}/healthz`,
    ownCertificate: tls,
  };
}

/** One request: whether it answered 200, and the line to print. */
export async function checkHealth(
  target: HealthTarget,
  timeoutMs = HEALTHCHECK_TIMEOUT_MS,
): Promise<{ ok: boolean; line: string }> {
  const { url } = target;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
      ...(target.ownCertificate ? { tls: { rejectUnauthorized: false } } : {}),
    });
    const first = (await res.text()).trim().split("\n")[0].slice(0, 300);
    if (res.status === 200)
      return { ok: true, line: `healthy: ${url} answered 200${first === "" ? "" : ` (${first})`}` };
    return { ok: false, line: `unhealthy: ${url} answered ${res.status}${first === "" ? "" : `: ${first}`}` };
  } catch (err) {
    if (err instanceof DOMException && err.name === "TimeoutError") {
      return { ok: false, line: `unhealthy: ${url} did not answer within ${timeoutMs / 1000} s` };
    }
    // (Bun's own text for a refused connection asks whether the computer can reach the URL: say what it means.)
    const why =
      (err as { code?: unknown }).code === "ECONNREFUSED"
        ? "connection refused (is the tracker running?)"
        : errorText(err);
    return { ok: false, line: `unhealthy: cannot reach ${url}: ${why}` };
  }
}

/** The subcommand: `args` follow "healthcheck". Prints one line; returns the exit code (0 or 1). */
export async function healthcheckCommand(
  args: readonly string[],
  env: Record<string, string | undefined>,
): Promise<0 | 1> {
  const say = (ok: boolean, line: string): 0 | 1 => {
    (ok ? process.stdout : process.stderr).write(`buntracker: ${line}\n`);
    return ok ? 0 : 1;
  };
  const given = args.length > 0 && !args[0].startsWith("-") ? args[0] : null;
  const parsed = parseArgs(
    given === null ? args : args.slice(1),
    env,
    platformDefaults(process.platform, env, Bun.isStandaloneExecutable),
  );
  if (parsed.kind === "error") return say(false, parsed.message);
  let target: HealthTarget;
  if (given !== null) {
    if (!URL.canParse(given) || !/^https?:$/.test(new URL(given).protocol))
      return say(false, `healthcheck: "${given}" is not an http:// or https:// URL`);
    target = { url: given, ownCertificate: false };
  } else {
    if (parsed.kind !== "run" && parsed.kind !== "check")
      return say(false, "healthcheck takes a URL and settings only (see --help)");
    const t = defaultHealthTarget(parsed.config);
    if (typeof t === "string") return say(false, `healthcheck: ${t}`);
    target = t;
  }
  const { ok, line } = await checkHealth(target);
  return say(ok, line);
}
