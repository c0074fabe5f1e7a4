// scripts/install-linux.sh, run for real against a temporary root directory (--root): it creates the system
// user there (useradd --root), writes every file with its owner and mode, and calls systemctl and journalctl.
// Those are stubs that log their arguments and play systemd's part for real: start runs the unit's ExecStart
// (the tracker from source, behind a fake release binary) as the unit's user with the settings file's
// variables, its credentials and the journal's JOURNAL_STREAM, with paths moved under the root directory;
// stop sends SIGTERM and waits. The unit it writes is checked by systemd itself (systemd-analyze verify and
// security, against the same root), the script by shellcheck. This host runs no systemd: the real systemctl
// is the "host without systemd" case.
// Needs root (useradd --root, chown, setpriv), like CI; and the Debian packages shellcheck and systemd.
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "../../src/config/parse-args.ts";
import { pct } from "../helpers/http-client.ts";
import { freePort } from "../helpers/clients.ts";

const REPO = join(import.meta.dir, "..", "..");
const SCRIPT = join(REPO, "scripts", "install-linux.sh");
const MAIN = join(REPO, "src", "main.ts");
const TOKEN = /^[0-9a-f]{64}$/;
// Each start or restart runs the tracker and waits for its /healthz; several tests do a few.
setDefaultTimeout(60_000);

let scratch: string;
beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the installer tests need root (useradd --root, chown), as in CI");
  for (const tool of ["shellcheck", "systemd-analyze", "useradd", "setpriv", "script"]) {
    if (Bun.which(tool) === null)
      throw new Error(`${tool} is missing: apt-get install shellcheck systemd passwd util-linux`);
  }
  scratch = await mkdtemp(join(tmpdir(), "buntracker-install-"));
  await chmod(scratch, 0o755); // the service user runs the tracker from in here
});
// A tracker a test left running (an installed service) is stopped after it.
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  for (const sb of sandboxes.splice(0)) await sb.stopService();
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

interface Sandbox {
  dir: string;
  root: string;
  /** A free port for the tracker to listen on. */
  port: number;
  /** A copy of the release tarball's directory: the script, a (fake) binary, README.md and LICENSE. */
  release: string;
  calls(): Promise<string[]>;
  /** systemd: false runs it without the stubs: this host's systemctl, with no systemd running. */
  run(
    args: string[],
    opts?: { stdin?: string; lang?: string; env?: Record<string, string>; systemd?: false },
  ): { code: number; stdout: string; stderr: string };
  file(path: string): Promise<string>;
  info(path: string): Promise<{ mode: number; uid: number; gid: number }>;
  ids(): Promise<{ uid: number; gid: number }>;
  env(): Promise<Record<string, string>>;
  /** What the service wrote to stdout and stderr (the journal). */
  journal(): Promise<string>;
  /** The running service's process id, or null. */
  pid(): number | null;
  stopService(): Promise<void>;
}

let count = 0;
async function sandbox(): Promise<Sandbox> {
  const dir = join(scratch, `s${++count}`);
  const root = join(dir, "root");
  const stubs = join(dir, "stubs");
  const release = join(dir, "buntracker-linux-x64");
  await mkdir(join(root, "etc"), { recursive: true });
  await writeFile(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  await writeFile(join(root, "etc", "group"), "root:x:0:\n");
  await writeFile(join(root, "etc", "shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
  await writeFile(join(root, "etc", "gshadow"), "root:*::\n", { mode: 0o640 });
  await mkdir(join(root, "usr", "sbin"), { recursive: true });
  await writeFile(join(root, "usr", "sbin", "nologin"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  await mkdir(stubs, { recursive: true });
  const calls = join(dir, "calls.log");
  await writeFile(calls, "");
  const service = join(dir, "service");
  await mkdir(service);
  await writeFile(join(stubs, "systemctl"), systemctlStub(calls, root, service), { mode: 0o755 });
  await writeFile(
    join(stubs, "journalctl"),
    `#!/bin/sh\necho "journalctl $*" >> '${calls}'\necho "a journal line"\ncat '${service}/journal' 2>/dev/null\n`,
    { mode: 0o755 },
  );
  await mkdir(release);
  await cp(SCRIPT, join(release, "install-linux.sh"));
  await writeFile(join(release, "buntracker"), fakeBinary("0.9.0 (aaaa111)"), { mode: 0o755 });
  await writeFile(join(release, "README.md"), "# buntracker\n");
  await writeFile(join(release, "LICENSE"), "MIT License\n");

  const pidFile = join(service, "pid");
  const sb: Sandbox = {
    dir,
    root,
    port: await freePort(),
    release,
    calls: async () => (await readFile(calls, "utf8")).split("\n").filter((l) => l !== ""),
    run(args, opts = {}) {
      const path = opts.systemd === false ? process.env.PATH : `${stubs}:${process.env.PATH}`;
      const p = Bun.spawnSync(["bash", join(release, "install-linux.sh"), ...args, "--root", root], {
        env: { PATH: path, LANG: opts.lang ?? "C", HOME: dir, ...opts.env },
        stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
    },
    file: (path) => readFile(join(root, path), "utf8"),
    async info(path) {
      const s = await stat(join(root, path));
      return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    },
    async ids() {
      const line = (await sb.file("etc/passwd")).split("\n").find((l) => l.startsWith("buntracker:"));
      if (line === undefined) throw new Error("no buntracker user");
      const [, , uid, gid] = line.split(":");
      return { uid: Number(uid), gid: Number(gid) };
    },
    async env() {
      // As systemd reads an EnvironmentFile: KEY=VALUE lines, comments and blank lines skipped.
      const env: Record<string, string> = {};
      for (const line of (await sb.file("etc/buntracker/buntracker.env")).split("\n")) {
        if (line.trim() === "" || line.startsWith("#")) continue;
        const eq = line.indexOf("=");
        env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      return env;
    },
    journal: async () => (existsSync(join(service, "journal")) ? readFile(join(service, "journal"), "utf8") : ""),
    pid() {
      if (!existsSync(pidFile)) return null;
      const pid = Number(readFileSync(pidFile, "utf8"));
      try {
        process.kill(pid, 0);
        return pid;
      } catch {
        return null;
      }
    },
    async stopService() {
      Bun.spawnSync([join(stubs, "systemctl"), "stop", "buntracker.service"]);
    },
  };
  sandboxes.push(sb);
  return sb;
}

/**
 * systemctl as far as the installer uses it. start runs the unit as systemd would: ExecStart (the binary and
 * paths moved under the root directory, ${CREDENTIALS_DIRECTORY} expanded) as User=, in the data directory,
 * with the EnvironmentFile's variables (absolute paths moved too), the LoadCredential= files copied into a
 * directory only that user can read, and stdout and stderr to a journal file named by JOURNAL_STREAM. stop:
 * SIGTERM, then wait (up to 15 s, TimeoutStopSec). is-active: the process is alive.
 */
function systemctlStub(calls: string, root: string, service: string): string {
  return `#!/bin/bash
echo "systemctl $*" >> '${calls}'
root='${root}'
service='${service}'
unit="$root/etc/systemd/system/buntracker.service"
pid() { [ -f "$service/pid" ] && kill -0 "$(cat "$service/pid")" 2>/dev/null && cat "$service/pid"; }
stop() {
  local p
  p=$(pid) || { rm -f "$service/pid"; return 0; }
  kill -TERM "$p"
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  rm -f "$service/pid"
}
start() {
  pid >/dev/null && return 0
  [ -f "$unit" ] || { echo "Unit buntracker.service not found." >&2; return 5; }
  local user ids uid gid name path line key value i creds="$service/credentials" vars=() args=()
  user=$(sed -n 's/^User=//p' "$unit")
  ids=$(awk -F: -v u="$user" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")
  uid=\${ids%:*} gid=\${ids#*:}
  rm -rf "$creds"
  mkdir -p "$creds"
  while IFS=: read -r name path; do cp "$root$path" "$creds/$name" || return 1; done < <(sed -n 's/^LoadCredential=//p' "$unit")
  chown -R "$uid:$gid" "$creds"
  chmod 0500 "$creds"
  while IFS= read -r line; do
    case "$line" in '' | '#'*) continue ;; esac
    key=\${line%%=*} value=\${line#*=}
    case "$value" in /*) value=$root$value ;; esac
    vars+=("$key=$value")
  done < "$root/etc/buntracker/buntracker.env"
  read -ra args <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
  args[0]=$root\${args[0]}
  for i in "\${!args[@]}"; do
    case "\${args[$i]}" in --*=/*) args[$i]=\${args[$i]%%=*}=$root\${args[$i]#*=} ;; esac
    args[$i]=\${args[$i]//'\${CREDENTIALS_DIRECTORY}'/$creds}
  done
  touch "$service/journal"
  cd "$root/var/lib/buntracker" || return 1
  env -i PATH="$PATH" HOME=/nonexistent JOURNAL_STREAM="$(stat -c %d:%i "$service/journal")" "\${vars[@]}" \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "\${args[@]}" >>"$service/journal" 2>&1 </dev/null &
  echo $! > "$service/pid"
}
case " $* " in
  *" is-system-running "*) echo running ;;
  *" --version "*) echo "systemd $(cat "$service/systemd-version" 2>/dev/null || echo 252) (stub)" ;;
  *" is-active "*) pid >/dev/null ;;
  *" restart "*) stop; start ;;
  *" start "*) start ;;
  *" stop "* | *" --now "*) stop ;;
  *" reload "*) kill -HUP "$(pid)" ;;
  *" status "*) echo "buntracker.service - stub status" ;;
esac
`;
}

/** A stand-in for a release binary: its own --version, and the real tracker (from source) for the rest, so
 * the installer's --check-config calls get the tracker's real answers and the service is the real tracker.
 * `dashboard: false` is a -no-dashboard build; `slowStart` seconds pass before a (non-check) start. */
function fakeBinary(version: string, opts: { dashboard?: false; slowStart?: number } = {}): string {
  const define = opts.dashboard === false ? " --define WITH_DASHBOARD=false" : "";
  const slow =
    opts.slowStart === undefined ? "" : `case "$*" in *--check-config*) ;; *) sleep ${opts.slowStart} ;; esac\n`;
  return `#!/bin/sh\nif [ "$1" = --version ]; then echo "buntracker ${version}"; exit 0; fi\n${slow}exec '${process.execPath}'${define} '${MAIN}' "$@"\n`;
}

function expectOk(r: { code: number; stdout: string; stderr: string }): void {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/** Installs into a fresh sandbox from the tarball layout, listening on a bare port. */
async function installed(): Promise<Sandbox> {
  const sb = await sandbox();
  expectOk(sb.run(["install", "--listen", String(sb.port)]));
  return sb;
}

/** The admin API of an installed tracker: on its operators' listener, which a fresh install turns on. */
async function adminApi(sb: Sandbox): Promise<string> {
  return `http://${(await sb.env()).BUNTRACKER_ADMIN_LISTEN}/api/blacklist`;
}

describe("install", () => {
  test("writes the binary, settings, deny list, data directory and unit, each with its owner and mode", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", String(sb.port)]);
    expectOk(r);
    expect(r.stdout).toContain("Installed buntracker 0.9.0 (aaaa111).");
    const p = sb.port;
    expect(r.stdout).toContain(
      `Announce URLs: http://YOUR-HOST:${p}/announce  udp://YOUR-HOST:${p}/announce  ws://YOUR-HOST:${p}/announce\n`,
    );
    expect(r.stdout).toContain(`Dashboard: http://YOUR-HOST:${p}/\n`);

    // A system user with no login shell and no home of its own beyond the data directory.
    const passwd = (await sb.file("etc/passwd")).split("\n").filter((l) => l.startsWith("buntracker:"));
    expect(passwd).toHaveLength(1);
    const [, , uid, gid, , home, shell] = passwd[0].split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(uid)).toBeLessThan(1000);
    expect([home, shell]).toEqual(["/var/lib/buntracker", "/usr/sbin/nologin"]);
    expect(await sb.file("etc/group")).toContain(`buntracker:x:${gid}:`);
    const svc = { uid: Number(uid), gid: Number(gid) };

    const root = { uid: 0, gid: 0 };
    expect(await sb.info("opt/buntracker")).toEqual({ mode: 0o755, ...root });
    expect(await sb.info("opt/buntracker/buntracker")).toEqual({ mode: 0o755, ...root });
    expect(await sb.file("opt/buntracker/buntracker")).toBe(fakeBinary("0.9.0 (aaaa111)"));
    expect(await sb.info("opt/buntracker/install-linux.sh")).toEqual({ mode: 0o755, ...root });
    expect(await sb.file("opt/buntracker/install-linux.sh")).toBe(await readFile(SCRIPT, "utf8"));
    expect(await sb.info("opt/buntracker/README.md")).toEqual({ mode: 0o644, ...root });
    expect(await sb.info("opt/buntracker/LICENSE")).toEqual({ mode: 0o644, ...root });
    expect(await sb.info("etc/buntracker")).toEqual({ mode: 0o755, ...root });
    expect(await sb.info("etc/buntracker/buntracker.env")).toEqual({ mode: 0o600, ...root });
    expect(await sb.info("etc/buntracker/admin-token")).toEqual({ mode: 0o600, ...root });
    expect((await sb.file("etc/buntracker/admin-token")).trim()).toMatch(TOKEN);
    expect(await sb.info("var/lib/buntracker")).toEqual({ mode: 0o750, ...svc });
    expect(await sb.info("var/lib/buntracker/deny.txt")).toEqual({ mode: 0o640, ...svc });
    expect(await sb.file("var/lib/buntracker/deny.txt")).toBe("");
    expect(await sb.info("etc/systemd/system/buntracker.service")).toEqual({ mode: 0o644, ...root });
    // No temporary files left behind.
    for (const d of ["opt/buntracker", "etc/buntracker", "etc/systemd/system", "var/lib/buntracker"]) {
      expect(
        readdirSync(join(sb.root, d)).filter((f) => f.startsWith(".") || /\.new$|\.[A-Za-z0-9]{6}$/.test(f)),
      ).toEqual([]);
    }

    const env = await sb.env();
    expect(Object.keys(env).sort()).toEqual([
      "BUNTRACKER_ACCESS_LIST",
      "BUNTRACKER_ACCESS_MODE",
      "BUNTRACKER_ADMIN_LISTEN",
      "BUNTRACKER_LISTEN",
      "BUNTRACKER_STATE_FILE",
      "BUNTRACKER_TRENDS_FILE",
    ]);
    expect(env.BUNTRACKER_LISTEN).toBe(`[::]:${p}`);
    expect(env.BUNTRACKER_TRENDS_FILE).toBe("/var/lib/buntracker/trends.jsonl");
    expect(env.BUNTRACKER_ACCESS_MODE).toBe("deny");
    expect(env.BUNTRACKER_ACCESS_LIST).toBe("/var/lib/buntracker/deny.txt");
    // The tracker itself accepts these settings (with the unit's token flag).
    const parsed = parseArgs(["--admin-token-file=/run/credentials/buntracker.service/admin-token"], env);
    if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
    expect(parsed.config.listen).toEqual({ host: "::", port: p });
    expect(parsed.config.udpListen).toEqual({ host: "::", port: p });
    expect(parsed.config.trendsFile).toBe("/var/lib/buntracker/trends.jsonl");
    expect(parsed.config.stateFile).toBe("/var/lib/buntracker/state.bin");
    expect([parsed.config.accessMode, parsed.config.accessList]).toEqual(["deny", "/var/lib/buntracker/deny.txt"]);
    expect(parsed.config.adminListen).toEqual({ host: "127.0.0.1", port: 6970 });

    expect((await sb.calls()).filter((c) => !/is-active|is-system-running|--version/.test(c))).toEqual([
      "systemctl daemon-reload",
      "systemctl enable buntracker.service",
      "systemctl restart buntracker.service",
    ]);
    // It is running, as the service user, and it answers; the admin API takes the token from the credential.
    const pid = sb.pid();
    expect(pid).not.toBeNull();
    expect((await readFile(`/proc/${pid}/status`, "utf8")).match(/^Uid:\s+(\d+)/m)?.[1]).toBe(String(svc.uid));
    expect(await (await fetch(`http://127.0.0.1:${p}/healthz`)).text()).toBe("ok\n");
    const token = (await sb.file("etc/buntracker/admin-token")).trim();
    const admin = await adminApi(sb);
    const api = (auth: string) => fetch(admin, { headers: { authorization: `Bearer ${auth}` } });
    expect((await api(token)).status).toBe(200);
    expect((await api("0".repeat(64))).status).toBe(401);
    // On the journal each line carries its priority.
    expect((await sb.journal()).split("\n")[0]).toStartWith("<6>{");
  });

  test("the unit: a dedicated user, hardened, only its data directory writable, low ports, many files, restarts", async () => {
    const sb = await installed();
    const unit = (await sb.file("etc/systemd/system/buntracker.service")).split("\n");
    for (const line of [
      "User=buntracker",
      "Group=buntracker",
      "Type=exec",
      "EnvironmentFile=/etc/buntracker/buntracker.env",
      "LoadCredential=admin-token:/etc/buntracker/admin-token",
      "ExecStart=/opt/buntracker/buntracker --admin-token-file=${CREDENTIALS_DIRECTORY}/admin-token",
      "ExecReload=/bin/kill -HUP $MAINPID",
      "StateDirectory=buntracker",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
      "LimitNOFILE=1048576",
      "Restart=on-failure",
      "After=network-online.target",
      "WantedBy=multi-user.target",
    ]) {
      expect(unit).toContain(line);
    }
    // Under ProtectSystem=strict the state directory is the only writable path: no other is opened up.
    expect(unit.filter((l) => /^(ReadWritePaths|ReadWriteDirectories|ProtectSystem=(no|yes|full)$)/.test(l))).toEqual(
      [],
    );
  });

  test("systemd-analyze verify accepts the unit (and rejects a broken one)", async () => {
    const sb = await installed();
    // What verify needs from the target system: the standard units, and the programs the unit runs.
    await mkdir(join(sb.root, "usr", "lib", "systemd"), { recursive: true });
    await cp("/usr/lib/systemd/system", join(sb.root, "usr", "lib", "systemd", "system"), { recursive: true });
    await mkdir(join(sb.root, "usr", "bin"), { recursive: true });
    await writeFile(join(sb.root, "usr", "bin", "kill"), "#!/bin/sh\n", { mode: 0o755 }); // ExecReload's; only its presence is checked
    await symlink("usr/bin", join(sb.root, "bin"));
    const verify = (unit: string) => {
      const p = Bun.spawnSync(["systemd-analyze", "verify", `--root=${sb.root}`, unit], {
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: p.exitCode, output: (p.stdout.toString() + p.stderr.toString()).trim() };
    };
    expect(verify("buntracker.service")).toEqual({ code: 0, output: "" });

    const unit = await sb.file("etc/systemd/system/buntracker.service");
    await writeFile(
      join(sb.root, "etc/systemd/system/broken.service"),
      unit.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"),
    );
    expect(verify("broken.service").output).toContain("Unknown key 'NoNewPrivilege'");
    await writeFile(
      join(sb.root, "etc/systemd/system/missing.service"),
      unit.replace("ExecStart=/opt/buntracker/buntracker", "ExecStart=/opt/buntracker/nothing"),
    );
    expect(verify("missing.service").code).not.toBe(0);
  });

  test("systemd-analyze security rates the unit's exposure at most 2.0 (a unit without hardening: far more)", async () => {
    const sb = await installed();
    const security = (unit: string) => {
      const p = Bun.spawnSync(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", `--root=${sb.root}`, unit],
        { stdout: "pipe", stderr: "pipe" },
      );
      const level = p.stdout.toString().match(/Overall exposure level for \S+: ([0-9.]+)/)?.[1];
      return { code: p.exitCode, level: level === undefined ? NaN : Number(level) };
    };
    const ours = security("buntracker.service");
    expect(ours.level).toBeLessThanOrEqual(2.0);
    expect(ours.code).toBe(0);
    await writeFile(
      join(sb.root, "etc/systemd/system/plain.service"),
      "[Service]\nExecStart=/opt/buntracker/buntracker\n[Install]\nWantedBy=multi-user.target\n",
    );
    const plain = security("plain.service");
    expect(plain.level).toBeGreaterThan(5);
    expect(plain.code).not.toBe(0);
  });

  test("re-running install upgrades the binary and unit in place and keeps settings, token, deny list and trends", async () => {
    const sb = await installed();
    const envBefore = await sb.file("etc/buntracker/buntracker.env");
    const tokenBefore = await sb.file("etc/buntracker/admin-token");
    const hash = "0123456789abcdef0123456789abcdef01234567\n";
    await writeFile(join(sb.root, "var/lib/buntracker/deny.txt"), hash);
    // A sample from a minute ago, written while the tracker is stopped (it owns the file while it runs).
    expectOk(sb.run(["stop"]));
    const sample = `{"t":${Math.floor(Date.now() / 1000) - 60},"torrents":7,"peers":9,"seeders":2,"leechers":7,"clients":{}}\n`;
    await writeFile(join(sb.root, "var/lib/buntracker/trends.jsonl"), sample);
    await writeFile(join(sb.root, "etc/systemd/system/buntracker.service"), "stale\n");
    const ids = await sb.ids();

    const v2 = join(sb.dir, "buntracker-new");
    await writeFile(v2, fakeBinary("1.0.0 (bbbb222)"), { mode: 0o755 });
    const r = sb.run(["install", "--binary", v2]);
    expectOk(r);
    expect(r.stdout).toContain("Upgraded to buntracker 1.0.0 (bbbb222).");
    expect(r.stdout).toContain("Kept the settings");
    expect(await sb.file("opt/buntracker/buntracker")).toBe(fakeBinary("1.0.0 (bbbb222)"));
    expect(await sb.file("etc/buntracker/buntracker.env")).toBe(envBefore);
    expect(await sb.file("etc/buntracker/admin-token")).toBe(tokenBefore);
    expect(await sb.file("var/lib/buntracker/deny.txt")).toBe(hash);
    expect(await sb.file("var/lib/buntracker/trends.jsonl")).toStartWith(sample);
    expect(await sb.file("etc/systemd/system/buntracker.service")).toContain("ProtectSystem=strict");
    expect(await sb.ids()).toEqual(ids);
    expect((await sb.file("etc/passwd")).match(/^buntracker:/gm)).toHaveLength(1);
    expect((await sb.calls()).filter((c) => c.includes("restart"))).toHaveLength(2);
    expect((await fetch(`http://127.0.0.1:${sb.port}/healthz`)).status).toBe(200);

    // A new --listen on upgrade changes that line only.
    const port = await freePort();
    expectOk(sb.run(["install", "--listen", `127.0.0.1:${port}`]));
    const after = await sb.file("etc/buntracker/buntracker.env");
    expect(after).toBe(envBefore.replace(`BUNTRACKER_LISTEN=[::]:${sb.port}`, `BUNTRACKER_LISTEN=127.0.0.1:${port}`));
  });

  test("install, fill, upgrade, scrape: the swarms and completion counts survive the upgrade", async () => {
    const sb = await installed();
    const base = `http://127.0.0.1:${sb.port}`;
    const hashes = ["11".repeat(20), "22".repeat(20)];
    const announce = (hash: string, peer: number, event: string) =>
      fetch(
        `${base}/announce?info_hash=${pct(Buffer.from(hash, "hex"))}&peer_id=-TE0001-${String(peer).padStart(12, "0")}&port=${6000 + peer}` +
          `&uploaded=0&downloaded=0&left=${event === "completed" ? 0 : 100}&event=${event}&compact=1`,
      );
    for (let peer = 0; peer < 5; peer++) expect((await announce(hashes[0], peer, "started")).status).toBe(200);
    for (let peer = 0; peer < 3; peer++) expect((await announce(hashes[0], peer, "completed")).status).toBe(200);
    expect((await announce(hashes[1], 9, "started")).status).toBe(200);
    const scrape = async () => {
      const r = await fetch(
        `${base}/scrape?info_hash=${pct(Buffer.from(hashes[0], "hex"))}&info_hash=${pct(Buffer.from(hashes[1], "hex"))}`,
      );
      return Buffer.from(await r.arrayBuffer()).toString("latin1");
    };
    const before = await scrape();
    expect(before).toContain("d8:completei3e10:downloadedi3e10:incompletei2ee");

    const v2 = join(sb.dir, "buntracker-new");
    await writeFile(v2, fakeBinary("1.0.0 (bbbb222)"), { mode: 0o755 });
    const firstPid = sb.pid();
    const r = sb.run(["install", "--binary", v2]);
    expectOk(r);
    expect(r.stdout).toContain("Upgraded to buntracker 1.0.0 (bbbb222).");
    expect(sb.pid()).not.toBe(firstPid); // a new process, from the state file the old one saved at its stop
    expect(await scrape()).toBe(before);
    expect(existsSync(join(sb.root, "var/lib/buntracker/state.bin"))).toBe(true);
  });

  test("an upgrade moves a token kept in the settings file (older installs) to the token file", async () => {
    const sb = await installed();
    const token = (await sb.file("etc/buntracker/admin-token")).trim();
    await rm(join(sb.root, "etc/buntracker/admin-token"));
    const envFile = join(sb.root, "etc/buntracker/buntracker.env");
    await writeFile(envFile, `${await sb.file("etc/buntracker/buntracker.env")}BUNTRACKER_ADMIN_TOKEN=${token}\n`);
    expectOk(sb.run(["install"]));
    expect((await sb.file("etc/buntracker/admin-token")).trim()).toBe(token);
    expect(await sb.info("etc/buntracker/admin-token")).toEqual({ mode: 0o600, uid: 0, gid: 0 });
    expect(await sb.file("etc/buntracker/buntracker.env")).not.toContain("ADMIN_TOKEN");
    expect((await fetch(await adminApi(sb), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("systemd before 247 (no credentials): the service user's group reads the token file itself", async () => {
    const sb = await sandbox();
    await writeFile(join(sb.dir, "service", "systemd-version"), "245");
    expectOk(sb.run(["install", "--listen", String(sb.port)]));
    const unit = (await sb.file("etc/systemd/system/buntracker.service")).split("\n");
    expect(unit).toContain("ExecStart=/opt/buntracker/buntracker --admin-token-file=/etc/buntracker/admin-token");
    expect(unit.filter((l) => l.startsWith("LoadCredential"))).toEqual([]);
    expect(await sb.info("etc/buntracker/admin-token")).toEqual({ mode: 0o640, uid: 0, gid: (await sb.ids()).gid });
    const token = (await sb.file("etc/buntracker/admin-token")).trim();
    expect((await fetch(await adminApi(sb), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  test("waits for a slow start to answer /healthz instead of a fixed second", async () => {
    const sb = await sandbox();
    await writeFile(join(sb.release, "buntracker"), fakeBinary("0.9.0 (aaaa111)", { slowStart: 2 }), { mode: 0o755 });
    expectOk(sb.run(["install", "--listen", String(sb.port)]));
    // Answers as soon as install says it runs.
    expect((await fetch(`http://127.0.0.1:${sb.port}/healthz`)).status).toBe(200);
  });

  test("a tracker that cannot start (its port taken) is reported at once, with where to look", async () => {
    const sb = await sandbox();
    const taken = Bun.listen({ hostname: "0.0.0.0", port: sb.port, socket: { data() {} } });
    try {
      const started = Date.now();
      const r = sb.run(["install", "--listen", String(sb.port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("buntracker: buntracker did not stay up; see:");
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await sb.journal()).toContain("cannot start");
    } finally {
      taken.stop(true);
    }
  });

  test("the summary names the WebSocket URL and says when the build has no dashboard", async () => {
    const sb = await sandbox();
    await writeFile(join(sb.release, "buntracker"), fakeBinary("0.9.0 (aaaa111)", { dashboard: false }), {
      mode: 0o755,
    });
    const r = sb.run(["install", "--listen", String(sb.port)]);
    expectOk(r);
    expect(r.stdout).toContain(`ws://YOUR-HOST:${sb.port}/announce`);
    expect(r.stdout).toContain("Dashboard: none in this build");
    expect(r.stdout).not.toContain("if this build has it");
    expect((await fetch(`http://127.0.0.1:${sb.port}/`)).status).toBe(404);
  });

  test("an upgrade of an install from before the state file turns it on; one set elsewhere is kept", async () => {
    const sb = await installed();
    const path = join(sb.root, "etc/buntracker/buntracker.env");
    const withState = await sb.file("etc/buntracker/buntracker.env");
    const without = withState.replace("BUNTRACKER_STATE_FILE=/var/lib/buntracker/state.bin\n", "");
    expect(without).not.toBe(withState);
    await writeFile(path, without);
    expectOk(sb.run(["install"]));
    expect((await sb.env()).BUNTRACKER_STATE_FILE).toBe("/var/lib/buntracker/state.bin");

    await writeFile(path, withState.replace("state.bin", "swarms.bin"));
    expectOk(sb.run(["install"]));
    expect((await sb.env()).BUNTRACKER_STATE_FILE).toBe("/var/lib/buntracker/swarms.bin");
  });

  test("on a host without a running systemd it changes nothing and says what to do instead", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", String(sb.port)], { systemd: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("buntracker: systemd is not running on this host (a container, or WSL without systemd)");
    expect(r.stderr).toContain(`--listen [::]:${sb.port} --state-file /var/lib/buntracker/state.bin`);
    expect(r.stderr).toContain("[boot] systemd=true in /etc/wsl.conf");
    expect(r.stderr).toEndWith("buntracker: nothing was changed\n");
    expect(r.stderr).not.toContain("Failed to connect to bus");
    expect(existsSync(join(sb.root, "opt"))).toBe(false);
    expect(existsSync(join(sb.root, "etc/buntracker"))).toBe(false);
    expect(await sb.file("etc/passwd")).not.toContain("buntracker:");
  });

  test("--dry-run on a fresh host lists each change and makes none", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", String(sb.port), "--dry-run"]);
    expectOk(r);
    expect(r.stdout.trim().split("\n")).toEqual([
      "Would install buntracker 0.9.0 (aaaa111):",
      "  - create the system user buntracker",
      "  - create /opt/buntracker, /etc/buntracker and /var/lib/buntracker (owned by buntracker, 0750)",
      `  - copy ${join(sb.release, "buntracker")} to /opt/buntracker/buntracker`,
      "  - copy this script, README.md and LICENSE to /opt/buntracker",
      `  - write /etc/buntracker/buntracker.env (listen [::]:${sb.port}, state, trends, deny list)`,
      "  - write a new admin token to /etc/buntracker/admin-token",
      "  - create an empty deny list /var/lib/buntracker/deny.txt",
      "  - write the unit /etc/systemd/system/buntracker.service",
      "  - run: systemctl daemon-reload; systemctl enable buntracker.service; systemctl restart buntracker.service",
      "Nothing was changed (--dry-run).",
    ]);
    expect(readdirSync(sb.root).sort()).toEqual(["etc", "usr"]);
    expect(readdirSync(join(sb.root, "etc")).sort()).toEqual(["group", "gshadow", "passwd", "shadow"]);
    expect(await sb.file("etc/passwd")).not.toContain("buntracker:");
    expect((await sb.calls()).filter((c) => !/is-system-running|--version/.test(c))).toEqual([]);
    // Without systemd it says so too, and still shows the plan.
    const off = sb.run(["install", "--dry-run"], { systemd: false });
    expectOk(off);
    expect(off.stderr).toContain("systemd is not running on this host");
    expect(off.stdout).toContain("Nothing was changed (--dry-run).");
  });

  test("--dry-run on an upgrade shows what the settings gain and how the unit changes", async () => {
    const sb = await installed();
    const envFile = join(sb.root, "etc/buntracker/buntracker.env");
    const unitFile = join(sb.root, "etc/systemd/system/buntracker.service");
    await writeFile(
      envFile,
      (await sb.file("etc/buntracker/buntracker.env")).replace(/^BUNTRACKER_STATE_FILE=.*\n/m, ""),
    );
    await writeFile(
      unitFile,
      (await sb.file("etc/systemd/system/buntracker.service")).replace("Type=exec", "Type=simple"),
    );
    const env = await sb.file("etc/buntracker/buntracker.env");
    const unit = await sb.file("etc/systemd/system/buntracker.service");
    const pid = sb.pid();
    const r = sb.run(["install", "--dry-run"]);
    expectOk(r);
    expect(r.stdout).toContain("Would upgrade to buntracker 0.9.0 (aaaa111):");
    expect(r.stdout).not.toContain("create the system user");
    expect(r.stdout).toContain(
      "  - add BUNTRACKER_STATE_FILE=/var/lib/buntracker/state.bin to /etc/buntracker/buntracker.env",
    );
    expect(r.stdout).not.toContain("admin token");
    expect(r.stdout).toContain("  - rewrite the unit /etc/systemd/system/buntracker.service:");
    expect(r.stdout).toContain("      -Type=simple\n      +Type=exec\n");
    expect(await sb.file("etc/buntracker/buntracker.env")).toBe(env);
    expect(await sb.file("etc/systemd/system/buntracker.service")).toBe(unit);
    expect(sb.pid()).toBe(pid);
    expect(sb.run(["configure", "--dry-run"]).stderr).toBe("buntracker: --dry-run is for install only\n");
  });

  test("a fresh install puts /metrics and the admin API on 127.0.0.1:6970 and prints a Prometheus scrape block", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", "7000"]);
    expectOk(r);
    expect((await sb.env()).BUNTRACKER_ADMIN_LISTEN).toBe("127.0.0.1:6970");
    expect(r.stdout).toContain(
      'Prometheus scrape_configs entry:\n  - job_name: buntracker\n    static_configs:\n      - targets: ["127.0.0.1:6970"]\n',
    );
    const block = r.stdout.slice(r.stdout.indexOf("  - job_name")).split("\n").slice(0, 3).join("\n");
    const yaml = Bun.YAML.parse(block) as { job_name: string; static_configs: { targets: string[] }[] }[];
    expect(yaml).toEqual([{ job_name: "buntracker", static_configs: [{ targets: ["127.0.0.1:6970"] }] }]);

    // An install from before the admin listener keeps /metrics where its scrapes find it: nothing is added.
    const envFile = join(sb.root, "etc/buntracker/buntracker.env");
    await writeFile(
      envFile,
      (await sb.file("etc/buntracker/buntracker.env")).replace(/^BUNTRACKER_ADMIN_LISTEN=.*\n/m, ""),
    );
    const upgrade = sb.run(["install"]);
    expectOk(upgrade);
    expect((await sb.env()).BUNTRACKER_ADMIN_LISTEN).toBeUndefined();
    expect(upgrade.stdout).not.toContain("job_name");
  });

  test("a fresh install refuses a --listen port that the admin listener takes, and changes nothing", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", "6970"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'invalid --admin-listen "127.0.0.1:6970": the admin listener needs a port of its own (--listen uses 6970)',
    );
    expect(existsSync(join(sb.root, "etc/buntracker/buntracker.env"))).toBe(false);
  });

  test("refuses a binary that is not buntracker, and changes nothing", async () => {
    const sb = await sandbox();
    const other = join(sb.dir, "other");
    await writeFile(other, "#!/bin/sh\necho hello\n", { mode: 0o755 });
    const r = sb.run(["install", "--binary", other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not buntracker");
    expect(existsSync(join(sb.root, "opt"))).toBe(false);
    expect(await sb.calls()).toEqual([]);
  });

  test("refuses a listen address the tracker would not take, and changes nothing", async () => {
    const sb = await sandbox();
    const r = sb.run(["install", "--listen", "70000"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid --listen "70000": port out of range (0-65535)');
    expect(existsSync(join(sb.root, "opt"))).toBe(false);
    expect(await sb.calls()).toEqual([]);
  });
});

describe("the CPU an x64 executable needs", () => {
  // /proc/cpuinfo flags lines: a VM with QEMU's default kvm64 CPU type, a Core 2 (SSSE3 only), a Nehalem.
  const KVM64 =
    "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc nopl xtopology cpuid tsc_known_freq pni cx16 x2apic hypervisor lahf_lm cpuid_fault pti";
  const CORE2 = `${KVM64} ssse3`;
  const NEHALEM = `${CORE2} sse4_1 sse4_2 popcnt`;

  /** A sandbox whose binary starts like an x86-64 ELF executable (the header is all the check reads). */
  async function x64Sandbox(flags: string): Promise<{ sb: Sandbox; env: Record<string, string> }> {
    const sb = await sandbox();
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    new DataView(elf.buffer).setUint16(16, 2, true); // ET_EXEC
    new DataView(elf.buffer).setUint16(18, 62, true); // EM_X86_64
    await writeFile(join(sb.release, "buntracker"), elf, { mode: 0o755 });
    const cpuinfo = join(sb.dir, "cpuinfo");
    await writeFile(
      cpuinfo,
      `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`,
    );
    return { sb, env: { BUNTRACKER_CPUINFO: cpuinfo } };
  }

  test("refuses, in one line and changing nothing, on a CPU without SSSE3, SSE4.1, SSE4.2 and POPCNT", async () => {
    for (const [flags, missing] of [
      [KVM64, "SSSE3 SSE4.1 SSE4.2 POPCNT"],
      [CORE2, "SSE4.1 SSE4.2 POPCNT"],
    ]) {
      const { sb, env } = await x64Sandbox(flags);
      const r = sb.run(["install"], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `buntracker: this CPU lacks ${missing}, which buntracker needs (x86-64-v2: Intel Nehalem, AMD Bulldozer or newer); in a virtual machine choose the host CPU type, not qemu64 or kvm64\n`,
      );
      expect(existsSync(join(sb.root, "opt"))).toBe(false);
      expect(await sb.calls()).toEqual([]);
    }
  });

  test("lets a CPU that has them through to running the executable", async () => {
    const { sb, env } = await x64Sandbox(NEHALEM);
    const r = sb.run(["install"], { env });
    // The header alone does not run: the install stops there, after the CPU check.
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot run");
    expect(r.stderr).not.toContain("lacks");
  });

  test("an executable killed by SIGILL is reported as needing a newer CPU", async () => {
    const sb = await sandbox();
    await writeFile(join(sb.release, "buntracker"), "#!/bin/sh\nkill -ILL $$\n", { mode: 0o755 });
    const r = sb.run(["install"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('died with "Illegal instruction": this CPU is too old for it');
    expect(existsSync(join(sb.root, "opt"))).toBe(false);
  });
});

describe("configure", () => {
  test("a listen address may be a bare port; the tracker's other forms are kept; bad ones change nothing", async () => {
    const sb = await installed();
    expectOk(sb.run(["stop"])); // configure restarts a running tracker only: keeps this test quick
    const listen = async () => (await sb.env()).BUNTRACKER_LISTEN;
    for (const [given, stored] of [
      ["8080", "[::]:8080"],
      [":81", "[::]:81"],
      ["0.0.0.0:82", "0.0.0.0:82"],
      ["[::1]:83", "[::1]:83"],
      ["tracker.example:84", "tracker.example:84"],
      ["6969", "[::]:6969"],
    ]) {
      expectOk(sb.run(["configure", "--listen", given]));
      expect(await listen()).toBe(stored);
    }
    const before = await sb.file("etc/buntracker/buntracker.env");
    // The tracker's own reason (from --check-config), then the installer's line.
    for (const [bad, reason] of [
      ["70000", 'invalid --listen "70000": port out of range (0-65535)'],
      ["::1:80", 'invalid --listen "::1:80": an IPv6 address needs brackets: [IPv6]:PORT'],
      ["[::1]80", 'invalid --listen "[::1]80": expected HOST:PORT, [IPv6]:PORT or PORT'],
      ["host:", 'invalid --listen "host:": expected HOST:PORT, [IPv6]:PORT or PORT'],
      ["a b:80", 'invalid --listen "a b:80": expected HOST:PORT, [IPv6]:PORT or PORT'],
      ["x/y:80", 'invalid --listen "x/y:80": expected HOST:PORT, [IPv6]:PORT or PORT'],
      ["[]:80", 'invalid --listen "[]:80": expected HOST:PORT, [IPv6]:PORT or PORT'],
    ]) {
      const r = sb.run(["configure", "--listen", bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`buntracker: ${reason}\nbuntracker: the settings were not changed\n`);
    }
    // Port 0 is good for the tracker (any free port) but not for a service.
    const zero = sb.run(["configure", "--listen", "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toBe("buntracker: port 0 would be a different port on every start: choose one\n");
    expect(await sb.file("etc/buntracker/buntracker.env")).toBe(before);
    expect(await sb.info("etc/buntracker/buntracker.env")).toEqual({ mode: 0o600, uid: 0, gid: 0 });
  });

  test("sets the interval, peer timeout and log level; restarts a running tracker only", async () => {
    const sb = await installed();
    expectOk(sb.run(["configure", "--interval-secs", "900", "--peer-timeout-secs", "1800", "--log-level", "debug"]));
    const env = await sb.env();
    expect([env.BUNTRACKER_INTERVAL_SECS, env.BUNTRACKER_PEER_TIMEOUT_SECS, env.BUNTRACKER_LOG_LEVEL]).toEqual([
      "900",
      "1800",
      "debug",
    ]);
    const parsed = parseArgs([], env);
    expect(
      parsed.kind === "run" && [parsed.config.intervalS, parsed.config.peerTimeoutS, parsed.config.logLevel],
    ).toEqual([900, 1800, "debug"]);
    expect((await sb.calls()).filter((c) => c.includes("restart"))).toHaveLength(2);

    expectOk(sb.run(["stop"]));
    expectOk(sb.run(["configure", "--log-level", "warn"]));
    expect((await sb.calls()).filter((c) => c.includes("restart"))).toHaveLength(2);
    expect(sb.run(["configure", "--log-level", "loud"]).code).toBe(1);
    expect(sb.run(["configure", "--interval-secs", "0"]).code).toBe(1);
    expect((await sb.env()).BUNTRACKER_LOG_LEVEL).toBe("warn");
  });

  test("checks a value against the other settings as the tracker will: a peer timeout below the interval is refused", async () => {
    const sb = await installed();
    expectOk(sb.run(["stop"]));
    const before = await sb.file("etc/buntracker/buntracker.env");
    // The interval in force is the default (1800): 600 would make the service exit 2 on its next start.
    const r = sb.run(["configure", "--peer-timeout-secs", "600"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'buntracker: invalid --peer-timeout-secs "600": the peer timeout must be at least the announce interval (--interval-secs, 1800)\n' +
        "buntracker: the settings were not changed\n",
    );
    expect(await sb.file("etc/buntracker/buntracker.env")).toBe(before);
    // With a shorter interval in the file, the same timeout is fine.
    expectOk(sb.run(["configure", "--interval-secs", "300"]));
    expectOk(sb.run(["configure", "--peer-timeout-secs", "600"]));
    const env = await sb.env();
    expect([env.BUNTRACKER_INTERVAL_SECS, env.BUNTRACKER_PEER_TIMEOUT_SECS]).toEqual(["300", "600"]);
    // And then an interval above that timeout is refused, naming the timeout.
    const up = sb.run(["configure", "--interval-secs", "900"]);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(
      'invalid BUNTRACKER_PEER_TIMEOUT_SECS "600": the peer timeout must be at least the announce interval (--interval-secs, 900)',
    );
  });

  test("passes on the tracker's warning about a variable in the settings file that is no setting", async () => {
    const sb = await installed();
    expectOk(sb.run(["stop"]));
    await writeFile(
      join(sb.root, "etc/buntracker/buntracker.env"),
      `${await sb.file("etc/buntracker/buntracker.env")}BUNTRACKER_LOG_LEVLE=debug\n`,
    );
    const r = sb.run(["configure", "--log-level", "warn"]);
    expectOk(r);
    expect(r.stderr).toBe(
      "buntracker: warning: BUNTRACKER_LOG_LEVLE is not a setting (did you mean BUNTRACKER_LOG_LEVEL?)\n",
    );
  });

  test("without options it asks for each value at a terminal; an empty answer keeps it", async () => {
    const sb = await installed();
    expectOk(sb.run(["stop"]));
    // script(1) gives it a terminal; the answers are typed into it.
    const command = `bash '${join(sb.release, "install-linux.sh")}' configure --root '${sb.root}'`;
    const p = Bun.spawnSync(["script", "--quiet", "--return", "--command", command, "/dev/null"], {
      env: { PATH: `${join(sb.dir, "stubs")}:${process.env.PATH}`, LANG: "C", HOME: sb.dir },
      stdin: new TextEncoder().encode("9000\n\n\ninfo\n"),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(p.exitCode).toBe(0);
    const env = await sb.env();
    expect(env.BUNTRACKER_LISTEN).toBe("[::]:9000");
    expect(env.BUNTRACKER_LOG_LEVEL).toBe("info");
    expect(env.BUNTRACKER_INTERVAL_SECS).toBeUndefined();
  });

  test("without options and without a terminal it refuses instead of restarting with nothing changed", async () => {
    const sb = await installed();
    const before = await sb.file("etc/buntracker/buntracker.env");
    const pid = sb.pid();
    const r = sb.run(["configure"], { stdin: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("there is none: give the values as options (--listen");
    expect(await sb.file("etc/buntracker/buntracker.env")).toBe(before);
    expect(sb.pid()).toBe(pid);
  });
});

describe("service commands", () => {
  test("token prints the admin token; token --new replaces it", async () => {
    const sb = await installed();
    const token = (await sb.file("etc/buntracker/admin-token")).trim();
    const r = sb.run(["token"]);
    expectOk(r);
    expect(r.stdout).toBe(`${token}\n`);
    const n = sb.run(["token", "--new"]);
    expectOk(n);
    const fresh = n.stdout.trim();
    expect(fresh).toMatch(TOKEN);
    expect(fresh).not.toBe(token);
    expect((await sb.file("etc/buntracker/admin-token")).trim()).toBe(fresh);
    expect(await sb.info("etc/buntracker/admin-token")).toEqual({ mode: 0o600, uid: 0, gid: 0 });
    // The restarted tracker has it.
    const admin = await adminApi(sb);
    const api = (auth: string) => fetch(admin, { headers: { authorization: `Bearer ${auth}` } });
    expect((await api(fresh)).status).toBe(200);
    expect((await api(token)).status).toBe(401);
  });

  test("start, stop, restart, status and logs drive systemctl and journalctl", async () => {
    const sb = await installed();
    const token = (await sb.file("etc/buntracker/admin-token")).trim();
    await writeFile(
      join(sb.root, "var/lib/buntracker/deny.txt"),
      "# comment\n0123456789abcdef0123456789abcdef01234567\nfedcba9876543210fedcba9876543210fedcba98 spam\n",
    );
    const before = (await sb.calls()).length;
    expectOk(sb.run(["stop"]));
    expectOk(sb.run(["start"]));
    expectOk(sb.run(["restart"]));
    const status = sb.run(["status"]);
    expectOk(status);
    expect(status.stdout).toContain("stub status");
    expect(status.stdout).toContain(`[::]:${sb.port}`);
    expect(status.stdout).toContain(`${token.slice(0, 4)}…`);
    expect(status.stdout).not.toContain(token);
    expect(status.stdout).toContain("(2 entries)");
    const logs = sb.run(["logs", "--lines", "20"]);
    expectOk(logs);
    expect(logs.stdout).toContain("a journal line");
    expect(logs.stdout).toContain('"msg":"listening"');
    expect((await sb.calls()).slice(before).filter((c) => !/is-active|is-system-running/.test(c))).toEqual([
      "systemctl stop buntracker.service",
      "systemctl start buntracker.service",
      "systemctl restart buntracker.service",
      "systemctl --no-pager status buntracker.service",
      "journalctl --unit buntracker.service --lines 20 --no-pager",
    ]);
  });

  test("commands other than install say when buntracker is not installed", async () => {
    const sb = await sandbox();
    for (const cmd of ["start", "stop", "restart", "status", "configure", "token"]) {
      const r = sb.run([cmd]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("not installed");
    }
  });

  test("refuses to run without root", async () => {
    const sb = await sandbox();
    await chmod(sb.dir, 0o755);
    await chmod(scratch, 0o755);
    const p = Bun.spawnSync(
      [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "bash",
        join(sb.release, "install-linux.sh"),
        "install",
      ],
      {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toContain("must run as root");
  });

  test("without a command and without a terminal it prints the usage and exits 2", async () => {
    const sb = await sandbox();
    const r = sb.run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: install-linux.sh");
  });
});

describe("menu", () => {
  test("speaks Chinese under a Chinese locale, English otherwise, and L switches", async () => {
    const sb = await installed();
    const zh = sb.run(["menu"], { lang: "zh_CN.UTF-8", stdin: "L\n0\n" });
    expectOk(zh);
    const [first, second] = zh.stdout.split("请选择: ");
    expect(first).toContain("1) 安装或升级");
    expect(first).toContain("已安装, 运行中");
    expect(second).toContain("1) Install or upgrade");

    const en = sb.run(["menu"], { stdin: "6\n0\n" });
    expectOk(en);
    expect(en.stdout).toContain("1) Install or upgrade");
    expect(en.stdout).toContain(`listen:       [::]:${sb.port}`);
    expect(en.stdout).not.toContain("安装或升级");

    const forced = sb.run(["menu", "--lang", "zh"], { stdin: "0\n" });
    expect(forced.stdout).toContain("安装或升级");
  });

  test("installs with the listen address typed in; an error returns to the menu", async () => {
    const sb = await sandbox();
    const r = sb.run(["menu"], { stdin: `3\n1\n${sb.port}\n0\n` });
    expectOk(r);
    expect(r.stderr).toContain("not installed"); // 3 (start) before installing: reported, menu goes on
    expect((await sb.env()).BUNTRACKER_LISTEN).toBe(`[::]:${sb.port}`);
    expect(r.stdout.match(/Choice: /g)).toHaveLength(3);
  });
});

describe("uninstall", () => {
  test("asks before deleting data: no keeps settings, token and data (and a new install uses them)", async () => {
    const sb = await installed();
    const token = await sb.file("etc/buntracker/admin-token");
    const r = sb.run(["uninstall"], { stdin: "n\n" });
    expectOk(r);
    expect(r.stdout).toContain("Also delete the settings");
    expect(existsSync(join(sb.root, "etc/systemd/system/buntracker.service"))).toBe(false);
    expect(existsSync(join(sb.root, "opt/buntracker"))).toBe(false);
    expect(existsSync(join(sb.root, "etc/buntracker/buntracker.env"))).toBe(true);
    expect(existsSync(join(sb.root, "var/lib/buntracker/deny.txt"))).toBe(true);
    expect(await sb.file("etc/passwd")).toContain("buntracker:");
    expect(await sb.calls()).toContain("systemctl disable --now buntracker.service");

    expect(sb.pid()).toBeNull();
    expectOk(sb.run(["install"]));
    expect(await sb.file("etc/buntracker/admin-token")).toBe(token);
  });

  test("on a host without a running systemd it still removes what an older installer left there", async () => {
    const sb = await sandbox();
    expectOk(sb.run(["install", "--listen", String(sb.port), "--no-start"]));
    const r = sb.run(["uninstall", "--purge"], { systemd: false });
    expectOk(r);
    expect(r.stderr).toBe("");
    for (const path of [
      "opt/buntracker",
      "etc/buntracker",
      "var/lib/buntracker",
      "etc/systemd/system/buntracker.service",
    ]) {
      expect(existsSync(join(sb.root, path))).toBe(false);
    }
    expect(await sb.file("etc/passwd")).not.toContain("buntracker:");
  });

  test("with no answer (no terminal) it keeps the data", async () => {
    const sb = await installed();
    expectOk(sb.run(["uninstall"]));
    expect(existsSync(join(sb.root, "var/lib/buntracker"))).toBe(true);
  });

  test("yes (or --purge) deletes settings, data and the user", async () => {
    for (const how of [
      { args: [], stdin: "y\n" },
      { args: ["--purge"], stdin: undefined },
    ]) {
      const sb = await installed();
      const r = sb.run(["uninstall", ...how.args], { stdin: how.stdin });
      expectOk(r);
      for (const path of [
        "opt/buntracker",
        "etc/buntracker",
        "var/lib/buntracker",
        "etc/systemd/system/buntracker.service",
      ]) {
        expect(existsSync(join(sb.root, path))).toBe(false);
      }
      expect(await sb.file("etc/passwd")).not.toContain("buntracker:");
      expect(await sb.file("etc/group")).not.toContain("buntracker:");
    }
  });
});

describe("lint", () => {
  test("shellcheck finds nothing in the shell scripts", () => {
    const p = Bun.spawnSync(["shellcheck", "--severity=style", SCRIPT, join(REPO, "scripts", "release-notes.sh")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(p.stdout.toString() + p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });
});
