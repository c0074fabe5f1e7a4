// BEP 15 checklist row 26: a reply must come from the address the client sent to. libtorrent (qBittorrent,
// Deluge) drops replies from any other source. A host with several addresses is built in a private network
// namespace (root and iproute2 needed; CI runs as root), so nothing here touches the machine's own network.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";

const NS = `buntracker-test-${process.pid}`;
const ADDRESSES = ["198.18.0.1", "198.18.0.2", "fd00:b7::1", "fd00:b7::2", "127.0.0.1", "::1"];
let tracker: TrackerProcess;

function sh(...cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString().trim()}`);
}

beforeAll(async () => {
  sh("ip", "netns", "add", NS);
  sh("ip", "-n", NS, "link", "set", "lo", "up");
  for (const a of ADDRESSES.slice(0, 4)) {
    sh(
      "ip",
      "-n",
      NS,
      "addr",
      "add",
      a.includes(":") ? `${a}/128` : `${a}/32`,
      "dev",
      "lo",
      ...(a.includes(":") ? ["nodad"] : []),
    );
  }
  tracker = await startTracker(["--listen", "[::]:6969"], {}, ["ip", "netns", "exec", NS]);
});

afterAll(async () => {
  await tracker?.stop();
  Bun.spawnSync(["ip", "netns", "del", NS]);
});

test("on a wildcard listen, every local address answers from itself (IPv4 and IPv6)", () => {
  const probe = Bun.spawnSync([
    "ip",
    "netns",
    "exec",
    NS,
    process.execPath,
    join(import.meta.dir, "..", "helpers", "udp-probe.ts"),
    "6969",
    ...ADDRESSES,
  ]);
  expect(probe.exitCode).toBe(0);
  const sources = JSON.parse(probe.stdout.toString());
  // IPv4 replies reach an IPv4 client socket as plain IPv4; compare without the ::ffff: prefix.
  const expected = Object.fromEntries(ADDRESSES.map((a) => [a, a]));
  expect(Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, String(v).replace(/^::ffff:/, "")]))).toEqual(
    expected,
  );
});
