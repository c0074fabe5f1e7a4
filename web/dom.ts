// Small DOM helpers: element creation (text only through textContent, never innerHTML) and copy buttons.

import { t, type Key } from "./i18n.ts";

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | number | null | undefined | false;

/** Creates an element; attributes set to false/undefined are left out, `true` sets an empty attribute. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Writes text to the clipboard; falls back to a hidden textarea where the async API is unavailable (plain http). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // permission denied: try the fallback
  }
  const area = h("textarea", { readonly: true, "aria-hidden": "true", class: "offscreen" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

const COPY_ICON =
  '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><rect x="9" y="9" width="12" height="12" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><path d="M5 15V5a2 2 0 0 1 2-2h10" fill="none" stroke="currentColor" stroke-width="2"/></svg>';

/** A button that copies `text` and says so for a moment. `compact` shows only the icon. */
export function copyButton(text: string, label: string, compact = false): HTMLButtonElement {
  const caption = h("span", { class: compact ? "sr-only" : "btn-label" }, t("copy"));
  const btn = h("button", {
    type: "button",
    class: compact ? "btn btn-icon" : "btn",
    title: label,
    "aria-label": label,
  });
  btn.innerHTML = COPY_ICON; // constant markup
  btn.append(caption);
  let reset: ReturnType<typeof setTimeout> | undefined;
  btn.addEventListener("click", async () => {
    const ok = await copyText(text);
    const key: Key = ok ? "copied" : "copyFailed";
    btn.dataset.state = ok ? "copied" : "failed";
    caption.textContent = t(key);
    toast(t(key));
    if (compact) btn.title = t(key);
    clearTimeout(reset);
    reset = setTimeout(() => {
      delete btn.dataset.state;
      caption.textContent = t("copy");
      btn.title = label;
    }, 1600);
  });
  return btn;
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

/** A short message at the bottom of the screen, also read out by screen readers. */
export function toast(message: string): void {
  let el = document.getElementById("toast");
  if (!el) {
    el = h("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(el);
  }
  el.textContent = message;
  el.dataset.show = "true";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.removeAttribute("data-show"), 1600);
}
