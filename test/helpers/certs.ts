// Self-signed certificates made at test time with Debian's openssl, for the TLS tests.

import { join } from "node:path";

export function openssl(...args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

/**
 * A self-signed pair `name`.crt / `name`.key in `dir`, valid 30 days for `san` (default 127.0.0.1 and
 * localhost), CN `name`.test. `newkey` chooses the key (openssl req -newkey ...); the default is EC P-256.
 */
export function makePair(
  dir: string,
  name: string,
  newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  san = "IP:127.0.0.1,DNS:localhost",
): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(
    "req",
    "-x509",
    ...newkey,
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "30",
    "-subj",
    `/CN=${name}.test`,
    "-addext",
    `subjectAltName=${san}`,
  );
  return { cert, key };
}
