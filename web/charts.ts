// ECharts, trimmed to what the page draws (line/area charts on a time axis, SVG renderer), with colours taken
// from the page's CSS variables so the charts follow the light/dark theme. A mounted chart re-creates itself
// when the colour scheme changes and resizes with its container.

import { init, use, type ComposeOption, type EChartsType } from "echarts/core";
import { LineChart, type LineSeriesOption } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  TooltipComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type TooltipComponentOption,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import type { Range } from "./api.ts";
import { fmtAxisTime, fmtDateTime, fmtInt } from "./format.ts";

use([LineChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

export type ChartOption = ComposeOption<
  LineSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption
>;

export interface Palette {
  text: string;
  muted: string;
  border: string;
  grid: string;
  surface: string;
  series: string[];
  /** The page's font stack: ECharts measures text itself, so it must know the real font (not "inherit"). */
  font: string;
}

const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

/** The current theme's colours, read from the CSS custom properties in styles.css. */
export function palette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  const series: string[] = [];
  for (let i = 1; i <= 16; i++) series.push(v(`--chart-${i}`));
  return {
    text: v("--text"),
    muted: v("--muted"),
    border: v("--border"),
    grid: v("--chart-grid"),
    surface: v("--surface-raised"),
    series,
    font: v("--font").replace(/\s+/g, " "), // a canvas font string must not contain line breaks
  };
}

export interface Chart {
  /** Draws (or redraws) the chart; `build` is called again after a theme change. */
  render(build: (p: Palette) => ChartOption): void;
  dispose(): void;
}

export function mountChart(el: HTMLElement): Chart {
  let instance: EChartsType | null = null;
  let build: ((p: Palette) => ChartOption) | null = null;

  const draw = () => {
    if (!build) return;
    const first = !instance;
    if (!instance) instance = init(el, null, { renderer: "svg" });
    // Only the first drawing animates: a redraw replaces every series, and would replay the animation each
    // time (every few seconds while a chart draws live samples).
    instance.setOption({ ...build(palette()), ...(first ? {} : { animation: false }) }, { notMerge: true });
  };
  const onScheme = () => {
    instance?.dispose();
    instance = null;
    draw();
  };
  const resizer = new ResizeObserver(() => instance?.resize());
  resizer.observe(el);
  darkQuery.addEventListener("change", onScheme);

  return {
    render(next) {
      build = next;
      draw();
    },
    dispose() {
      resizer.disconnect();
      darkQuery.removeEventListener("change", onScheme);
      instance?.dispose();
      instance = null;
    },
  };
}

export interface SeriesSpec {
  name: string;
  points: [number, number | null][];
}

/**
 * Turns samples into [ms, value] points, with a null point in every gap longer than 1.5 sampling intervals so
 * lines break where the tracker recorded nothing (for instance while it was not running).
 */
export function withGaps<S extends { t: number }>(
  samples: readonly S[],
  intervalSecs: number,
  value: (s: S) => number,
): [number, number | null][] {
  const out: [number, number | null][] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (i > 0 && s.t - samples[i - 1].t > intervalSecs * 1.5)
      out.push([(samples[i - 1].t + intervalSecs) * 1000, null]);
    out.push([s.t * 1000, value(s)]);
  }
  return out;
}

/** The sampling interval: as sent, or the smallest gap between samples. */
export function sampleInterval(samples: readonly { t: number }[], sent?: number): number {
  if (sent && sent > 0) return sent;
  let min = Infinity;
  for (let i = 1; i < samples.length; i++) min = Math.min(min, samples[i].t - samples[i - 1].t);
  return Number.isFinite(min) && min > 0 ? min : 600;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

interface TooltipParam {
  value?: unknown;
  seriesName?: string;
  marker?: unknown;
}

const RANGE_SECS: Record<Range, number> = { "24h": 86400, "3d": 3 * 86400, "7d": 7 * 86400 };
const MIN_SPAN_SECS = 300;

/**
 * The x-axis window in ms: from the first point (or the start of the range, whichever is later) to now. A
 * window under five minutes is stretched to the right, so the first minutes of a tracker draw from the left
 * edge on a minutes scale and grow rightwards, instead of a spike at the right edge of a long window.
 */
export function timeWindow(points: readonly { t: number }[], range: Range, nowSecs: number): [number, number] {
  if (points.length === 0) return [(nowSecs - MIN_SPAN_SECS) * 1000, nowSecs * 1000];
  const last = Math.max(nowSecs, points[points.length - 1].t);
  const first = Math.max(last - RANGE_SECS[range], points[0].t);
  return [first * 1000, Math.max(last, first + MIN_SPAN_SECS) * 1000];
}

/** Whether nothing has ever been charted: no series, or every value zero. */
export function allZero(series: readonly SeriesSpec[]): boolean {
  return series.every((s) => s.points.every((pt) => !pt[1]));
}

/** A time-series line chart; `stacked` draws filled, stacked areas (for shares of a whole). */
export function timeSeriesOption(
  p: Palette,
  series: SeriesSpec[],
  stacked: boolean,
  [min, max]: [number, number],
): ChartOption {
  const few = series.every((s) => s.points.filter((pt) => pt[1] !== null).length < 3);
  // Nothing to scale to: a zero baseline with only its "0" label (the chart's note says why), rather than an
  // invented 0 to 1 scale.
  const empty = allZero(series);
  const short = max - min < 3600_000; // minutes, where a tooltip needs the seconds
  return {
    backgroundColor: "transparent",
    color: p.series,
    animationDuration: 300,
    textStyle: { fontFamily: p.font },
    grid: { left: 4, right: 12, top: 44, bottom: 4, outerBoundsMode: "same", outerBoundsContain: "axisLabel" },
    legend: {
      type: "scroll",
      top: 0,
      left: 0,
      right: 0,
      icon: "roundRect",
      itemWidth: 12,
      itemHeight: 8,
      textStyle: { color: p.muted },
      pageTextStyle: { color: p.muted },
      pageIconColor: p.text,
      pageIconInactiveColor: p.border,
    },
    tooltip: {
      trigger: "axis",
      confine: true,
      backgroundColor: p.surface,
      borderColor: p.border,
      textStyle: { color: p.text, fontSize: 12 },
      axisPointer: { type: "line", lineStyle: { color: p.muted } },
      formatter: (raw: unknown) => {
        const items = (Array.isArray(raw) ? raw : [raw]) as TooltipParam[];
        const first = items[0]?.value;
        const time = Array.isArray(first) ? fmtDateTime(Number(first[0]) / 1000, short) : "";
        const rows = items
          .filter((it) => Array.isArray(it.value) && it.value[1] !== null)
          .map((it) => {
            const v = (it.value as [number, number])[1];
            return `<div class="tt-row">${typeof it.marker === "string" ? it.marker : ""}<span>${escapeHtml(
              it.seriesName ?? "",
            )}</span><b>${fmtInt(v)}</b></div>`;
          });
        return `<div class="tt"><div class="tt-time">${time}</div>${rows.join("")}</div>`;
      },
    },
    xAxis: {
      type: "time",
      min,
      max,
      axisLine: { lineStyle: { color: p.border } },
      axisTick: { show: false },
      minInterval: 60_000, // labels show minutes at the finest
      axisLabel: { color: p.muted, hideOverlap: true, formatter: (v: number) => fmtAxisTime(v) },
      splitLine: { show: false },
    },
    yAxis: {
      type: "value",
      minInterval: 1,
      ...(empty ? { min: 0, max: 1, interval: 1 } : {}),
      axisLabel: { color: p.muted, formatter: (v: number) => (empty && v !== 0 ? "" : fmtInt(v)) },
      splitLine: { show: !empty, lineStyle: { color: p.grid } },
    },
    series: series.map(
      (s): LineSeriesOption => ({
        type: "line",
        name: s.name,
        data: s.points,
        showSymbol: few,
        symbolSize: 5,
        connectNulls: false,
        clip: false, // the newest point sits on the right edge: keep its symbol whole
        lineStyle: { width: stacked ? 1 : 2 },
        emphasis: { focus: "series" },
        ...(stacked ? { stack: "total", areaStyle: { opacity: 0.85 } } : {}),
      }),
    ),
  };
}
