// Client ranking: which BitTorrent programs the current peers run, with their share of all peers.

import { api, type ClientList } from "../api.ts";
import { h, replace } from "../dom.ts";
import { fmtInt, fmtPct } from "../format.ts";
import { t } from "../i18n.ts";
import { poll } from "../poll.ts";
import { pageHeader, type Page } from "../widgets.ts";

const REFRESH_MS = 15_000;

function table(list: ClientList): HTMLElement {
  if (list.clients.length === 0) return h("p", { class: "empty" }, t("clients.empty"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data clients-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "rank", scope: "col" }, t("top.col.rank")),
          h("th", { scope: "col" }, t("clients.col.client")),
          h("th", { class: "num", scope: "col" }, t("stat.peers")),
          h("th", { class: "share-col", scope: "col" }, t("clients.col.share")),
        ),
      ),
      h(
        "tbody",
        {},
        ...list.clients.map((c, i) => {
          const bar = h("span", { class: "bar-fill" });
          bar.style.width = `${Math.min(100, Math.max(0, c.share * 100))}%`;
          return h(
            "tr",
            { "data-client": c.name },
            h("td", { class: "rank" }, i + 1),
            h("td", { class: "client-name" }, c.name),
            h("td", { class: "num" }, fmtInt(c.peers)),
            h(
              "td",
              { class: "share-col" },
              h(
                "div",
                { class: "share" },
                h("span", { class: "bar", "aria-hidden": "true" }, bar),
                h("span", { class: "num" }, fmtPct(c.share)),
              ),
            ),
          );
        }),
      ),
    ),
  );
}

export const clientsPage: Page = (root) => {
  let loaded = false;
  const body = h("div", {}, h("p", { class: "empty" }, t("chart.loading")));
  const total = h("span", { class: "muted small", "data-testid": "clients-total" });
  root.append(
    pageHeader("clients.heading", "clients.lead"),
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, t("clients.cardTitle")), total), body),
  );
  return poll(async (signal) => {
    let list: ClientList;
    try {
      list = await api.clientList(signal);
    } catch (err) {
      if (!loaded) replace(body, h("p", { class: "empty" }, t("error.load")));
      throw err;
    }
    loaded = true;
    total.textContent = t("clients.total", { n: fmtInt(list.total) });
    replace(body, table(list));
  }, REFRESH_MS);
};
