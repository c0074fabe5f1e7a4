// Every string the page shows, in English and Chinese. The language comes from localStorage if the visitor
// chose one, otherwise from navigator.languages; setLang() stores the choice and notifies listeners.

const en = {
  "app.tagline": "BitTorrent tracker",
  "nav.overview": "Overview",
  "nav.top": "Top 100",
  "nav.clients": "Clients",
  "nav.about": "About",
  "nav.label": "Main navigation",
  "lang.switch": "中文",
  "lang.switchLabel": "切换到中文",
  "status.connecting": "Connecting…",
  "status.live": "Live",
  "status.offline": "Offline · retrying",

  "overview.heading": "Tracker overview",
  "overview.lead": "An open BitTorrent tracker. Add an announce URL below to your torrents to find other peers.",
  "announce.heading": "Announce URLs",
  "cluster.heading": "Cluster",
  "cluster.lead": "Instances that share their swarms through Redis or Valkey: each answers with the peers of all.",
  "cluster.summary":
    "{instances} instances · {peers} peers cluster-wide · engines {up}/{engines} up · last sync {lag} ago",
  "cluster.never": "never",
  "cluster.engineLoad": "engine: {commands} commands/s in {batches} batches/s · {errors} failed batches",
  "cluster.col.instance": "Instance",
  "cluster.col.synced": "Last heartbeat",
  "cluster.this": "{id} (this one)",
  "announce.udpOff": "UDP is turned off on this tracker.",
  copy: "Copy",
  copied: "Copied",
  copyFailed: "Copy failed",
  "copy.hash": "Copy info hash {hash}",
  "copy.http": "Copy HTTP announce URL",
  "copy.udp": "Copy UDP announce URL",
  "copy.ws": "Copy WebSocket (WebTorrent) announce URL",

  "stat.peers": "Peers",
  "stat.seeders": "Seeders",
  "stat.leechers": "Leechers",
  "stat.torrents": "Torrents",
  "stat.completed": "Completed",
  "stat.requests": "Requests / s",
  "stat.peersHint": "IPv4 {v4} · IPv6 {v6}",
  "stat.peersHintWs": "IPv4 {v4} · IPv6 {v6} · WebRTC {ws}",
  "stat.shareHint": "{pct} of peers",
  "stat.torrentsHint": "active swarms",
  "stat.completedHint": "finished downloads",
  "stat.requestsHint": "HTTP {http} · UDP {udp}",
  "stat.requestsHintWs": "HTTP {http} · UDP {udp} · WebSocket {ws}",

  "range.label": "Time range",
  "range.24h": "24 h",
  "range.3d": "3 days",
  "range.7d": "7 days",
  "trend.heading": "Swarm activity",
  "trend.lead": "Peers, seeders, leechers and torrents over time.",
  "clientsChart.heading": "Client distribution",
  "clientsChart.lead": "Peers per client software over time (top 15).",
  "chart.empty": "No peers yet: the charts fill in as clients announce.",
  "chart.loading": "Loading…",

  "top.heading": "Top 100 torrents",
  "top.lead": "Swarms ranked by size. The tracker knows only info hashes, never names or content.",
  "top.tabs": "Ranking",
  "top.tab.peers": "Most peers",
  "top.tab.seeders": "Most seeders",
  "top.tab.leechers": "Most leechers",
  "top.tab.downloaded": "Most completed",
  "top.col.rank": "#",
  "top.col.hash": "Info hash",
  "top.magnet": "Magnet",
  "top.magnetLabel": "Magnet link for {hash}",
  "top.empty": "No torrents have been announced yet.",
  "top.updated": "Updated {time}",

  "clients.heading": "Client ranking",
  "clients.lead": "BitTorrent client software of the peers announcing right now, recognised from their peer IDs.",
  "clients.cardTitle": "Peers by client",
  "clients.col.client": "Client",
  "clients.col.share": "Share",
  "clients.total": "{n} peers in total",
  "clients.empty": "No peers are announcing yet.",

  "about.heading": "About this tracker",
  "about.lead":
    "buntracker is a BitTorrent tracker speaking HTTP, UDP and WebSocket (for WebTorrent clients in web browsers). It introduces BitTorrent clients that share the same torrent to each other; the files themselves travel directly between those clients.",
  "about.settings": "Announce settings",
  "about.interval": "Announce interval",
  "about.intervalAdaptive": "{d} (adaptive, load {load})",
  "about.minInterval": "Minimum interval",
  "about.peerTimeout": "Peer timeout",
  "about.startedAt": "Running since",
  "disclaimer.heading": "Disclaimer",
  "disclaimer.p1":
    "This tracker hosts, stores and indexes no files, no torrent files and no content of any kind. It keeps only the IP address and port of peers announcing an info hash, in memory, and passes them to other peers announcing the same info hash.",
  "disclaimer.p2":
    "An info hash is an opaque 20-byte identifier. The tracker cannot tell what it refers to and never sees the data peers exchange with each other.",
  "disclaimer.p3":
    "At the default log level no request is logged: no record of who announced what is written anywhere. A peer's entry disappears once it stops announcing.",
  "disclaimer.p4":
    "The operator of this deployment is responsible for running it lawfully, and each user is responsible for what they share.",

  "footer.version": "buntracker {v}",
  "footer.uptime": "Uptime {d}",
  "footer.disclaimer": "Disclaimer",
  "error.load": "Could not load data. Retrying…",

  "unit.d": "{n}d",
  "unit.h": "{n}h",
  "unit.m": "{n}m",
  "unit.s": "{n}s",
} as const;

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  "app.tagline": "BitTorrent Tracker",
  "nav.overview": "概览",
  "nav.top": "热门 100",
  "nav.clients": "客户端",
  "nav.about": "关于",
  "nav.label": "主导航",
  "lang.switch": "EN",
  "lang.switchLabel": "Switch to English",
  "status.connecting": "正在连接…",
  "status.live": "实时",
  "status.offline": "离线 · 正在重试",

  "overview.heading": "Tracker 概览",
  "overview.lead": "开放的 BitTorrent Tracker。将下方的 Announce 地址添加到种子中，即可找到其他节点。",
  "announce.heading": "Announce 地址",
  "cluster.heading": "集群",
  "cluster.lead": "通过 Redis 或 Valkey 共享节点的多个实例：每个实例都以全部实例的节点作答。",
  "cluster.summary": "{instances} 个实例 · 集群共 {peers} 个节点 · 引擎 {up}/{engines} 在线 · 上次同步于 {lag} 前",
  "cluster.never": "从未",
  "cluster.engineLoad": "引擎：每秒 {commands} 条命令，{batches} 批 · 失败批次 {errors}",
  "cluster.col.instance": "实例",
  "cluster.col.synced": "上次心跳",
  "cluster.this": "{id}（本实例）",
  "announce.udpOff": "此 Tracker 未启用 UDP。",
  copy: "复制",
  copied: "已复制",
  copyFailed: "复制失败",
  "copy.hash": "复制 Info Hash {hash}",
  "copy.http": "复制 HTTP Announce 地址",
  "copy.udp": "复制 UDP Announce 地址",
  "copy.ws": "复制 WebSocket（WebTorrent）Announce 地址",

  "stat.peers": "节点",
  "stat.seeders": "做种",
  "stat.leechers": "下载中",
  "stat.torrents": "种子",
  "stat.completed": "完成次数",
  "stat.requests": "每秒请求",
  "stat.peersHint": "IPv4 {v4} · IPv6 {v6}",
  "stat.peersHintWs": "IPv4 {v4} · IPv6 {v6} · WebRTC {ws}",
  "stat.shareHint": "占节点 {pct}",
  "stat.torrentsHint": "活跃的种子",
  "stat.completedHint": "已完成的下载",
  "stat.requestsHint": "HTTP {http} · UDP {udp}",
  "stat.requestsHintWs": "HTTP {http} · UDP {udp} · WebSocket {ws}",

  "range.label": "时间范围",
  "range.24h": "24 小时",
  "range.3d": "3 天",
  "range.7d": "7 天",
  "trend.heading": "活跃趋势",
  "trend.lead": "节点、做种、下载中与种子数量随时间的变化。",
  "clientsChart.heading": "客户端分布",
  "clientsChart.lead": "各客户端软件的节点数随时间的变化（前 15 名）。",
  "chart.empty": "暂无节点：客户端 Announce 后，图表会开始显示数据。",
  "chart.loading": "加载中…",

  "top.heading": "热门种子 Top 100",
  "top.lead": "按规模排序的种子。Tracker 只知道 Info Hash，不知道名称或内容。",
  "top.tabs": "排行方式",
  "top.tab.peers": "节点最多",
  "top.tab.seeders": "做种最多",
  "top.tab.leechers": "下载中最多",
  "top.tab.downloaded": "完成最多",
  "top.col.rank": "#",
  "top.col.hash": "Info Hash",
  "top.magnet": "磁力链接",
  "top.magnetLabel": "{hash} 的磁力链接",
  "top.empty": "还没有任何种子的 Announce。",
  "top.updated": "更新于 {time}",

  "clients.heading": "客户端排行",
  "clients.lead": "当前正在 Announce 的节点所用的 BitTorrent 客户端，根据 Peer ID 识别。",
  "clients.cardTitle": "各客户端的节点数",
  "clients.col.client": "客户端",
  "clients.col.share": "占比",
  "clients.total": "共 {n} 个节点",
  "clients.empty": "还没有节点在 Announce。",

  "about.heading": "关于此 Tracker",
  "about.lead":
    "buntracker 是一个支持 HTTP、UDP 与 WebSocket（供浏览器中的 WebTorrent 客户端使用）的 BitTorrent Tracker。它让下载同一个种子的 BitTorrent 客户端互相发现；文件本身在这些客户端之间直接传输。",
  "about.settings": "Announce 参数",
  "about.interval": "Announce 间隔",
  "about.intervalAdaptive": "{d}（自适应，负载 {load}）",
  "about.minInterval": "最小间隔",
  "about.peerTimeout": "节点超时",
  "about.startedAt": "启动时间",
  "disclaimer.heading": "免责声明",
  "disclaimer.p1":
    "本 Tracker 不托管、不存储、不索引任何文件、种子文件或其他内容。它只在内存中保存 Announce 某个 Info Hash 的节点的 IP 地址和端口，并将其提供给 Announce 同一 Info Hash 的其他节点。",
  "disclaimer.p2": "Info Hash 只是一个 20 字节的不透明标识。Tracker 无法得知它指向什么，也看不到节点之间交换的数据。",
  "disclaimer.p3":
    "在默认日志级别下不记录任何请求：不会在任何地方写下谁 Announce 了什么。节点停止 Announce 后，其记录即被删除。",
  "disclaimer.p4": "本部署的运营者负责依法运行本服务，每位用户对自己分享的内容负责。",

  "footer.version": "buntracker {v}",
  "footer.uptime": "已运行 {d}",
  "footer.disclaimer": "免责声明",
  "error.load": "无法加载数据，正在重试…",

  "unit.d": "{n} 天",
  "unit.h": "{n} 小时",
  "unit.m": "{n} 分钟",
  "unit.s": "{n} 秒",
};

export type Lang = "en" | "zh";

const STORAGE_KEY = "buntracker.lang";
const dictionaries: Record<Lang, Record<Key, string>> = { en, zh };

function storedLang(): Lang | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === "en" || v === "zh" ? v : null;
  } catch {
    return null; // storage blocked (privacy mode): fall back to detection
  }
}

/** The first of the browser's preferred languages that we have, English if none. */
export function detectLang(preferred: readonly string[]): Lang {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "zh") return "zh";
    if (base === "en") return "en";
  }
  return "en";
}

let current: Lang = storedLang() ?? detectLang(navigator.languages ?? [navigator.language]);
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

/** BCP 47 tag for <html lang> and Intl formatting. */
export function locale(): string {
  return current === "zh" ? "zh-CN" : "en";
}

export function setLang(next: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered, still switched
  }
  if (next === current) return;
  current = next;
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.add(fn);
}

/** The text for `key` with `{name}` placeholders filled from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return dictionaries[current][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
