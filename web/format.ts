// Numbers, rates, shares, durations and times in the current language.

import { locale, t } from "./i18n.ts";

export function fmtInt(n: number): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

/** Requests per second: one decimal below 100, whole numbers above. */
export function fmtRate(n: number): string {
  const digits = n < 100 ? 1 : 0;
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

export function fmtPct(share: number): string {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(share);
}

/** "3d 4h", "4h 12m", "12m 5s", "40s": the two largest units. */
export function fmtDuration(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  const parts: [number, "unit.d" | "unit.h" | "unit.m" | "unit.s"][] = [
    [Math.floor(s / 86400), "unit.d"],
    [Math.floor((s % 86400) / 3600), "unit.h"],
    [Math.floor((s % 3600) / 60), "unit.m"],
    [s % 60, "unit.s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return t("unit.s", { n: 0 });
  return parts
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, key]) => t(key, { n }))
    .join(" ");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local "YYYY-MM-DD HH:MM" (unambiguous in both languages), with ":SS" if asked. */
export function fmtDateTime(unixSecs: number, seconds = false): string {
  const d = new Date(unixSecs * 1000);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function fmtTime(unixSecs: number): string {
  const d = new Date(unixSecs * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Chart axis label: the date at midnight, the time of day otherwise. */
export function fmtAxisTime(ms: number): string {
  const d = new Date(ms);
  if (d.getHours() === 0 && d.getMinutes() === 0) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
