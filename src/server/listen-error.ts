// A listener that cannot bind, explained in one line. Bun's own messages leave out what a user needs: a UDP
// port in use says "bind EADDRINUSE ::" (no port, no protocol), a port below 1024 as non-root says
// "permission denied :::80" (no hint how to allow it).

import type { ListenAddress } from "../config/config.ts";
import { formatListen } from "../config/value-types.ts";
import { errorText } from "./logger.ts";

export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** `what`: "UDP", "HTTP", "HTTPS" or "admin HTTP". Ports below 1024 are privileged on Linux by default. */
export function listenError(err: unknown, what: string, at: ListenAddress): ListenError {
  const code = (err as { code?: unknown })?.code;
  const host = at.host.includes(":") ? `[${at.host}]` : at.host;
  if (code === "EADDRINUSE") {
    return new ListenError(`${what} port ${at.port} on ${host} is already in use (another tracker running?)`, code);
  }
  if (code === "EACCES") {
    const hint =
      at.port < 1024 && process.platform !== "win32"
        ? `: ports below 1024 need root or CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep ${process.execPath})`
        : "";
    return new ListenError(`permission denied for ${what} port ${at.port} on ${host}${hint}`, code);
  }
  if (code === "EADDRNOTAVAIL") {
    return new ListenError(`${what} on ${formatListen(at)}: ${at.host} is not an address of this host`, code);
  }
  return new ListenError(
    `${what} on ${formatListen(at)}: ${errorText(err)}`,
    typeof code === "string" ? code : undefined,
  );
}
