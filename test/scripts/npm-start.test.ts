// `npm start` as a newcomer runs it, then stops it with SIGTERM as a service manager or `kill` would. npm runs
// the script through a shell that dies on SIGTERM without passing it on; the tracker must not linger
// re-parented, holding its ports, but stop cleanly (main.ts watches for that).
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

test("SIGTERM to `npm start` stops the tracker itself, cleanly", async () => {
  const npm = Bun.spawn(["npm", "start", "--silent", "--", "--listen", "127.0.0.1:0", "--udp-listen", "off"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH}` },
  });
  const reader = npm.stdout.getReader();
  let out = "";
  /** Reads until `done` or the end of the output (every writer of the pipe, the tracker too, has exited). */
  const readUntil = async (done: () => boolean, ms: number, what: string): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; output:\n${out}`);
      const r = await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]);
      if (r === null) continue;
      if (r.done) return true;
      out += new TextDecoder().decode(r.value);
    }
    return false;
  };
  await readUntil(() => out.includes('"msg":"listening"'), 15_000, "listening line");
  const port = Number(/"httpPort":(\d+)/.exec(out)![1]);
  npm.kill("SIGTERM");
  expect(await readUntil(() => false, 10_000, "end of output (the tracker still runs)")).toBe(true);
  expect(out).toContain('"msg":"stopped"');
  expect(out).toContain('"signal":"parent exited"');
  const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => false,
    () => true,
  );
  expect(refused).toBe(true);
}, 30_000);
