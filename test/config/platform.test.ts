import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/config/parse-args.ts";
import { platformDefaults } from "../../src/config/platform.ts";

describe("platformDefaults", () => {
  test("a compiled Windows .exe keeps its trends in the per-machine data folder", () => {
    expect(platformDefaults("win32", { ProgramData: "C:\\ProgramData" }, true)).toEqual({
      trendsFile: "C:\\ProgramData\\buntracker\\trends.jsonl",
    });
    expect(platformDefaults("win32", { ProgramData: "D:\\Data\\" }, true).trendsFile).toBe(
      "D:\\Data\\buntracker\\trends.jsonl",
    );
  });

  test("without %ProgramData%: %ALLUSERSPROFILE%, then C:\\ProgramData", () => {
    expect(platformDefaults("win32", { ALLUSERSPROFILE: "E:\\All Users" }, true).trendsFile).toBe(
      "E:\\All Users\\buntracker\\trends.jsonl",
    );
    expect(platformDefaults("win32", { ProgramData: "" }, true).trendsFile).toBe(
      "C:\\ProgramData\\buntracker\\trends.jsonl",
    );
    expect(platformDefaults("win32", {}, true).trendsFile).toBe("C:\\ProgramData\\buntracker\\trends.jsonl");
  });

  test("memory only from source on Windows, and everywhere else", () => {
    const env = { ProgramData: "C:\\ProgramData" };
    expect(platformDefaults("win32", env, false).trendsFile).toBeNull();
    for (const platform of ["linux", "darwin", "freebsd"]) {
      expect(platformDefaults(platform, env, true).trendsFile).toBeNull();
      expect(platformDefaults(platform, env, false).trendsFile).toBeNull();
    }
  });

  test("parseArgs uses the platform default only when no trends file is given", () => {
    const platform = platformDefaults("win32", { ProgramData: "C:\\ProgramData" }, true);
    const trends = (argv: string[], env: Record<string, string> = {}) => {
      const r = parseArgs(argv, env, platform);
      if (r.kind !== "run") throw new Error(JSON.stringify(r));
      return r.config.trendsFile;
    };
    expect(trends([])).toBe("C:\\ProgramData\\buntracker\\trends.jsonl");
    expect(trends(["--trends-file", "here.jsonl"])).toBe("here.jsonl");
    expect(trends([], { BUNTRACKER_TRENDS_FILE: "env.jsonl" })).toBe("env.jsonl");
    const plain = parseArgs([], {});
    expect(plain.kind === "run" && plain.config.trendsFile).toBeNull();
  });
});
