// Building blocks shared by several pages: page headings, cards, the time-range switch and chart panels.

import { RANGES, type Range } from "./api.ts";
import { mountChart, type Chart } from "./charts.ts";
import { h } from "./dom.ts";
import { t, type Key } from "./i18n.ts";

/** A page unmounts itself through the function it returns. */
export type Page = (root: HTMLElement) => () => void;

export function pageHeader(title: Key, lead: Key): HTMLElement {
  return h(
    "header",
    { class: "page-header" },
    h("h1", { "data-testid": "page-heading" }, t(title)),
    h("p", { class: "lead" }, t(lead)),
  );
}

export function card(title: Key, lead: Key | null, ...body: (Node | null)[]): HTMLElement {
  return h(
    "section",
    { class: "card" },
    h("div", { class: "card-head" }, h("div", {}, h("h2", {}, t(title)), lead && h("p", { class: "muted" }, t(lead)))),
    ...body,
  );
}

/** Segmented buttons for 24h / 3d / 7d. */
export function rangeSwitch(current: Range, onChange: (r: Range) => void): HTMLElement {
  const group = h("div", { class: "segmented", role: "group", "aria-label": t("range.label") });
  const buttons = RANGES.map((r) => {
    const b = h("button", { type: "button", "data-range": r, "aria-pressed": String(r === current) }, t(`range.${r}`));
    b.addEventListener("click", () => {
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === b));
      onChange(r);
    });
    return b;
  });
  group.append(...buttons);
  return group;
}

export interface ChartPanel {
  el: HTMLElement;
  chart: Chart;
  /** Shows a message over the chart (null hides it). */
  note(text: string | null): void;
}

export function chartPanel(testId: string, title: Key, lead: Key, controls: HTMLElement): ChartPanel {
  const canvas = h("div", { class: "chart", "data-testid": testId });
  const overlay = h("div", { class: "chart-note", hidden: true });
  const el = h(
    "section",
    { class: "card" },
    h(
      "div",
      { class: "card-head" },
      h("div", {}, h("h2", {}, t(title)), h("p", { class: "muted" }, t(lead))),
      controls,
    ),
    h("div", { class: "chart-wrap" }, canvas, overlay),
  );
  return {
    el,
    chart: mountChart(canvas),
    note(text) {
      overlay.hidden = text === null;
      overlay.textContent = text ?? "";
    },
  };
}
