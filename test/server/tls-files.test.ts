// Certificate files for HTTPS/WSS: pairs made with openssl at test time load (RSA and EC, PKCS#8 and the
// traditional formats, full chains); bad files are refused with one clear line; the watcher takes a pair
// replaced by rename (as ACME clients and Kubernetes do it), refuses a bad replacement without applying any
// of it, and reloads on demand (SIGHUP).

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePair as makeCertPair, openssl } from "../helpers/certs.ts";
import {
  loadTlsPair,
  TlsFileError,
  TlsFileWatcher,
  type TlsPair,
  type TlsReloadCause,
  type TlsWatcherOptions,
} from "../../src/server/tls-files.ts";

let dir: string;
const certs: Record<string, { cert: string; key: string }> = {};

/** A self-signed pair named `name`, for 30 days; `newkey` chooses the key (req -newkey). */
function makePair(name: string, newkey: string[]): void {
  certs[name] = makeCertPair(dir, name, newkey);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "buntracker-tls-"));
  makePair("rsa", ["-newkey", "rsa:2048"]);
  makePair("rsa2", ["-newkey", "rsa:2048"]);
  makePair("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
  makePair("ec2", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]);
  // Traditional key formats: PKCS#1 "RSA PRIVATE KEY", and "EC PARAMETERS" + "EC PRIVATE KEY" (openssl ecparam).
  const trad = join(dir, "trad-rsa.key");
  openssl("genrsa", "-traditional", "-out", trad, "2048");
  openssl("req", "-x509", "-key", trad, "-out", join(dir, "trad-rsa.crt"), "-days", "30", "-subj", "/CN=trad-rsa.test");
  certs["trad-rsa"] = { cert: join(dir, "trad-rsa.crt"), key: trad };
  const ecp = join(dir, "ecparam.key");
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", ecp);
  openssl("req", "-x509", "-key", ecp, "-out", join(dir, "ecparam.crt"), "-days", "30", "-subj", "/CN=ecparam.test");
  certs.ecparam = { cert: join(dir, "ecparam.crt"), key: ecp };
  const enc = join(dir, "enc.key");
  openssl(
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-aes256",
    "-pass",
    "pass:secret",
    "-out",
    enc,
  );
  certs.enc = { cert: certs.rsa.cert, key: enc };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const text = (path: string) => readFileSync(path, "utf8");

function refusal(certPath: string, keyPath: string): string {
  try {
    loadTlsPair(certPath, keyPath);
  } catch (err) {
    expect(err).toBeInstanceOf(TlsFileError);
    const msg = (err as Error).message;
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`${certPath} + ${keyPath} was accepted`);
}

describe("loadTlsPair", () => {
  test("loads RSA and EC pairs, in PKCS#8 and in the traditional formats", () => {
    const soon = Date.now() + 30 * 86400_000;
    for (const name of ["rsa", "ec", "trad-rsa", "ecparam"]) {
      const p = loadTlsPair(certs[name].cert, certs[name].key);
      expect(p.subject).toBe(`CN=${name}.test`);
      expect(p.cert).toBe(text(certs[name].cert));
      expect(p.key).toBe(text(certs[name].key));
      expect(Math.abs(p.notAfter.getTime() - soon)).toBeLessThan(86400_000);
      expect(p.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    }
    expect(loadTlsPair(certs.rsa.cert, certs.rsa.key).fingerprint256).not.toBe(
      loadTlsPair(certs.rsa2.cert, certs.rsa2.key).fingerprint256,
    );
  });

  test("a full chain checks its key against the first (leaf) certificate", () => {
    const chain = join(dir, "fullchain.pem");
    writeFileSync(chain, text(certs.ec.cert) + text(certs.rsa.cert));
    expect(loadTlsPair(chain, certs.ec.key).subject).toBe("CN=ec.test");
    expect(refusal(chain, certs.rsa.key)).toBe(`--tls-key ${certs.rsa.key} does not match the certificate in ${chain}`);
    const broken = join(dir, "broken-chain.pem");
    writeFileSync(broken, text(certs.ec.cert) + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    expect(refusal(broken, certs.ec.key)).toStartWith(`--tls-cert ${broken}: certificate 2 of 2 does not parse`);
  });

  test("refuses a key that does not match, whatever the key types", () => {
    for (const [c, k] of [
      ["rsa", "rsa2"],
      ["ec", "ec2"],
      ["rsa", "ec"],
      ["ec", "rsa"],
    ]) {
      expect(refusal(certs[c].cert, certs[k].key)).toBe(
        `--tls-key ${certs[k].key} does not match the certificate in ${certs[c].cert}`,
      );
    }
  });

  test("refuses missing and unreadable files, naming the flag and the file", () => {
    const missing = join(dir, "nope.pem");
    expect(refusal(missing, certs.rsa.key)).toBe(`--tls-cert ${missing} does not exist`);
    expect(refusal(certs.rsa.cert, missing)).toBe(`--tls-key ${missing} does not exist`);
    expect(refusal(dir, certs.rsa.key)).toBe(`--tls-cert ${dir} is a directory, not a file`);
  });

  test("refuses a file without read permission", () => {
    const locked = join(dir, "locked.key");
    writeFileSync(locked, text(certs.rsa.key));
    chmodSync(locked, 0o000);
    const expected = `--tls-key ${locked} cannot be read (permission denied)`;
    if (process.getuid?.() !== 0) {
      expect(refusal(certs.rsa.cert, locked)).toBe(expected);
      return;
    }
    // Root reads anything: check as nobody instead (the certificate is world-readable, the key is not).
    chmodSync(dir, 0o755);
    chmodSync(certs.rsa.cert, 0o644);
    const script = `const { loadTlsPair } = await import(${JSON.stringify(join(import.meta.dir, "../../src/server/tls-files.ts"))});
      try { loadTlsPair(${JSON.stringify(certs.rsa.cert)}, ${JSON.stringify(locked)}); } catch (err) { console.log(err.message); }`;
    const r = Bun.spawnSync([
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      process.execPath,
      "-e",
      script,
    ]);
    expect(r.stdout.toString().trim()).toBe(expected);
  });

  test("refuses garbage, swapped files and an encrypted key with a clear line", () => {
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "this is not a certificate\n");
    expect(refusal(junk, certs.rsa.key)).toBe(`--tls-cert ${junk} holds no PEM certificate`);
    expect(refusal(certs.rsa.cert, junk)).toBe(`--tls-key ${junk} holds no usable PEM private key`);
    const bad = join(dir, "bad-body.pem");
    writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    expect(refusal(bad, certs.rsa.key)).toStartWith(`--tls-cert ${bad}: the certificate does not parse (`);
    expect(refusal(certs.rsa.key, certs.rsa.cert)).toBe(
      `--tls-cert ${certs.rsa.key} holds no PEM certificate (it holds a private key: are --tls-cert and --tls-key swapped?)`,
    );
    expect(refusal(certs.rsa.cert, certs.rsa.cert)).toBe(
      `--tls-key ${certs.rsa.cert} holds no usable PEM private key (it holds a certificate: are --tls-cert and --tls-key swapped?)`,
    );
    expect(refusal(certs.enc.cert, certs.enc.key)).toBe(
      `--tls-key ${certs.enc.key} is encrypted; give the key without a passphrase`,
    );
  });

  test("a loaded pair is what Bun.serve serves", async () => {
    for (const name of ["rsa", "ec"]) {
      const p = loadTlsPair(certs[name].cert, certs[name].key);
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        development: false,
        tls: { cert: p.cert, key: p.key },
        fetch: () => new Response("hello"),
      });
      try {
        const res = await fetch(`https://127.0.0.1:${server.port}/`, { tls: { ca: p.cert } });
        expect(await res.text()).toBe("hello");
        // Trusting only the other certificate fails: the server really presents this one.
        const other = name === "rsa" ? certs.ec.cert : certs.rsa.cert;
        await expect(fetch(`https://127.0.0.1:${server.port}/`, { tls: { ca: text(other) } })).rejects.toThrow();
      } finally {
        await server.stop(true);
      }
    }
  });
});

describe("TlsFileWatcher", () => {
  type Event =
    | { kind: "load"; pair: TlsPair; cause: TlsReloadCause }
    | { kind: "error"; err: TlsFileError; cause: TlsReloadCause };
  const open: TlsFileWatcher[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });

  /** A live directory holding cert.pem and key.pem (a copy of pair `name`), and a watcher on it. */
  function setup(name: string, o: Partial<TlsWatcherOptions> = {}) {
    const live = mkdtempSync(join(dir, "live-"));
    const certPath = join(live, "cert.pem");
    const keyPath = join(live, "key.pem");
    writeFileSync(certPath, text(certs[name].cert));
    writeFileSync(keyPath, text(certs[name].key));
    const events: Event[] = [];
    let wake: (() => void) | null = null;
    const push = (e: Event) => {
      events.push(e);
      wake?.();
    };
    const watcher = new TlsFileWatcher({
      certPath,
      keyPath,
      current: loadTlsPair(certPath, keyPath),
      debounceMs: 300,
      onLoad: (pair, cause) => push({ kind: "load", pair, cause }),
      onError: (err, cause) => push({ kind: "error", err, cause }),
      ...o,
    });
    open.push(watcher);
    /** Resolves with the next event not yet taken. */
    let taken = 0;
    const next = async (): Promise<Event> => {
      while (events.length <= taken) await new Promise<void>((r) => (wake = r));
      return events[taken++];
    };
    /** Replaces `path` with `content` the way ACME clients do: write beside it, rename over it. */
    const replace = (path: string, content: string) => {
      writeFileSync(`${path}.tmp`, content);
      renameSync(`${path}.tmp`, path);
    };
    return { live, certPath, keyPath, watcher, events, next, replace };
  }

  test("takes a pair replaced by rename, cert then key, reading it once both are in place", async () => {
    const s = setup("rsa");
    const before = s.watcher.current;
    s.replace(s.certPath, text(certs.ec.cert));
    await Bun.sleep(20); // the ACME client writes the key a moment later
    s.replace(s.keyPath, text(certs.ec.key));
    const e = await s.next();
    expect(e.kind).toBe("load");
    if (e.kind !== "load") return;
    expect(e.cause).toBe("file");
    expect(e.pair.subject).toBe("CN=ec.test");
    expect(s.watcher.current).toBe(e.pair);
    expect(s.watcher.current.fingerprint256).not.toBe(before.fingerprint256);
    expect(s.events.length).toBe(1); // no error for the moment the cert was new and the key old

    // And the next renewal too (a watch on the replaced files themselves would have died with them).
    s.replace(s.keyPath, text(certs.rsa2.key));
    await Bun.sleep(20);
    s.replace(s.certPath, text(certs.rsa2.cert));
    const again = await s.next();
    expect(again.kind === "load" && again.pair.subject).toBe("CN=rsa2.test");
    expect(s.events.length).toBe(2);
  });

  test("a bad replacement is reported and nothing of it is applied; the fixed pair is then taken", async () => {
    const s = setup("rsa");
    const before = s.watcher.current;
    s.replace(s.certPath, text(certs.rsa2.cert)); // new certificate, old key: a mismatched pair
    const e = await s.next();
    expect(e.kind).toBe("error");
    if (e.kind !== "error") return;
    expect(e.err.message).toBe(`--tls-key ${s.keyPath} does not match the certificate in ${s.certPath}`);
    expect(s.watcher.current).toBe(before);

    s.replace(s.keyPath, text(certs.rsa2.key));
    const fixed = await s.next();
    expect(fixed.kind).toBe("load");
    if (fixed.kind === "load") expect(fixed.pair.subject).toBe("CN=rsa2.test");
    expect(s.watcher.current.subject).toBe("CN=rsa2.test");
  });

  test("garbage written over the certificate is refused and the old pair stays", async () => {
    const s = setup("ec");
    const before = s.watcher.current;
    s.replace(s.certPath, "-----BEGIN CERTIFICATE-----\ntruncated");
    const e = await s.next();
    expect(e.kind).toBe("error");
    if (e.kind === "error") expect(e.err.message).toBe(`--tls-cert ${s.certPath} holds no PEM certificate`);
    expect(s.watcher.current).toBe(before);
    expect(s.watcher.reload()).toBe("failed"); // still bad on SIGHUP, and still the old pair in use
    expect(s.watcher.current).toBe(before);
  });

  test("follows a Kubernetes-style symlinked directory swap", async () => {
    const root = mkdtempSync(join(dir, "k8s-"));
    const v1 = join(root, "..v1");
    const v2 = join(root, "..v2");
    mkdirSync(v1);
    mkdirSync(v2);
    writeFileSync(join(v1, "cert.pem"), text(certs.rsa.cert));
    writeFileSync(join(v1, "key.pem"), text(certs.rsa.key));
    writeFileSync(join(v2, "cert.pem"), text(certs.ec.cert));
    writeFileSync(join(v2, "key.pem"), text(certs.ec.key));
    symlinkSync("..v1", join(root, "..data"));
    symlinkSync(join("..data", "cert.pem"), join(root, "cert.pem"));
    symlinkSync(join("..data", "key.pem"), join(root, "key.pem"));
    const certPath = join(root, "cert.pem");
    const keyPath = join(root, "key.pem");
    const loads: TlsPair[] = [];
    const errors: string[] = [];
    let done: () => void = () => {};
    const loaded = new Promise<void>((r) => (done = r));
    const w = new TlsFileWatcher({
      certPath,
      keyPath,
      current: loadTlsPair(certPath, keyPath),
      debounceMs: 100,
      onLoad: (pair) => {
        loads.push(pair);
        done();
      },
      onError: (err) => errors.push(err.message),
    });
    open.push(w);
    // The swap: a new symlink renamed over ..data, in one step. No file named cert.pem or key.pem changes.
    symlinkSync("..v2", join(root, "..data_tmp"));
    renameSync(join(root, "..data_tmp"), join(root, "..data"));
    await loaded;
    expect(loads.map((p) => p.subject)).toEqual(["CN=ec.test"]);
    expect(errors).toEqual([]);
  });

  test("reload() (SIGHUP) reads at once, says whether anything changed, and always reports a failure", () => {
    const s = setup("rsa", { debounceMs: 60_000 }); // file events would wait a minute: only reload() acts here
    expect(s.watcher.reload()).toBe("unchanged");
    expect(s.events.length).toBe(0);

    writeFileSync(s.certPath, text(certs.ec.cert));
    writeFileSync(s.keyPath, text(certs.ec.key));
    expect(s.watcher.reload()).toBe("loaded");
    expect(s.events.map((e) => [e.kind, e.cause])).toEqual([["load", "signal"]]);
    expect(s.watcher.current.subject).toBe("CN=ec.test");
    expect(s.watcher.reload()).toBe("unchanged");

    writeFileSync(s.keyPath, text(certs.rsa.key));
    expect(s.watcher.reload()).toBe("failed");
    expect(s.watcher.reload()).toBe("failed");
    expect(s.events.slice(1).map((e) => [e.kind, e.cause])).toEqual([
      ["error", "signal"],
      ["error", "signal"],
    ]);
    expect(s.watcher.current.subject).toBe("CN=ec.test");
  });

  test("a pair the caller refuses (onLoad throws) is not taken, and is reported", () => {
    const s = setup("rsa", {
      debounceMs: 60_000,
      onLoad: () => {
        throw new Error("address in use");
      },
    });
    const before = s.watcher.current;
    writeFileSync(s.certPath, text(certs.ec.cert));
    writeFileSync(s.keyPath, text(certs.ec.key));
    expect(s.watcher.reload()).toBe("failed");
    expect(s.watcher.current).toBe(before);
    const e = s.events[0];
    expect(e.kind).toBe("error");
    if (e.kind === "error")
      expect(e.err.message).toBe(`the new certificate in ${s.certPath} was not taken into use: address in use`);
  });
});
