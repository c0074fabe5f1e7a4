// About: what the tracker is, its announce settings, and the disclaimer for public deployments.

import { h } from "../dom.ts";
import { fmtDateTime, fmtDuration } from "../format.ts";
import { t, type Key } from "../i18n.ts";
import { onStats } from "../store.ts";
import { pageHeader, type Page } from "../widgets.ts";

export const aboutPage: Page = (root) => {
  const settings = h("dl", { class: "settings" });
  const item = (label: Key, value: string) => [h("dt", {}, t(label)), h("dd", {}, value)];

  root.append(
    pageHeader("about.heading", "about.lead"),
    h(
      "section",
      { class: "card disclaimer", id: "disclaimer", "data-testid": "disclaimer" },
      h("h2", {}, t("disclaimer.heading")),
      ...(["disclaimer.p1", "disclaimer.p2", "disclaimer.p3", "disclaimer.p4"] as const).map((k) => h("p", {}, t(k))),
    ),
    h("section", { class: "card" }, h("h2", {}, t("about.settings")), settings),
  );
  return onStats((s) => {
    settings.replaceChildren(
      ...item(
        "about.interval",
        s.interval_mode === "adaptive"
          ? t("about.intervalAdaptive", { d: fmtDuration(s.interval), load: s.interval_load.toFixed(2) })
          : fmtDuration(s.interval),
      ),
      ...item("about.minInterval", fmtDuration(s.min_interval)),
      ...item("about.peerTimeout", fmtDuration(s.peer_timeout)),
      ...item("about.startedAt", fmtDateTime(s.started_at)),
    );
  });
};
