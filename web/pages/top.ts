// Top 100: the four rankings (peers, seeders, leechers, completed) as tabs over one table, each row with a copy
// button for the info hash and a magnet link.

import { api, TOP_KINDS, type Top, type TopEntry, type TopKind } from "../api.ts";
import { copyButton, h, replace } from "../dom.ts";
import { fmtInt, fmtTime } from "../format.ts";
import { t } from "../i18n.ts";
import { poll } from "../poll.ts";
import { pageHeader, type Page } from "../widgets.ts";

const LIMIT = 100;
const REFRESH_MS = 30_000;

let selected: TopKind = "peers";

const magnet = (hash: string) => `magnet:?xt=urn:btih:${hash}`;

/** Columns after rank and hash, in display order. */
const COLUMNS: { kind: TopKind; label: "stat.seeders" | "stat.leechers" | "stat.peers" | "stat.completed" }[] = [
  { kind: "seeders", label: "stat.seeders" },
  { kind: "leechers", label: "stat.leechers" },
  { kind: "peers", label: "stat.peers" },
  { kind: "downloaded", label: "stat.completed" },
];

function row(e: TopEntry, rank: number): HTMLTableRowElement {
  return h(
    "tr",
    { "data-hash": e.info_hash },
    h("td", { class: "rank" }, rank),
    h(
      "td",
      { class: "hash-cell" },
      h(
        "div",
        { class: "hash-line" },
        h("code", { class: "hash", "data-testid": "info-hash" }, e.info_hash),
        h(
          "span",
          { class: "row-actions" },
          copyButton(e.info_hash, t("copy.hash", { hash: e.info_hash }), true),
          h(
            "a",
            {
              class: "btn btn-link",
              href: magnet(e.info_hash),
              "aria-label": t("top.magnetLabel", { hash: e.info_hash }),
            },
            t("top.magnet"),
          ),
        ),
      ),
    ),
    ...COLUMNS.map((c) =>
      h("td", { class: c.kind === selected ? "num sorted" : "num", "data-label": t(c.label) }, fmtInt(e[c.kind])),
    ),
  );
}

function table(entries: TopEntry[]): HTMLElement {
  if (entries.length === 0) return h("p", { class: "empty" }, t("top.empty"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data top-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "rank", scope: "col" }, t("top.col.rank")),
          h("th", { scope: "col" }, t("top.col.hash")),
          ...COLUMNS.map((c) =>
            h("th", { class: c.kind === selected ? "num sorted" : "num", scope: "col" }, t(c.label)),
          ),
        ),
      ),
      h("tbody", {}, ...entries.map((e, i) => row(e, i + 1))),
    ),
  );
}

export const topPage: Page = (root) => {
  let data: Top | null = null;
  const body = h("div", { class: "top-body" }, h("p", { class: "empty" }, t("chart.loading")));
  const updated = h("span", { class: "muted small", "data-testid": "top-updated" });
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": t("top.tabs") });
  const tabButtons = TOP_KINDS.map((kind) => {
    const b = h(
      "button",
      {
        type: "button",
        role: "tab",
        "data-kind": kind,
        "data-testid": `tab-${kind}`,
        "aria-selected": String(kind === selected),
      },
      t(`top.tab.${kind}`),
    );
    b.addEventListener("click", () => {
      selected = kind;
      for (const other of tabButtons) other.setAttribute("aria-selected", String(other === b));
      draw();
    });
    return b;
  });
  tabs.append(...tabButtons);

  const draw = () => {
    if (!data) return;
    replace(body, table(data[selected]));
    updated.textContent = t("top.updated", { time: fmtTime(data.generated_at) });
  };

  root.append(
    pageHeader("top.heading", "top.lead"),
    h("section", { class: "card" }, h("div", { class: "card-head tabs-head" }, tabs, updated), body),
  );
  return poll(async (signal) => {
    try {
      data = await api.top(LIMIT, signal);
    } catch (err) {
      if (!data) replace(body, h("p", { class: "empty" }, t("error.load")));
      throw err;
    }
    draw();
  }, REFRESH_MS);
};
