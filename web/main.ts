// Entry point: the page shell (header, navigation, footer), hash routing between the pages, the stats poll
// that feeds the counters and the footer, and the language switch (which redraws everything).

import { api, connectionState, onConnection, type Connection } from "./api.ts";
import { h } from "./dom.ts";
import { fmtDuration } from "./format.ts";
import { lang, locale, onLangChange, setLang, t, type Key } from "./i18n.ts";
import { aboutPage } from "./pages/about.ts";
import { clientsPage } from "./pages/clients.ts";
import { overviewPage } from "./pages/overview.ts";
import { topPage } from "./pages/top.ts";
import { poll } from "./poll.ts";
import { latestStats, onStats, publishStats, uptimeNow } from "./store.ts";
import type { Page } from "./widgets.ts";

const STATS_REFRESH_MS = 5000;

interface Route {
  hash: string;
  label: Key;
  page: Page;
}

const ROUTES: Route[] = [
  { hash: "#/", label: "nav.overview", page: overviewPage },
  { hash: "#/top", label: "nav.top", page: topPage },
  { hash: "#/clients", label: "nav.clients", page: clientsPage },
  { hash: "#/about", label: "nav.about", page: aboutPage },
];

function currentRoute(): Route {
  return ROUTES.find((r) => r.hash === location.hash) ?? ROUTES[0];
}

const LOGO =
  '<svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true"><rect width="32" height="32" rx="8" fill="currentColor"/><g fill="none" stroke="var(--logo-fg)" stroke-width="2.4" stroke-linecap="round"><circle cx="16" cy="16" r="3.2" fill="var(--logo-fg)" stroke="none"/><path d="M16 6v4M16 22v4M6 16h4M22 16h4M9 9l2.8 2.8M20.2 20.2 23 23M23 9l-2.8 2.8M11.8 20.2 9 23"/></g></svg>';

const STATUS_TEXT: Record<Connection, Key> = {
  connecting: "status.connecting",
  live: "status.live",
  offline: "status.offline",
};

const app = document.getElementById("app")!;
let unmountPage: () => void = () => {};
/** Undoes the shell's subscriptions and timers when it is rebuilt (language switch). */
let shellCleanup: (() => void)[] = [];
let main: HTMLElement;
let nav: HTMLElement;

function header(): HTMLElement {
  const brand = h("a", { class: "brand", href: "#/" });
  brand.innerHTML = LOGO; // constant markup
  brand.append(h("span", { class: "brand-name" }, "buntracker"), h("span", { class: "brand-tag" }, t("app.tagline")));

  const status = h("span", { class: "status", "data-testid": "connection", role: "status" });
  const showStatus = (c: Connection) => {
    status.dataset.state = c;
    status.textContent = t(STATUS_TEXT[c]);
  };
  showStatus(connectionState());
  shellCleanup.push(onConnection(showStatus));

  const toggle = h(
    "button",
    {
      type: "button",
      class: "btn lang-toggle",
      "data-testid": "lang-toggle",
      lang: lang() === "en" ? "zh-CN" : "en",
      "aria-label": t("lang.switchLabel"),
    },
    t("lang.switch"),
  );
  toggle.addEventListener("click", () => setLang(lang() === "en" ? "zh" : "en"));

  nav = h(
    "nav",
    { class: "nav", "aria-label": t("nav.label") },
    ...ROUTES.map((r) => h("a", { href: r.hash, "data-route": r.hash }, t(r.label))),
  );
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "topbar-inner" }, brand, nav, h("div", { class: "topbar-tools" }, status, toggle)),
  );
}

function footer(): HTMLElement {
  const version = h("span", { "data-testid": "footer-version" });
  const uptime = h("span", { "data-testid": "footer-uptime" });
  const tick = () => {
    const s = latestStats();
    const up = uptimeNow();
    version.textContent = t("footer.version", { v: s ? `v${s.version}` : "" }).trim();
    uptime.textContent = up === null ? "" : t("footer.uptime", { d: fmtDuration(up) });
  };
  tick();
  const timer = setInterval(tick, 1000);
  shellCleanup.push(onStats(tick), () => clearInterval(timer));
  return h(
    "footer",
    { class: "footer" },
    h("div", { class: "footer-inner" }, version, uptime, h("a", { href: "#/about" }, t("footer.disclaimer"))),
  );
}

function showPage(): void {
  unmountPage();
  const route = currentRoute();
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.route === route.hash) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${t(route.label)} · buntracker`;
  main.replaceChildren();
  unmountPage = route.page(main);
  window.scrollTo(0, 0);
}

function render(): void {
  for (const undo of shellCleanup) undo();
  shellCleanup = [];
  document.documentElement.lang = locale();
  main = h("main", { class: "content", id: "content" });
  app.replaceChildren(header(), main, footer());
  showPage();
}

onLangChange(render);

window.addEventListener("hashchange", showPage);
poll(async (signal) => publishStats(await api.stats(signal)), STATS_REFRESH_MS);
render();
