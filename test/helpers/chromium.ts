// Debian's Chromium as the browser tests launch it (through playwright-core, which downloads no browser).

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless in a container: no sandbox (CI runs as root), no GPU, nothing fetched in the background.
 * --disable-features=WebRtcHideLocalIpsWithMdns: WebRTC host candidates carry the real interface address rather
 * than a random .local name, so WebRTC failure messages show real addresses and nothing depends on resolving
 * .local names (Chromium 156 resolves its own names without it too, even where its mDNS responder fails to
 * start).
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];
