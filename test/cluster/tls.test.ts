// rediss://: cluster mode with an engine that speaks TLS only. The engine's certificate is self-signed here,
// so the tracker trusts it through NODE_EXTRA_CA_CERTS (docs/cluster.md); without it the engine stays
// unreachable (a certificate the tracker does not trust) and the tracker still serves.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePair } from "../helpers/certs.ts";
import { freePort, waitFor } from "../helpers/clients.ts";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER } from "../helpers/redis-server.ts";
import { startTracker } from "../helpers/tracker-process.ts";

if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

async function metric(port: number, name: string): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").find((l) => l.startsWith(name));
}

describe.skipIf(REDIS_SERVER === null)("cluster mode over TLS (rediss://)", () => {
  let dir: string;
  let engine: ReturnType<typeof Bun.spawn>;
  let url: string;
  let ca: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "buntracker-rediss-"));
    const pair = makePair(dir, "engine");
    ca = pair.cert;
    const port = await freePort();
    engine = Bun.spawn(
      [
        REDIS_SERVER!,
        ...["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1"],
        ...["--tls-cert-file", pair.cert, "--tls-key-file", pair.key, "--tls-ca-cert-file", pair.cert],
        ...["--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir],
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    let seen = "";
    const reader = (engine.stdout as ReadableStream<Uint8Array>).getReader();
    while (!seen.includes("Ready to accept connections")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`redis-server with TLS did not start: ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    url = `rediss://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    engine?.kill(9);
    await engine?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  test("with the engine's CA trusted: connected, and a peer announced here is published", async () => {
    const args = ["--listen", "127.0.0.1:0", "--udp-listen", "off", "--redis", url, "--cluster-sync-ms", "100"];
    const t = await startTracker([...args, "--cluster-instance-id", "tls-a"], { NODE_EXTRA_CA_CERTS: ca });
    try {
      const q = announceQuery({ infoHash: sha1("rediss"), port: 6881, left: 0 });
      await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`);
      await waitFor("the engine up", 5000, async () =>
        (await metric(t.httpPort, "buntracker_cluster_engine_up{"))?.endsWith(" 1") ? true : undefined,
      );
      const stats = await waitFor("a complete sync", 5000, async () => {
        const s = (await (await fetch(`http://127.0.0.1:${t.httpPort}/api/stats`)).json()) as {
          cluster: { last_sync_at: number; engines: { engine: string; up: boolean; errors: number }[] };
        };
        return s.cluster.last_sync_at > 0 ? s : undefined;
      });
      expect(stats.cluster.engines).toEqual([{ engine: url, up: true, errors: 0 }]);
    } finally {
      await t.stop();
    }
  });

  test("without it: the engine is not trusted, said once, and the tracker still answers", async () => {
    const args = ["--listen", "127.0.0.1:0", "--udp-listen", "off", "--redis", url, "--cluster-sync-ms", "100"];
    const t = await startTracker([...args, "--cluster-instance-id", "tls-b"]);
    try {
      const q = announceQuery({ infoHash: sha1("rediss untrusted"), port: 6881, left: 0 });
      const r = await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`);
      expect(r.body.complete).toBe(1);
      expect(await metric(t.httpPort, "buntracker_cluster_engine_up{")).toEndWith(" 0");
      // Several failed attempts by now (a sync every 100 ms), one line.
      await Bun.sleep(500);
      const lines = t
        .output()
        .split("\n")
        .filter((l) => l.includes("cluster: engine unreachable"));
      expect(lines.length).toBe(1);
    } finally {
      await t.stop();
    }
  });
});
