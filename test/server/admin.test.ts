// The admin API (/api/blacklist): bearer-token access, the throttle on failed attempts and their logging,
// listing, adding and removing hashes in the list file, and what happens under concurrent edits.
// Trackers made by admin() trust 127.0.0.1 as a proxy and every request names a fresh client address, so only
// the throttle tests (which name one address on purpose) ever spend a source's budget of failed attempts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseList } from "../../src/core/access.ts";
import { AUTH_FAILURES_PER_MINUTE } from "../../src/server/auth-throttle.ts";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";

const TOKEN = "s3cret-admin-token-0123456789abcdef";
const NOT_ALLOWED = FAILURE_TEXT.not_allowed;
const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

const hexOf = (label: string) => Buffer.from(sha1(label)).toString("hex");

let root: string;
let dirCount = 0;
const running: { stop(): Promise<unknown> }[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "buntracker-admin-"));
});
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Admin {
  t: TestTracker;
  list: string;
  dir: string;
  /** One admin request; `token` null sends no Authorization header. */
  call(
    method: string,
    query?: string,
    body?: unknown,
    token?: string | null,
    source?: string,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** The hashes the list file holds, in file order (each occurrence), after checking it parses cleanly. */
  fileHashes(): Promise<string[]>;
}

/** A tracker with the admin API over a list file holding `content`. */
async function admin(content: string | null, args: string[] = ["--access-mode", "deny"]): Promise<Admin> {
  const dir = join(root, `t${++dirCount}`);
  await mkdir(dir);
  const list = join(dir, "list.txt");
  if (content !== null) await writeFile(list, content);
  const t = await startTestTracker([
    ...args,
    "--access-list",
    list,
    "--admin-token",
    TOKEN,
    "--trust-proxy",
    "127.0.0.1/32",
  ]);
  running.push(t);
  return {
    t,
    list,
    dir,
    call: (method, query = "", body, token = TOKEN, source) => request(t.httpPort, method, query, body, token, source),
    async fileHashes() {
      const text = await readFile(list, "utf8");
      expect(parseList(text).invalid).toEqual([]);
      return text
        .split("\n")
        .filter((l) => /^[0-9a-f]{40}/i.test(l.trim()))
        .map((l) => l.trim().slice(0, 40).toLowerCase());
    },
  };
}

let sources = 0;
/** A client address nobody used yet (seen only by trackers that trust the local proxy). */
const freshSource = () => `198.18.${(++sources >> 8) & 255}.${sources & 255}`;

async function request(
  port: number,
  method: string,
  query: string,
  body: unknown,
  token: string | null = TOKEN,
  source = freshSource(),
) {
  const headers: Record<string, string> = { "x-forwarded-for": source };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}/api/blacklist${query}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: method === "HEAD" || text === "" ? null : JSON.parse(text) };
}

async function announce(port: number, label: string, n = 1): Promise<string | null> {
  const peerId = new TextEncoder().encode(`-qB4650-${String(n).padStart(12, "0")}`);
  const r = await getBencode(
    `http://127.0.0.1:${port}/announce?${announceQuery({ infoHash: sha1(label), port: 6000 + n, peerId, left: 1 })}`,
  );
  return (r.body["failure reason"] as string | undefined) ?? null;
}

describe("authorization", () => {
  test("a missing or wrong token gets 401 with a JSON error, on every method", async () => {
    const a = await admin(`${hexOf("x")}\n`);
    const wrong: [string, string | null][] = [
      ["no header", null],
      ["last character differs", TOKEN.slice(0, -1) + (TOKEN.at(-1) === "f" ? "e" : "f")],
      ["a prefix (shorter)", TOKEN.slice(0, 16)],
      ["longer", TOKEN + "0"],
      ["other case", TOKEN.toUpperCase()],
      ["empty", ""],
    ];
    for (const [why, token] of wrong) {
      for (const method of ["GET", "POST", "DELETE", "PUT"]) {
        const r = await a.call(
          method,
          `?info_hash=${hexOf("x")}`,
          method === "POST" ? { info_hash: hexOf("y") } : undefined,
          token,
        );
        expect({ why, method, status: r.status }).toEqual({ why, method, status: 401 });
        expect(typeof r.body.error).toBe("string");
        expect(r.headers.get("www-authenticate")).toStartWith("Bearer");
      }
    }
    // Nothing was changed by any of them.
    expect(await a.fileHashes()).toEqual([hexOf("x")]);
  });

  test("only the Bearer scheme is accepted", async () => {
    const a = await admin("");
    for (const authorization of [
      `Basic ${btoa(`admin:${TOKEN}`)}`,
      TOKEN,
      `Token ${TOKEN}`,
      `Bearer`,
      `Bearer${TOKEN}`,
    ]) {
      const res = await fetch(`http://127.0.0.1:${a.t.httpPort}/api/blacklist`, {
        headers: { authorization, "x-forwarded-for": freshSource() },
      });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
    }
    const ok = await fetch(`http://127.0.0.1:${a.t.httpPort}/api/blacklist`, {
      headers: { authorization: `bearer ${TOKEN}`, "x-forwarded-for": freshSource() },
    });
    expect(ok.status).toBe(200);
  });

  test("401 comes before anything in the request is looked at", async () => {
    const a = await admin("");
    expect((await a.call("POST", "", "{not json", null)).status).toBe(401);
    expect((await a.call("POST", "", { info_hash: "short" }, null)).status).toBe(401);
    expect((await a.call("POST", "", "x".repeat(100_000), null)).status).toBe(401);
    expect((await a.call("DELETE", "?info_hash=zz", undefined, null)).status).toBe(401);
    expect((await a.call("GET", "?limit=99999", undefined, null)).status).toBe(401);
    expect((await a.call("PATCH", "", undefined, "wrong-token-wrong-token")).status).toBe(401);
  });

  test("without --admin-token the admin API does not exist: 404, whatever the token", async () => {
    const dir = join(root, `t${++dirCount}`);
    await mkdir(dir);
    await writeFile(join(dir, "deny.txt"), "");
    const t = await startTestTracker(["--blacklist", join(dir, "deny.txt")]);
    running.push(t);
    for (const token of [TOKEN, null]) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const r = await request(
          t.httpPort,
          method,
          "",
          method === "POST" ? { info_hash: hexOf("a") } : undefined,
          token,
        );
        expect(r.status).toBe(404);
        expect(r.body.error).toContain("admin API is off");
      }
    }
    expect(await readFile(join(dir, "deny.txt"), "utf8")).toBe("");
  });

  test("a token but no list: 409 (after the token check), but a lookup says nothing is refused", async () => {
    const t = await startTestTracker(["--admin-token", TOKEN]);
    running.push(t);
    const r = await request(t.httpPort, "GET", "", undefined);
    expect(r.status).toBe(409);
    expect(r.body.error).toContain("--access-mode");
    expect((await request(t.httpPort, "POST", "", { info_hash: hexOf("a") })).status).toBe(409);
    expect((await request(t.httpPort, "DELETE", `?info_hash=${hexOf("a")}`, undefined)).status).toBe(409);
    expect((await request(t.httpPort, "GET", "", undefined, null)).status).toBe(401);
    // Rustracker answers this one without a list too.
    const lookup = await request(t.httpPort, "GET", `?info_hash=${hexOf("a")}`, undefined);
    expect(lookup.status).toBe(200);
    const off = { ok: true, blacklisted: false, info_hash: hexOf("a"), error: null, mode: "off", listed: false };
    expect(lookup.body).toEqual(off);
    expect((await request(t.httpPort, "GET", `?info_hash=${hexOf("a")}`, undefined, null)).status).toBe(401);
  });
});

describe("throttling failed attempts", () => {
  const WRONG = "wrong-token-guess-0123456789";

  test("after 5 failures a source gets 429 with Retry-After, its token unchecked; other sources are unaffected", async () => {
    const a = await admin("");
    const source = "203.0.113.9";
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++)
      expect((await a.call("GET", "", undefined, WRONG, source)).status).toBe(401);
    const refused = await a.call("GET", "", undefined, WRONG, source);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe(String(60 / AUTH_FAILURES_PER_MINUTE));
    expect(refused.body.error).toContain("too many failed");
    // Even the right token is not checked now, so a guess cannot be confirmed at a faster pace.
    expect((await a.call("POST", "", { info_hash: hexOf("a") }, TOKEN, source)).status).toBe(429);
    expect(await a.fileHashes()).toEqual([]);
    // Other addresses are not held back.
    expect((await a.call("GET", "", undefined, TOKEN, "2001:db8::1")).status).toBe(200);
    expect((await a.call("GET", "", undefined, TOKEN, "203.0.113.10")).status).toBe(200);
  });

  test("a burst of 200 wrong tokens: 5 are checked, the rest refused; one log line, never the token", async () => {
    const a = await admin("");
    const source = "2001:db8:1:2::7";
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        a.call("DELETE", `?info_hash=${hexOf("x")}`, undefined, `${WRONG}${i}`, i % 2 ? source : "2001:db8:1:2::8"),
      ),
    );
    const statuses = all.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBe(AUTH_FAILURES_PER_MINUTE);
    expect(statuses.filter((s) => s === 429).length).toBe(200 - AUTH_FAILURES_PER_MINUTE);
    const lines = a.t.logs.filter((l) => l.includes("admin: authentication failed"));
    expect(lines.length).toBe(1);
    // Both addresses are in one /64: one source, logged once (with the address that failed first).
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ level: "warn", method: "DELETE" });
    expect(["2001:db8:1:2::7", "2001:db8:1:2::8"]).toContain(line.source);
    expect(a.t.logs.join("\n")).not.toContain(WRONG);
  });
});

describe("reading the list", () => {
  test("GET ?info_hash= says whether a hash is listed (either case in, lowercase out)", async () => {
    const a = await admin(`# comment\n${hexOf("listed")}  # why\n`);
    expect(await a.call("GET", `?info_hash=${hexOf("listed").toUpperCase()}`)).toMatchObject({
      status: 200,
      body: { mode: "deny", info_hash: hexOf("listed"), listed: true },
    });
    const other = (await a.call("GET", `?info_hash=${hexOf("other")}`)).body;
    expect(other).toMatchObject({ mode: "deny", info_hash: hexOf("other"), listed: false });
    for (const bad of ["", "xyz", hexOf("a").slice(1), `${hexOf("a")}00`, "%00"]) {
      const r = await a.call("GET", `?info_hash=${bad}`);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
      expect(r.body.error).toContain("40 hex digits");
    }
  });

  test("GET without info_hash pages through the sorted list with offset and limit", async () => {
    const hashes = Array.from({ length: 25 }, (_, i) => hexOf(`page${i}`));
    const a = await admin(hashes.join("\n") + "\n");
    const sorted = [...hashes].sort();
    const all = await a.call("GET");
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ mode: "deny", total: 25, offset: 0, limit: 100, info_hashes: sorted });
    expect((await a.call("GET", "?offset=10&limit=10")).body).toMatchObject({
      total: 25,
      offset: 10,
      limit: 10,
      info_hashes: sorted.slice(10, 20),
    });
    expect((await a.call("GET", "?offset=20&limit=10")).body.info_hashes).toEqual(sorted.slice(20));
    expect((await a.call("GET", "?offset=30")).body.info_hashes).toEqual([]);
    // Walking the pages gives every hash once.
    const walked: string[] = [];
    for (let offset = 0; offset < 25; offset += 7)
      walked.push(...(await a.call("GET", `?offset=${offset}&limit=7`)).body.info_hashes);
    expect(walked).toEqual(sorted);
    for (const bad of ["?limit=0", "?limit=1001", "?limit=-1", "?offset=-1", "?offset=abc", "?limit=", "?limit=1.5"]) {
      const r = await a.call("GET", bad);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
      expect(typeof r.body.error).toBe("string");
    }
    expect((await a.call("GET", "?limit=1000")).status).toBe(200);
  });
});

describe("Rustracker's documented answers (its scripts keep working)", () => {
  // Rustracker's README: GET answers "blacklisted": true|false; POST answers 200 with "added": true, and
  // "added": false for a duplicate. Its code adds ok, info_hash and error: null. Ours ride along.
  const HASH = "0123456789abcdef0123456789abcdef01234567"; // the README's own example

  test("GET ?info_hash= and POST, exactly as in Rustracker's README examples", async () => {
    const a = await admin("");
    const curl = (init: RequestInit = {}, query = "") =>
      fetch(`http://127.0.0.1:${a.t.httpPort}/api/blacklist${query}`, {
        ...init,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "x-forwarded-for": freshSource(),
          ...(init.headers as Record<string, string>),
        },
      });
    const before = await curl({}, `?info_hash=${HASH}`);
    expect(before.status).toBe(200);
    expect(before.headers.get("content-type")).toStartWith("application/json");
    const common = { ok: true, info_hash: HASH, error: null, mode: "deny" };
    expect(await before.json()).toEqual({ ...common, blacklisted: false, listed: false });

    const body = `{"info_hash":"${HASH}"}`;
    const post = () => curl({ method: "POST", headers: { "content-type": "application/json" }, body });
    const added = await post();
    expect(added.status).toBe(200);
    expect(await added.json()).toEqual({ ...common, added: true });
    const duplicate = await post();
    expect(duplicate.status).toBe(200);
    expect(await duplicate.json()).toEqual({ ...common, added: false, reason: "already listed" });
    expect(await readFile(a.list, "utf8")).toBe(`${HASH}\n`);

    const after = await curl({}, `?info_hash=${HASH.toUpperCase()}`);
    expect(await after.json()).toEqual({ ...common, blacklisted: true, listed: true });
  });

  test("in allow mode, blacklisted means refused: a hash not on the allow list", async () => {
    const a = await admin(`${HASH}\n`, ["--access-mode", "allow"]);
    const allowed = (await a.call("GET", `?info_hash=${HASH}`)).body;
    expect(allowed).toMatchObject({ blacklisted: false, listed: true, mode: "allow" });
    const other = (await a.call("GET", `?info_hash=${hexOf("other")}`)).body;
    expect(other).toMatchObject({ blacklisted: true, listed: false, mode: "allow" });
  });
});

describe("adding", () => {
  test("POST writes the file, then applies it (200 added:true); a duplicate is 200 added:false, not written", async () => {
    const a = await admin(`# my deny list\n${hexOf("old")}\n`);
    expect(await announce(a.t.httpPort, "new")).toBeNull();
    const r = await a.call("POST", "", { info_hash: hexOf("new") });
    expect(r).toMatchObject({ status: 200, body: { mode: "deny", info_hash: hexOf("new"), added: true } });
    expect(await readFile(a.list, "utf8")).toBe(`# my deny list\n${hexOf("old")}\n${hexOf("new")}\n`);
    // Applied at once, no reload needed.
    expect(await announce(a.t.httpPort, "new")).toBe(NOT_ALLOWED);

    for (const hex of [hexOf("new"), hexOf("new").toUpperCase(), ` ${hexOf("old")} `]) {
      const dup = await a.call("POST", "", { info_hash: hex });
      expect(dup.status).toBe(200);
      expect(dup.body).toMatchObject({ added: false, info_hash: hex.trim().toLowerCase() });
    }
    expect(await a.fileHashes()).toEqual([hexOf("old"), hexOf("new")]);
  });

  test("appending to a file whose last line has no newline keeps both hashes intact", async () => {
    const a = await admin(`# no newline at the end\n${hexOf("last")}`);
    expect((await a.call("POST", "", { info_hash: hexOf("added") })).body.added).toBe(true);
    expect(await readFile(a.list, "utf8")).toBe(`# no newline at the end\n${hexOf("last")}\n${hexOf("added")}\n`);
    expect((await a.call("GET", `?info_hash=${hexOf("last")}`)).body.listed).toBe(true);
    expect((await a.call("GET", `?info_hash=${hexOf("added")}`)).body.listed).toBe(true);
    expect(a.t.logs.some((l) => l.includes("not a 40-hex info hash"))).toBe(false);
  });

  test("a list file deleted under a running tracker is written again with the list in force plus the new hash", async () => {
    const a = await admin(`${hexOf("kept")}\n`);
    await rm(a.list);
    expect((await a.call("POST", "", { info_hash: hexOf("new") })).body.added).toBe(true);
    expect((await a.fileHashes()).sort()).toEqual([hexOf("kept"), hexOf("new")].sort());
    expect(await announce(a.t.httpPort, "kept")).toBe(NOT_ALLOWED); // the old entry still applies
  });

  test("a hash already in the file but not yet reloaded is not written twice", async () => {
    const a = await admin("");
    // An operator's edit, and the admin call right behind it, before any watch or poll can reload.
    await writeFile(a.list, `${hexOf("both")}\n`);
    const r = await a.call("POST", "", { info_hash: hexOf("both") });
    expect(r).toMatchObject({ status: 200, body: { info_hash: hexOf("both"), added: false } });
    expect(await a.fileHashes()).toEqual([hexOf("both")]);
    expect((await a.call("GET", `?info_hash=${hexOf("both")}`)).body.listed).toBe(true);
  });

  test("bad bodies get 400, oversized ones 413; nothing is written", async () => {
    const a = await admin("");
    const bad: unknown[] = [
      "{not json",
      "",
      "null",
      "[]",
      "42",
      {},
      { info_hash: 42 },
      { info_hash: null },
      { info_hash: "xyz" },
      { info_hash: hexOf("a").slice(2) },
      { hash: hexOf("a") },
    ];
    for (const body of bad) {
      const r = await a.call("POST", "", body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(typeof r.body.error).toBe("string");
    }
    const big = await a.call("POST", "", { info_hash: hexOf("a"), padding: "x".repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.error).toContain("too large");
    expect(await readFile(a.list, "utf8")).toBe("");
  });

  test("a 10 MB chunked body gets 413 after reading at most the cap, logged as too large", async () => {
    const a = await admin("");
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 10 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    // No Content-Length: Bun's fetch sends a stream chunked.
    const res = await fetch(`http://127.0.0.1:${a.t.httpPort}/api/blacklist`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "x-forwarded-for": freshSource() },
      body,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toContain("too large");
    expect(sent).toBeLessThan(10 * 1024 * 1024); // the server stopped reading
    const logs = a.t.logs.join("\n");
    expect(logs).toContain("admin: request body too large");
    expect(logs).not.toContain("cannot update the access list file");
    expect(await readFile(a.list, "utf8")).toBe("");
  });

  test("other methods get 405 with an Allow header", async () => {
    const a = await admin("");
    for (const method of ["PUT", "PATCH"]) {
      const r = await a.call(method, "", { info_hash: hexOf("a") });
      expect(r.status).toBe(405);
      expect(r.body.error).toBe("method not allowed");
      expect(r.headers.get("allow")).toContain("POST");
    }
  });

  test("a torrent added to the deny list leaves the rankings at once, and is hidden, not forgotten", async () => {
    const a = await admin("");
    expect(await announce(a.t.httpPort, "busy", 1)).toBeNull();
    expect(await announce(a.t.httpPort, "busy", 2)).toBeNull();
    expect(await announce(a.t.httpPort, "quiet", 3)).toBeNull();
    const stats = async () =>
      (await (await fetch(`http://127.0.0.1:${a.t.httpPort}/api/stats`)).json()) as { torrents: number; peers: number };
    expect(await stats()).toMatchObject({ torrents: 2, peers: 3 });
    expect((await a.call("POST", "", { info_hash: hexOf("busy") })).body.added).toBe(true);
    expect(await announce(a.t.httpPort, "busy", 4)).toBe(NOT_ALLOWED);
    expect(await stats()).toMatchObject({ torrents: 2, peers: 3 }); // kept for a peer timeout, counted in the totals
    expect(a.t.logs.some((l) => l.includes("hiding torrents"))).toBe(false); // (that is for reloads)
    const top: any = await (await fetch(`http://127.0.0.1:${a.t.httpPort}/api/top100`)).json();
    expect(top.peers.map((e: any) => e.info_hash)).toEqual([hexOf("quiet")]);
  });
});

describe("removing", () => {
  test("DELETE comments the hash's line out in place, keeping comments and everything else", async () => {
    const before = [
      `# deny list`,
      `${hexOf("a")}  # spam`,
      ``,
      `# keep this note`,
      hexOf("b"),
      `${hexOf("c").toUpperCase()}`,
      ``,
    ].join("\n");
    const a = await admin(before);
    expect(await announce(a.t.httpPort, "b")).toBe(NOT_ALLOWED);
    const inode = (await stat(a.list)).ino;

    const r = await a.call("DELETE", `?info_hash=${hexOf("b")}`);
    expect(r).toMatchObject({ status: 200, body: { mode: "deny", info_hash: hexOf("b"), removed: true } });
    expect(await readFile(a.list, "utf8")).toBe(
      [
        `# deny list`,
        `${hexOf("a")}  # spam`,
        ``,
        `# keep this note`,
        `#${hexOf("b").slice(1)}`,
        `${hexOf("c").toUpperCase()}`,
        ``,
      ].join("\n"),
    );
    expect(await announce(a.t.httpPort, "b")).toBeNull();
    // Edited in place (one byte per line): the same file, not a copy.
    expect((await stat(a.list)).ino).toBe(inode);

    // A line with a trailing comment, and one in upper case, go too.
    expect((await a.call("DELETE", `?info_hash=${hexOf("a")}`)).status).toBe(200);
    expect((await a.call("DELETE", `?info_hash=${hexOf("c")}`)).status).toBe(200);
    expect(await readFile(a.list, "utf8")).toBe(
      `# deny list\n#${hexOf("a").slice(1)}  # spam\n\n# keep this note\n#${hexOf("b").slice(1)}\n#${hexOf("c").toUpperCase().slice(1)}\n`,
    );

    // No temporary file left behind.
    expect(await readdir(a.dir)).toEqual(["list.txt"]);
  });

  test("a hash listed twice by hand is removed entirely", async () => {
    const a = await admin(`${hexOf("twice")}\n${hexOf("other")}\n${hexOf("twice")}\n`);
    expect((await a.call("DELETE", `?info_hash=${hexOf("twice")}`)).status).toBe(200);
    expect(await a.fileHashes()).toEqual([hexOf("other")]);
    expect((await a.call("GET", `?info_hash=${hexOf("twice")}`)).body.listed).toBe(false);
  });

  test("404 when not listed, 400 for a bad or missing hash; the file is left alone", async () => {
    const a = await admin(`${hexOf("a")}\n`);
    const inode = (await stat(a.list)).ino;
    const r = await a.call("DELETE", `?info_hash=${hexOf("nope")}`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ removed: false, error: "not listed" });
    for (const q of ["", "?info_hash=", "?info_hash=12", `?info_hash=${hexOf("a")}x`]) {
      const bad = await a.call("DELETE", q);
      expect({ q, status: bad.status }).toEqual({ q, status: 400 });
    }
    expect((await stat(a.list)).ino).toBe(inode);
    expect(await readFile(a.list, "utf8")).toBe(`${hexOf("a")}\n`);
  });
});

describe("the file as the operator left it", () => {
  test("DELETE while the list file is missing writes the rest of the list in force, not an empty file", async () => {
    const many = Array.from({ length: 300 }, (_, i) => hexOf(`h${i}`));
    const a = await admin(many.map((h) => `${h}\n`).join(""));
    expect(await announce(a.t.httpPort, "h7")).toBe(NOT_ALLOWED);
    await rm(a.list);
    expect((await a.call("DELETE", `?info_hash=${many[0]}`)).status).toBe(200);
    expect((await a.fileHashes()).sort()).toEqual(many.slice(1).sort());
    expect((await a.call("GET")).body.total).toBe(299);
    expect(await announce(a.t.httpPort, "h7")).toBe(NOT_ALLOWED);
    expect(await announce(a.t.httpPort, "h0")).toBeNull();
    // And a DELETE of what is not listed leaves the missing file missing.
    await rm(a.list);
    expect((await a.call("DELETE", `?info_hash=${many[0]}`)).status).toBe(404);
    expect(await readdir(a.dir)).toEqual([]);
  });

  test("DELETE in a list bigger than the reader's 1 MiB buffer comments out just that line, wherever it falls", async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => (i % 1000 === 0 ? `# section ${i}` : hexOf(`big${i}`)));
    const text = `${lines.join("\n")}\n`;
    const a = await admin(text);
    expect((await a.call("GET")).body.total).toBe(39_960);
    for (const i of [25_577, 39_998, 1]) {
      expect((await a.call("DELETE", `?info_hash=${lines[i]}`)).status).toBe(200);
      lines[i] = `#${lines[i].slice(1)}`;
      expect(await readFile(a.list, "utf8")).toBe(`${lines.join("\n")}\n`);
    }
    expect((await a.call("GET")).body.total).toBe(39_957);
  });

  test("DELETE keeps the file's mode and owner", async () => {
    const a = await admin(`${hexOf("a")}\n${hexOf("b")}\n`);
    await chmod(a.list, 0o600);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chown(a.list, 1234, 2345);
    expect((await a.call("DELETE", `?info_hash=${hexOf("a")}`)).status).toBe(200);
    const s = await stat(a.list);
    expect(s.mode & 0o7777).toBe(0o600);
    if (asRoot) expect([s.uid, s.gid]).toEqual([1234, 2345]);
    expect(await a.fileHashes()).toEqual([hexOf("b")]);
  });

  test("DELETE through a symlink edits the file it points to; the link stays a link", async () => {
    const a = await admin("");
    const real = join(a.dir, "real", "deny.txt");
    await mkdir(join(a.dir, "real"));
    await writeFile(real, `${hexOf("a")}\n${hexOf("b")}\n`);
    await rm(a.list);
    await symlink(join("real", "deny.txt"), a.list); // relative, as operators often make them
    await a.t.access.reload("SIGHUP");
    expect((await a.call("GET")).body.total).toBe(2);
    expect((await a.call("DELETE", `?info_hash=${hexOf("a")}`)).status).toBe(200);
    expect((await lstat(a.list)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, "utf8")).toBe(`#${hexOf("a").slice(1)}\n${hexOf("b")}\n`);
    expect((await readdir(join(a.dir, "real"))).sort()).toEqual(["deny.txt"]);
  });
});

describe("allow mode", () => {
  test("the same endpoints manage the allow list", async () => {
    const a = await admin(`${hexOf("allowed")}\n`, ["--access-mode", "allow"]);
    expect(await announce(a.t.httpPort, "later")).toBe(NOT_ALLOWED);
    expect((await a.call("GET")).body).toMatchObject({ mode: "allow", total: 1, info_hashes: [hexOf("allowed")] });

    expect((await a.call("POST", "", { info_hash: hexOf("later") })).body).toMatchObject({
      mode: "allow",
      added: true,
    });
    expect(await announce(a.t.httpPort, "later")).toBeNull();

    expect((await a.call("DELETE", `?info_hash=${hexOf("allowed")}`)).body).toMatchObject({
      mode: "allow",
      removed: true,
    });
    expect(await announce(a.t.httpPort, "allowed")).toBe(NOT_ALLOWED);
    expect(await a.fileHashes()).toEqual([hexOf("later")]);
  });
});

describe("concurrent edits", () => {
  test("50 concurrent adds plus duplicates: each hash in the file exactly once, and memory matches the file", async () => {
    const a = await admin(`# start\n${hexOf("pre")}`); // no trailing newline, to make the first append interesting
    const fresh = Array.from({ length: 50 }, (_, i) => hexOf(`c${i}`));
    const bodies = [
      ...fresh,
      ...fresh.slice(0, 20).map((h) => h.toUpperCase()),
      ...fresh.slice(30),
      hexOf("pre"),
      hexOf("pre"),
    ];
    const results = await Promise.all(bodies.map((h) => a.call("POST", "", { info_hash: h })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => r.body.added === true)).toHaveLength(50);
    expect(results.filter((r) => r.body.added === false)).toHaveLength(bodies.length - 50);
    // Each fresh hash was reported added exactly once.
    const addedHashes = results.filter((r) => r.body.added === true).map((r) => r.body.info_hash);
    expect(addedHashes.sort()).toEqual([...fresh].sort());

    const inFile = await a.fileHashes();
    expect(inFile.sort()).toEqual([hexOf("pre"), ...fresh].sort());
    expect((await readFile(a.list, "utf8")).startsWith("# start\n")).toBe(true);
    const inMemory = (await a.call("GET", "?limit=1000")).body;
    expect(inMemory.total).toBe(51);
    expect(inMemory.info_hashes).toEqual(inFile.sort());
  });

  test("concurrent adds and removes of different hashes never lose an edit", async () => {
    const keep = Array.from({ length: 20 }, (_, i) => hexOf(`k${i}`));
    const gone = Array.from({ length: 20 }, (_, i) => hexOf(`g${i}`));
    const a = await admin(`# mixed\n${gone.join("\n")}\n`);
    const results = await Promise.all([
      ...keep.map((h) => a.call("POST", "", { info_hash: h })),
      ...gone.map((h) => a.call("DELETE", `?info_hash=${h}`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(results.map((r) => r.body.added ?? r.body.removed)).toEqual(Array(40).fill(true));
    expect((await a.fileHashes()).sort()).toEqual([...keep].sort());
    expect((await a.call("GET")).body.info_hashes).toEqual([...keep].sort());
    expect(await readdir(a.dir)).toEqual(["list.txt"]);
  });
});

describe("the admin token at start (real process)", () => {
  function run(args: string[], env: Record<string, string> = {}) {
    const r = Bun.spawnSync([process.execPath, MAIN, "--listen", "127.0.0.1:0", ...args], {
      env: { ...process.env, ...env },
    });
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }
  const expectOneLineExit2 = (r: { code: number | null; stdout: string; stderr: string }, text: string) => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toStartWith("buntracker: ");
    expect(r.stderr).toContain(text);
  };

  test("a token shorter than 16 characters exits 2 with one line", async () => {
    expectOneLineExit2(run(["--admin-token", "x".repeat(15)]), "at least 16 characters");
    expectOneLineExit2(run([], { BUNTRACKER_ADMIN_TOKEN: "tooshort" }), "at least 16 characters");
    const dir = join(root, `t${++dirCount}`);
    await mkdir(dir);
    await writeFile(join(dir, "token"), "  short \n");
    expectOneLineExit2(run(["--admin-token-file", join(dir, "token")]), "at least 16 characters");
  });

  test("16 characters are enough", async () => {
    const p = await startTracker(["--listen", "127.0.0.1:0", "--admin-token", "y".repeat(16)]);
    running.push(p);
    expect((await request(p.httpPort, "GET", "", undefined, "y".repeat(16))).status).toBe(409); // authorized; no list
  });

  test("an unreadable --admin-token-file exits 2 with one line naming it", () => {
    const missing = join(root, "no-such-token-file");
    expectOneLineExit2(run(["--admin-token-file", missing]), missing);
    expectOneLineExit2(run(["--admin-token-file", root]), root); // a directory
  });

  test("--admin-token-file and BUNTRACKER_ADMIN_TOKEN work (the file's trailing newline is not part of the token)", async () => {
    const dir = join(root, `t${++dirCount}`);
    await mkdir(dir);
    await writeFile(join(dir, "token"), `${TOKEN}\n`);
    await writeFile(join(dir, "deny.txt"), "");
    for (const [args, env] of [
      [["--admin-token-file", join(dir, "token")], {}],
      [[], { BUNTRACKER_ADMIN_TOKEN: TOKEN }],
    ] as const) {
      const p = await startTracker(["--listen", "127.0.0.1:0", "--blacklist", join(dir, "deny.txt"), ...args], env);
      running.push(p);
      expect((await request(p.httpPort, "GET", "", undefined)).status).toBe(200);
      expect((await request(p.httpPort, "GET", "", undefined, `${TOKEN}x`)).status).toBe(401);
      // The token never shows up in the logs.
      expect(p.output()).not.toContain(TOKEN);
    }
  });
});
