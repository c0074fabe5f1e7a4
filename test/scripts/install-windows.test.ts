// scripts/install-windows.ps1 cannot run here (no PowerShell, no Windows); CI's Windows job installs, checks
// and uninstalls it for real. These checks hold it to what the Linux side can see: Windows PowerShell 5.1 can
// read it, and the command line it gives the tracker is one the tracker accepts.
import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { OPTIONS } from "../../src/config/options.ts";
import { parseArgs } from "../../src/config/parse-args.ts";

const ROOT = join(import.meta.dir, "..", "..");
const script = await readFile(join(ROOT, "scripts", "install-windows.ps1"), "utf8");

describe("install-windows.ps1", () => {
  test("is plain ASCII (Windows PowerShell 5.1 reads a file without a BOM in the ANSI code page)", () => {
    const bad = [...script]
      .map((c, i) => [c, i] as const)
      .filter(([c]) => c.charCodeAt(0) > 0x7e || (c.charCodeAt(0) < 0x20 && !"\r\n\t".includes(c)));
    expect(bad.map(([c, i]) => `${JSON.stringify(c)} at ${i}`)).toEqual([]);
  });

  test("offers install, uninstall, start, stop, restart, status, token and logs", () => {
    const actions = ["install", "uninstall", "start", "stop", "restart", "status", "token", "logs"];
    const set = script.match(/\[ValidateSet\(([^)]*)\)\]/)?.[1] ?? "";
    expect(set.split(",").map((s) => s.trim().replaceAll("'", ""))).toEqual(actions);
    for (const action of actions) expect(script).toContain(`'${action}' {`);
    expect(script).toMatch(/Get-Content -LiteralPath \$LogFile -Tail \$Lines -Wait/);
  });

  test("stop asks the tracker to shut down (state saved) before ending the task, and only then kills", () => {
    const stop = script.slice(script.indexOf("function Stop-Tracker"), script.indexOf("function Wait-Listening"));
    expect(script).toMatch(/-Method Post -Uri "http:\/\/\$AdminAddress\/admin\/shutdown"/);
    expect(script).toContain('-Headers @{ Authorization = "Bearer $token" }');
    expect(stop.indexOf("Request-Shutdown")).toBeGreaterThan(-1);
    expect(stop.indexOf("Request-Shutdown")).toBeLessThan(stop.indexOf("Stop-ScheduledTask"));
    expect(stop.indexOf("Stop-ScheduledTask")).toBeLessThan(stop.indexOf("Stop-Process -Force"));
    // Every way of stopping goes through it.
    for (const action of ["'stop' {", "'restart' {"])
      expect(script.slice(script.indexOf(action)).split("\n")[0]).toContain("Stop-Tracker");
    const install = script.slice(
      script.indexOf("function Install-Tracker"),
      script.indexOf("function Uninstall-Tracker"),
    );
    expect(install).toContain("Stop-Tracker");
  });

  test("the task runs --config buntracker.toml only; the file it writes is one the tracker accepts, every file in %ProgramData%\\buntracker", () => {
    // One place for the settings: the task's command line names the file and nothing else.
    const register = script.slice(
      script.indexOf("function Register-TrackerTask"),
      script.indexOf("function Install-Tracker"),
    );
    expect(register).toContain(`New-ScheduledTaskAction -Execute $Exe -Argument ('--config "' + $ConfigFile + '"')`);
    expect(script).toContain("$ConfigFile = Join-Path $DataDir 'buntracker.toml'");
    const body = script.match(
      /function Get-TrackerArguments[^{]*\{\s*\$arguments = @\(([\s\S]*?)\)\s*(if [^\n]*)\s*return \$arguments\s*\}/,
    );
    expect(body).not.toBeNull();
    // The admin listener's flag is added when there is one (a fresh install: 127.0.0.1:6970).
    expect(body![2]).toBe("if ($AdminListen) { $arguments += @('--admin-listen', $AdminListen) }");
    expect(script).toContain("$DefaultAdminListen = '127.0.0.1:6970'");
    const list = `${body![1]}, '--admin-listen', $AdminListen`;
    const sample: Record<string, string> = {
      $ListenAddress: "[::]:6969",
      $TrendsFile: "C:\\ProgramData\\buntracker\\trends.jsonl",
      $StateFile: "C:\\ProgramData\\buntracker\\state.bin",
      $LogFile: "C:\\ProgramData\\buntracker\\buntracker.log",
      $DenyFile: "C:\\ProgramData\\buntracker\\deny.txt",
      $TokenFile: "C:\\ProgramData\\buntracker\\admin-token",
      $AdminListen: "127.0.0.1:6970",
    };
    const args = [...list!.matchAll(/'([^']*)'|(\$\w+)/g)].map(
      (m) => m[1] ?? sample[m[2]] ?? `unknown variable ${m[2]}`,
    );
    for (const a of args.filter((a) => a.startsWith("--"))) expect(OPTIONS.map((o) => o.flag)).toContain(a);
    // What ConvertTo-Toml does with them: --flag-name VALUE -> flag_name = 'VALUE' (a TOML literal string).
    const convert = script.slice(
      script.indexOf("function ConvertTo-Toml"),
      script.indexOf("function Register-TrackerTask"),
    );
    expect(convert).toContain(`$lines += ($Arguments[$i].Substring(2).Replace('-', '_') + " = '" + $value + "'")`);
    expect(convert).toContain(`if ($value -match "['\\r\\n]") { Fail`);
    const lines = ["# buntracker settings"];
    for (let i = 0; i < args.length; i += 2) lines.push(`${args[i].slice(2).replaceAll("-", "_")} = '${args[i + 1]}'`);
    const toml = `${lines.join("\r\n")}\r\n`;
    const parsed = parseArgs(["--config", "C:\\ProgramData\\buntracker\\buntracker.toml"], {}, undefined, () => toml);
    if (parsed.kind !== "run") throw new Error(JSON.stringify(parsed));
    // The same settings as the flags themselves.
    expect(JSON.stringify(parsed.config)).toBe(JSON.stringify((parseArgs(args, {}) as { config: unknown }).config));
    expect(parsed.config.listen).toEqual({ host: "::", port: 6969 });
    expect(parsed.config.trendsFile).toBe(sample.$TrendsFile);
    // Swarms and completion counts survive a restart or an upgrade.
    expect(parsed.config.stateFile).toBe(sample.$StateFile);
    // The task's output goes nowhere: the log goes to a file (`logs` shows it).
    expect(parsed.config.logFile).toBe(sample.$LogFile);
    expect([parsed.config.accessMode, parsed.config.accessList]).toEqual(["deny", sample.$DenyFile]);
    expect(parsed.config.adminTokenFile).toBe(sample.$TokenFile);
    expect(parsed.config.adminListen).toEqual({ host: "127.0.0.1", port: 6970 });
    for (const name of ["TrendsFile", "StateFile", "LogFile", "DenyFile", "TokenFile", "SettingsFile", "ConfigFile"]) {
      expect(script).toMatch(new RegExp(`\\$${name} = Join-Path \\$DataDir '`));
    }
    expect(script).toContain("$DataDir = Join-Path $env:ProgramData 'buntracker'");
  });

  test("leaves checking the settings to the tracker (--check-config), for the listen address and the task's command line", () => {
    const install = script.slice(
      script.indexOf("function Install-Tracker"),
      script.indexOf("function Uninstall-Tracker"),
    );
    expect(script).toMatch(/& \$Program --check-config @Arguments/);
    expect(install).toContain("ConvertTo-ListenAddress $source $Listen");
    // An upgrade checks the settings file it is about to write (a kept one, or one made from install.json).
    expect(install).toContain("Invoke-CheckConfig $source @('--config', $candidate)");
    expect(install.indexOf("[IO.File]::WriteAllText($candidate, $configText)")).toBeLessThan(
      install.indexOf("--config', $candidate"),
    );
    expect(install).toContain(
      "Invoke-CheckConfig $source @('--listen', $listenAddress, '--admin-listen', $adminListen)",
    );
    // Checked before the running tracker is stopped, so a refused setting changes nothing.
    expect(install.indexOf("Invoke-CheckConfig")).toBeLessThan(install.indexOf("Stop-Tracker"));
    // No range check of its own.
    expect(script).not.toContain("65535");
    // What ConvertTo-ListenAddress reads is what --check-config prints.
    const out = Bun.spawnSync([
      process.execPath,
      join(ROOT, "src", "main.ts"),
      "--check-config",
      "--listen",
      "6969",
    ]).stdout.toString();
    expect(out).toMatch(/^listen = "\[::\]:6969"/m);
    expect(script).toContain(`'^listen = "([^"]*)"'`);
    // Read-ConfigSetting reads the same lines, from the file (the firewall port, status, the port start waits for).
    expect(script).toContain(
      'Invoke-CheckConfig $Program @(\'--config\', $ConfigFile) | Where-Object { $_ -match "^$Key = `"([^`"]*)`"" }',
    );
    expect(install).toContain("$listenAddress = Read-ConfigSetting $Exe 'listen'");
    expect(install.indexOf("[IO.File]::WriteAllText($ConfigFile, $configText)")).toBeLessThan(
      install.indexOf("Read-ConfigSetting $Exe 'listen'"),
    );
    expect(install.indexOf("Read-ConfigSetting $Exe 'listen'")).toBeLessThan(install.indexOf("Set-FirewallRules"));
  });

  test("starts at boot as LOCAL SERVICE, opens TCP and UDP for this program only, and uninstall undoes it all", () => {
    expect(script).toContain("New-ScheduledTaskTrigger -AtStartup");
    expect(script).toContain("$SidLocalService = 'S-1-5-19'");
    expect(script).toMatch(
      /New-ScheduledTaskPrincipal -UserId \(Get-AccountName \$SidLocalService\) -LogonType ServiceAccount -RunLevel Limited/,
    );
    expect(script).toContain("-ExecutionTimeLimit ([TimeSpan]::Zero)");
    expect(script).toMatch(/foreach \(\$protocol in 'TCP', 'UDP'\)/);
    expect(script).toMatch(/New-NetFirewallRule [^\n]*-Group \$FirewallGroup -Direction Inbound/);
    expect(script).toMatch(/-Protocol \$protocol -LocalPort \$Port -Program \$Exe/);
    const uninstall = script.slice(
      script.indexOf("function Uninstall-Tracker"),
      script.indexOf("function Assert-Installed"),
    );
    expect(uninstall).toContain("Unregister-ScheduledTask -TaskName $TaskName");
    expect(uninstall).toContain("Remove-NetFirewallRule -Group $FirewallGroup");
    expect(uninstall).toContain("Remove-Item -LiteralPath $ProgramDir -Recurse");
    expect(uninstall).toMatch(/Read-Host "Also delete/);
  });

  test("checks the CPU before running the executable, for what install-linux.sh checks (POPCNT comes with SSE4.2)", async () => {
    const linux = (await readFile(join(ROOT, "scripts", "install-linux.sh"), "utf8"))
      .match(/^X64_CPU_FLAGS="([^"]+)"/m)![1]
      .split(" ");
    // Windows' numbers for them (winnt.h PF_*_INSTRUCTIONS_AVAILABLE).
    const windowsNumber: Record<string, number> = { ssse3: 36, sse4_1: 37, sse4_2: 38 };
    const features = script.match(/\$features = \[ordered\]@\{([^}]*)\}/)?.[1] ?? "";
    const checked = Object.fromEntries([...features.matchAll(/'([^']+)' = (\d+)/g)].map((m) => [m[1], Number(m[2])]));
    expect(checked).toEqual(
      Object.fromEntries(
        linux.filter((f) => f !== "popcnt").map((f) => [f.toUpperCase().replace("_", "."), windowsNumber[f]]),
      ),
    );
    const install = script.slice(
      script.indexOf("function Install-Tracker"),
      script.indexOf("function Uninstall-Tracker"),
    );
    expect(install.indexOf("Assert-Cpu")).toBeGreaterThan(-1);
    expect(install.indexOf("Assert-Cpu")).toBeLessThan(install.indexOf("--version"));
  });
});
