// The Prometheus files shipped in docs/prometheus/ (example alert rules and scrape job) against the tracker's
// real /metrics: they parse (Bun.YAML), every metric they name is one the tracker serves, and every label value
// they select on is one it writes, so renaming a metric or a label breaks this test and not someone's alerts.
// With Prometheus's promtool installed (Debian: apt-get install prometheus) the rules are also checked and their
// unit tests (docs/prometheus/alerts.test.yml) run; without it those two tests are skipped, saying so.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type MetricsTracker, startMetricsTracker } from "../helpers/metrics-tracker.ts";

const DIR = join(import.meta.dir, "..", "..", "docs", "prometheus");
const ALERTS = join(DIR, "alerts.yml");
const PROMTOOL = Bun.which("promtool");
if (PROMTOOL === null)
  console.warn("prometheus.test.ts: promtool checks SKIPPED: promtool is not installed (apt-get install prometheus)");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const alerts = Bun.YAML.parse(readFileSync(ALERTS, "utf8")) as { groups: { name: string; rules: Rule[] }[] };
const rules = alerts.groups.flatMap((g) => g.rules);

/** The /metrics text of a tracker with every part that adds metrics. */
let metrics: MetricsTracker;
let exposition: string;

beforeAll(async () => {
  metrics = await startMetricsTracker();
  exposition = metrics.exposition;
});

afterAll(() => metrics?.stop());

/** Metric names (ours and the process_ ones we serve) with their label matchers, as written in `expr`. */
function selectors(expr: string): { name: string; matchers: [string, string, string][] }[] {
  const out: { name: string; matchers: [string, string, string][] }[] = [];
  for (const m of expr.matchAll(/\b((?:buntracker|process)_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
    const matchers = [...(m[3] ?? "").matchAll(/(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"/g)].map(
      (x): [string, string, string] => [x[1], x[2], x[3]],
    );
    out.push({ name: m[1], matchers });
  }
  return out;
}

describe("docs/prometheus/alerts.yml", () => {
  test("parses, and every rule has an alert name, an expression, a severity and a summary and description", () => {
    expect(alerts.groups.length).toBeGreaterThan(0);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Buntracker[A-Za-z]+$/);
      expect(typeof r.expr).toBe("string");
      expect(["critical", "warning"]).toContain(r.labels.severity);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(10);
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  test("every metric a rule names is served by /metrics, and every label value it selects on is written", () => {
    const types = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const samples = exposition.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const problems: string[] = [];
    for (const r of rules) {
      for (const { name, matchers } of selectors(r.expr)) {
        if (!types.has(name)) {
          problems.push(`${r.alert}: /metrics has no ${name}`);
          continue;
        }
        const lines = samples.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
        if (lines.length === 0) continue; // labelled only once something happens (buntracker_unexpected_errors_total)
        for (const [label, op, value] of matchers) {
          if (label === "job" || label === "instance") continue; // Prometheus adds these
          const wanted = op === "=" ? [value] : op === "=~" ? value.split("|") : [];
          for (const v of wanted) {
            if (!lines.some((l) => l.includes(`${label}="${v}"`)))
              problems.push(`${r.alert}: no ${name} sample with ${label}="${v}"`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("the scrape job is the one the rules expect", () => {
    const config = Bun.YAML.parse(readFileSync(join(DIR, "prometheus.yml"), "utf8")) as {
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path: string }[];
    };
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual(["buntracker"]);
    expect(config.scrape_configs[0].metrics_path).toBe("/metrics");
    expect(rules.filter((r) => !r.expr.includes('job="buntracker"')).map((r) => r.alert)).toEqual([]);
    expect(config.rule_files.length).toBe(1);
  });

  test.skipIf(PROMTOOL === null)("promtool accepts the rules and their unit tests pass", () => {
    for (const args of [
      ["check", "rules", ALERTS],
      ["test", "rules", join(DIR, "alerts.test.yml")],
    ]) {
      const p = Bun.spawnSync([PROMTOOL!, ...args], { cwd: DIR, stdout: "pipe", stderr: "pipe" });
      expect(`promtool ${args.join(" ")}: exit ${p.exitCode}\n${p.stderr.toString()}`).toBe(
        `promtool ${args.join(" ")}: exit 0\n`,
      );
    }
  });
});
