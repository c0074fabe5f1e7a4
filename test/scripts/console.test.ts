// What someone sees who starts the tracker by hand (a double-clicked .exe on Windows opens a console): one
// plain line with the addresses and the dashboard link after the JSON log, and Ctrl+C stops it cleanly.
// Run here in a pseudo-terminal, so the tracker sees a real TTY and the terminal turns Ctrl+C into SIGINT.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

async function inTerminal(bunArgs: string[], trackerArgs: string[]) {
  let out = "";
  let onOutput = () => {};
  const proc = Bun.spawn([process.execPath, ...bunArgs, MAIN, ...trackerArgs], {
    env: { ...process.env, NO_COLOR: "1" },
    terminal: {
      cols: 250,
      rows: 24,
      data: (_t, data) => {
        out += new TextDecoder().decode(data);
        onOutput();
      },
    },
  });
  const waitFor = (re: RegExp, ms = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; output:\n${out}`)), ms);
      onOutput = () => {
        const m = out.match(re);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      onOutput();
      void proc.exited.then(() => setTimeout(() => reject(new Error(`exited before ${re}:\n${out}`)), 100));
    });
  return { proc, waitFor, output: () => out };
}

describe("console", () => {
  test("a terminal gets a plain line with the announce URLs and the dashboard link; Ctrl+C stops with exit 0", async () => {
    const t = await inTerminal([], ["--listen", "127.0.0.1:0"]);
    try {
      const m = await t.waitFor(/buntracker (\S+) listening: (.*)\r?\n/);
      expect(m[1]).toBe(pkg.version);
      const json = JSON.parse(
        t
          .output()
          .split(/\r?\n/)
          .find((l) => l.includes('"msg":"listening"'))!,
      );
      const port = json.httpPort as number;
      expect(m[2]).toBe(
        `http://127.0.0.1:${port}/announce udp://127.0.0.1:${json.udpPort}/announce ws://127.0.0.1:${port}/announce, dashboard http://127.0.0.1:${port}/ (Ctrl+C stops)`,
      );
      t.proc.terminal!.write("\x03"); // what Ctrl+C types; the terminal sends SIGINT
      expect(await t.proc.exited).toBe(0);
      expect(t.output()).toContain('"msg":"stopped"');
    } finally {
      t.proc.kill("SIGKILL");
      t.proc.terminal?.close();
    }
  });

  test("a wildcard listener is shown by an address a client can use, never [::] or 0.0.0.0", async () => {
    const t = await inTerminal([], ["--listen", "0", "--websocket", "off"]);
    try {
      const m = await t.waitFor(/listening: (.*)\r?\n/);
      expect(m[1]).not.toMatch(/\[::\]|0\.0\.0\.0/);
      expect(m[1]).toMatch(
        /^http:\/\/([0-9.]+|localhost|\[[0-9a-f:]+\]):\d+\/announce udp:\/\/([0-9.]+|localhost|\[[0-9a-f:]+\]):\d+\/announce/,
      );
      t.proc.terminal!.write("\x03");
      expect(await t.proc.exited).toBe(0);
    } finally {
      t.proc.kill("SIGKILL");
      t.proc.terminal?.close();
    }
  });

  test("without the dashboard (or UDP, or WebSocket) the line leaves them out", async () => {
    const t = await inTerminal(
      ["--define", "WITH_DASHBOARD=false"],
      ["--listen", "127.0.0.1:0", "--udp-listen", "off", "--websocket", "off"],
    );
    try {
      const m = await t.waitFor(/listening: (.*)\r?\n/);
      const port = JSON.parse(
        t
          .output()
          .split(/\r?\n/)
          .find((l) => l.includes('"msg":"listening"'))!,
      ).httpPort;
      expect(m[1]).toBe(`http://127.0.0.1:${port}/announce (Ctrl+C stops)`);
      t.proc.terminal!.write("\x03");
      expect(await t.proc.exited).toBe(0);
    } finally {
      t.proc.kill("SIGKILL");
      t.proc.terminal?.close();
    }
  });

  test("with --admin-listen the line names it; --public-stats off drops the public dashboard link", async () => {
    const t = await inTerminal(
      [],
      ["--listen", "127.0.0.1:0", "--udp-listen", "off", "--admin-listen", "127.0.0.1:0", "--public-stats", "off"],
    );
    try {
      const m = await t.waitFor(/listening: (.*)\r?\n/);
      const json = JSON.parse(
        t
          .output()
          .split(/\r?\n/)
          .find((l) => l.includes('"msg":"listening"'))!,
      );
      expect(json.admin).toBe(`127.0.0.1:${json.adminPort}`);
      const port = json.httpPort;
      expect(m[1]).toBe(
        `http://127.0.0.1:${port}/announce ws://127.0.0.1:${port}/announce, admin http://127.0.0.1:${json.adminPort}/ (Ctrl+C stops)`,
      );
      t.proc.terminal!.write("\x03");
      expect(await t.proc.exited).toBe(0);
    } finally {
      t.proc.kill("SIGKILL");
      t.proc.terminal?.close();
    }
  });
});
