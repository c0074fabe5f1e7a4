// UDP (BEP 15) load generator: the hot loop behind `npm run bench -- udp|compare|memory`.
//
// Why C (measured on the 2-vCPU dev VM, 2026-11-21, generator on CPU 1, responder on CPU 0, 4 sockets): a
// minimal Bun.udpSocket generator (one JS callback per reply, one send() per request, no bookkeeping at all)
// reached 125-153k replies/s at 100% of its core against the C trivial responder; this loop (poll,
// recvmmsg/sendmmsg in batches of 64, no allocation) reaches 208-250k with every reply matched and timed, at
// which point the responder's core is saturated too. opentracker does 68-83k and our tracker about 100k
// here, so a Bun generator would have had too little headroom (the 70%-of-ceiling rule of
// performance-anchors.md §6).
//
// The workload (which torrent each peer announces, its port, socket and scrape list) is computed in TypeScript
// (workload.ts) from a fixed seed and handed over as a plan file, so the whitelist, probes and scrape checks
// use exactly the same torrent set. This program only builds packets, keeps a window of requests in flight per
// socket, matches replies by transaction id (slot | generation << slot bits), and counts.
//
// Output: JSON lines on stdout ("ready", "progress", "prefill"/"fill", "window", "summary"); errors on stderr,
// exit 1.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SOCKETS 255
#define MAX_PKT 2048
#define NBUCKETS (16 + 8 * 40)

enum { T_CONNECT = 0, T_ANNOUNCE = 1, T_SCRAPE = 2 };
// Connect: only connection ids are fetched. Fill: each peer announces once. Load: the request mix, forever.
enum { P_CONNECT, P_FILL, P_LOAD };
static int phase = P_CONNECT;

typedef struct {
  uint64_t sent_ns;
  uint32_t peer;
  uint32_t gen; // bumped on every reuse; starts random, so replies meant for an earlier run never match
  uint8_t type;
  uint8_t busy;
} Slot;

typedef struct {
  int fd;
  uint8_t connid[8];
  int have_id, connect_out, refresh_due;
  Slot *slots;
  uint16_t *free_slots;
  int nfree, inflight;
  uint32_t *peers, npeers, cursor; // the peers that send on this socket, walked in order
  uint32_t *retry, rcount;         // fill mode: peers to send again after a timeout
} Sock;

typedef struct {
  uint64_t sent, connect, announce, scrape, error, peers, timeouts, late, bad, send_errors;
} Counts;

// Options.
static const char *plan_path, *target = "127.0.0.1:6969", *sources = "127.0.0.1";
static int nsock = 4, window = 64, numwant = 30, fill_numwant = 0, fill_only = 0, prefill = 0;
static double duration = 30, warmup = 0, window_secs = 5, timeout_ms = 1000, seeder_p = 0.75, max_secs = 0;
// --rate: requests per second in the load phase (0 = as fast as the window allows), a token bucket refilled
// on every pass of the loop and holding at most 5 ms worth, so the offered load is fixed whatever the target.
static double rate = 0, tokens = 0;
static uint64_t tokens_at;
static int sock_budget = BATCH, first_sock; // per socket per pass, and a rotating start: every socket gets its share
static unsigned wc = 0, wa = 100, ws = 1;
static uint64_t seed = 0; // 0: from the clock

// Plan (see workload.ts writePlan): header, hashes, then per-peer arrays.
static uint32_t n_torrents, n_peers;
static const uint8_t *hashes;
static const uint32_t *p_torrent, *p_scrape_off, *p_scrape;
static const uint16_t *p_port;
static const uint8_t *p_socket;

static Sock socks[MAX_SOCKETS];
static Counts cnt;
static uint64_t hist[NBUCKETS];
static uint64_t lat_max;
static int measuring;
static char first_error[256], first_bad[64];
static uint64_t rng_state;
static int slot_bits; // transaction id = slot | generation << slot_bits
static uint32_t gen_mask;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rnd(void) { // splitmix64
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void die(const char *msg) {
  fprintf(stderr, "udp-gen: %s%s%s\n", msg, errno ? ": " : "", errno ? strerror(errno) : "");
  exit(1);
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static void put64(uint8_t *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Log-linear latency buckets: exact below 16 us, then 8 buckets per power of two (about 12% wide).
static int bucket(uint64_t us) {
  if (us < 16) return (int)us;
  int e = 63 - __builtin_clzll(us);
  int b = 16 + (e - 4) * 8 + (int)((us >> (e - 3)) & 7);
  return b < NBUCKETS ? b : NBUCKETS - 1;
}
static uint64_t bucket_low(int b) {
  if (b < 16) return (uint64_t)b;
  int e = (b - 16) / 8 + 4;
  return (1ull << e) + (uint64_t)((b - 16) % 8) * (1ull << (e - 3));
}
static uint64_t percentile(double q) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i < NBUCKETS; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)total);
  if (rank >= total) rank = total - 1;
  for (int i = 0; i < NBUCKETS; i++) {
    seen += hist[i];
    if (seen > rank) return bucket_low(i);
  }
  return lat_max;
}

static void load_plan(void) {
  int fd = open(plan_path, O_RDONLY);
  if (fd < 0) die("cannot open the plan file");
  struct stat st;
  fstat(fd, &st);
  const uint8_t *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) die("cannot map the plan file");
  if (st.st_size < 32 || memcmp(m, "BTBPLAN1", 8) != 0) { errno = 0; die("not a plan file"); }
  n_torrents = *(const uint32_t *)(m + 8);
  n_peers = *(const uint32_t *)(m + 12);
  uint32_t n_scrape = *(const uint32_t *)(m + 16);
  // Sections are 8-byte aligned so they can be read in place.
  size_t off = 32;
#define SECTION(ptr, type, count) \
  ptr = (const type *)(m + off); off += ((size_t)(count) * sizeof(type) + 7) & ~(size_t)7;
  SECTION(hashes, uint8_t, (size_t)n_torrents * 20);
  SECTION(p_torrent, uint32_t, n_peers);
  SECTION(p_port, uint16_t, n_peers);
  SECTION(p_socket, uint8_t, n_peers);
  SECTION(p_scrape_off, uint32_t, n_peers + 1);
  SECTION(p_scrape, uint32_t, n_scrape);
  if (off > (size_t)st.st_size) { errno = 0; die("plan file truncated"); }
}

static struct sockaddr_in parse_addr(const char *text, int with_port) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  char buf[64];
  snprintf(buf, sizeof buf, "%s", text);
  char *colon = with_port ? strrchr(buf, ':') : NULL;
  if (with_port) {
    if (!colon) { errno = 0; die("target must be IPv4:PORT"); }
    *colon = 0;
    a.sin_port = htons((uint16_t)atoi(colon + 1));
  }
  if (inet_pton(AF_INET, buf, &a.sin_addr) != 1) { errno = 0; die("bad IPv4 address"); }
  return a;
}

static void open_sockets(void) {
  struct sockaddr_in to = parse_addr(target, 1);
  struct sockaddr_in from[MAX_SOCKETS];
  int nsrc = 0;
  char list[4096];
  snprintf(list, sizeof list, "%s", sources);
  for (char *tok = strtok(list, ","); tok && nsrc < MAX_SOCKETS; tok = strtok(NULL, ",")) from[nsrc++] = parse_addr(tok, 0);
  for (int i = 0; i < nsock; i++) {
    Sock *s = &socks[i];
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) die("socket");
    // 8 MB buffers as in the reference methodology; FORCE works as root without raising net.core.rmem_max.
    int size = 8000000;
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
      setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in src = from[i % nsrc];
    if (bind(s->fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind to a source address (127.0.0.x)");
    if (connect(s->fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    s->slots = calloc((size_t)window, sizeof(Slot));
    s->free_slots = malloc((size_t)window * sizeof(uint16_t));
    for (int k = 0; k < window; k++) {
      s->free_slots[k] = (uint16_t)(window - 1 - k);
      s->slots[k].gen = (uint32_t)rnd() & gen_mask;
    }
    s->nfree = window;
  }
  // Each peer sends on its socket (plan value modulo the socket count): counting sort into per-socket lists.
  uint32_t *count = calloc(MAX_SOCKETS, sizeof(uint32_t));
  for (uint32_t p = 0; p < n_peers; p++) count[p_socket[p] % nsock]++;
  for (int i = 0; i < nsock; i++) {
    socks[i].peers = malloc((count[i] + 1) * sizeof(uint32_t));
    socks[i].retry = malloc((count[i] + 1) * sizeof(uint32_t));
  }
  for (uint32_t p = 0; p < n_peers; p++) {
    Sock *s = &socks[p_socket[p] % nsock];
    s->peers[s->npeers++] = p;
  }
  free(count);
}

// Builds one request into buf; returns its length, or 0 if this socket has nothing to send now.
static int build(Sock *s, Slot *slot, uint8_t *buf) {
  // A connect when the socket has no id yet (nothing else can be sent), or once a minute to refresh it
  // (trackers accept ids for 2-5 minutes); a refresh does not hold up other requests meanwhile.
  if (!s->have_id && s->connect_out) return 0;
  if (!s->have_id || (s->refresh_due && !s->connect_out)) {
    s->connect_out = 1;
    s->refresh_due = 0;
    slot->type = T_CONNECT;
    put64(buf, 0x41727101980ull);
    put32(buf + 8, 0);
    return 16;
  }
  uint32_t peer;
  int type;
  if (phase == P_CONNECT) return 0;
  int fill = phase == P_FILL;
  if (fill) {
    if (s->rcount > 0) peer = s->retry[--s->rcount];
    else if (s->cursor < s->npeers) peer = s->peers[s->cursor++];
    else return 0;
    type = T_ANNOUNCE;
  } else {
    unsigned r = (unsigned)(rnd() % (wc + wa + ws));
    type = r < wc ? T_CONNECT : r < wc + wa ? T_ANNOUNCE : T_SCRAPE;
    if (type == T_CONNECT) {
      slot->type = T_CONNECT;
      put64(buf, 0x41727101980ull);
      put32(buf + 8, 0);
      return 16;
    }
    if (s->npeers == 0) return 0;
    peer = s->peers[s->cursor];
    if (++s->cursor == s->npeers) s->cursor = 0;
  }
  slot->type = (uint8_t)type;
  slot->peer = peer;
  memcpy(buf, s->connid, 8);
  if (type == T_ANNOUNCE) {
    put32(buf + 8, 1);
    memcpy(buf + 16, hashes + (size_t)p_torrent[peer] * 20, 20);
    memset(buf + 36, 0, 20); // peer_id: zeros, so peers are told apart by (source IP, port) only
    int seeder = (double)(rnd() >> 11) * 0x1.0p-53 < seeder_p;
    put64(buf + 56, 50);                          // downloaded
    put64(buf + 64, seeder ? 0 : 50);             // left
    put64(buf + 72, 50);                          // uploaded
    put32(buf + 80, seeder ? 1 : 2);              // completed : started
    put32(buf + 84, 0);                           // ip
    put32(buf + 88, 0);                           // key
    put32(buf + 92, (uint32_t)(fill ? fill_numwant : numwant));
    buf[96] = p_port[peer] >> 8;
    buf[97] = p_port[peer] & 0xff;
    return 98;
  }
  put32(buf + 8, 2);
  uint32_t a = p_scrape_off[peer], b = p_scrape_off[peer + 1];
  for (uint32_t k = a; k < b; k++) memcpy(buf + 16 + (k - a) * 20, hashes + (size_t)p_scrape[k] * 20, 20);
  return 16 + (int)(b - a) * 20;
}

static uint8_t sbuf[BATCH][MAX_PKT], rbuf[BATCH][MAX_PKT];
static struct mmsghdr smsg[BATCH], rmsg[BATCH];
static struct iovec siov[BATCH], riov[BATCH];

static void release(Sock *s, Slot *slot) {
  slot->busy = 0;
  slot->gen = (slot->gen + 1) & gen_mask;
  s->free_slots[s->nfree++] = (uint16_t)(slot - s->slots);
  s->inflight--;
}

static void send_some(Sock *s) {
  int fill = phase == P_FILL;
  int n = 0;
  int idx[BATCH];
  uint64_t t = now_ns();
  int limited = rate > 0 && phase == P_LOAD;
  while (s->nfree > 0 && n < BATCH) {
    if (limited && (tokens < 1 || n >= sock_budget)) break;
    int k = s->free_slots[s->nfree - 1];
    Slot *slot = &s->slots[k];
    int len = build(s, slot, sbuf[n]);
    if (len == 0) break;
    s->nfree--;
    s->inflight++;
    slot->busy = 1;
    slot->sent_ns = t;
    put32(sbuf[n] + 12, (uint32_t)k | slot->gen << slot_bits);
    siov[n].iov_len = (size_t)len;
    idx[n++] = k;
    if (limited) tokens -= 1;
  }
  if (n == 0) return;
  int sent = sendmmsg(s->fd, smsg, (unsigned)n, 0);
  if (sent < 0) sent = 0;
  cnt.sent += (uint64_t)sent;
  // Unsent requests (full send buffer, ICMP error): give the slots back; the work is retried next round.
  for (int i = n - 1; i >= sent; i--) {
    Slot *slot = &s->slots[idx[i]];
    if (slot->type == T_CONNECT) s->connect_out = 0;
    else if (fill) s->retry[s->rcount++] = slot->peer; // (load mode: the peer simply comes round again)
    release(s, slot);
    cnt.send_errors++;
  }
}

static uint64_t answered_fill, errors_fill;

static void receive(Sock *s) {
  int fill = phase == P_FILL;
  for (;;) {
    int n = recvmmsg(s->fd, rmsg, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    uint64_t t = now_ns();
    for (int i = 0; i < n; i++) {
      const uint8_t *p = rbuf[i];
      unsigned len = rmsg[i].msg_len;
      if (len < 8) { cnt.bad++; continue; }
      uint32_t action = get32(p), tx = get32(p + 4);
      uint32_t k = tx & ((1u << slot_bits) - 1);
      if (k >= (uint32_t)window || !s->slots[k].busy || s->slots[k].gen != (tx >> slot_bits)) { cnt.late++; continue; }
      Slot *slot = &s->slots[k];
      if (measuring) {
        uint64_t us = (t - slot->sent_ns) / 1000;
        hist[bucket(us)]++;
        if (us > lat_max) lat_max = us;
      }
      if (action == 0 && len >= 16 && slot->type == T_CONNECT) {
        memcpy(s->connid, p + 8, 8);
        s->have_id = 1;
        s->connect_out = 0;
        cnt.connect++;
      } else if (action == 1 && len >= 20 && slot->type == T_ANNOUNCE) {
        cnt.announce++;
        cnt.peers += (len - 20) / 6;
        if (fill) answered_fill++;
      } else if (action == 1 && len < 20 && slot->type == T_ANNOUNCE) {
        // A bare 8-byte reply is opentracker's refusal (torrent not in its whitelist): an error, not retried.
        cnt.error++;
        if (!first_error[0]) snprintf(first_error, sizeof first_error, "%u-byte announce reply (refused: not whitelisted?)", len);
        if (fill) { answered_fill++; errors_fill++; }
      } else if (action == 2 && slot->type == T_SCRAPE) {
        cnt.scrape++;
      } else if (action == 3) {
        cnt.error++;
        if (!first_error[0]) {
          unsigned m = len - 8 < sizeof first_error - 1 ? len - 8 : sizeof first_error - 1;
          for (unsigned j = 0; j < m; j++) first_error[j] = (p[8 + j] >= 32 && p[8 + j] < 127 && p[8 + j] != '"' && p[8 + j] != '\\') ? (char)p[8 + j] : '?';
        }
        if (slot->type == T_CONNECT) s->connect_out = 0;
        if (fill && slot->type == T_ANNOUNCE) { answered_fill++; errors_fill++; }
      } else {
        cnt.bad++;
        if (!first_bad[0]) snprintf(first_bad, sizeof first_bad, "action %u, %u bytes, for a %s", action, len, slot->type == T_CONNECT ? "connect" : slot->type == T_ANNOUNCE ? "announce" : "scrape");
        if (slot->type == T_CONNECT) s->connect_out = 0;
        if (fill && slot->type == T_ANNOUNCE) s->retry[s->rcount++] = slot->peer;
      }
      release(s, slot);
    }
    if (n < BATCH) return;
  }
}

static void expire(uint64_t t) {
  int fill = phase == P_FILL;
  uint64_t limit = (uint64_t)(timeout_ms * 1e6);
  for (int i = 0; i < nsock; i++) {
    Sock *s = &socks[i];
    for (int k = 0; k < window; k++) {
      Slot *slot = &s->slots[k];
      if (!slot->busy || t - slot->sent_ns < limit) continue;
      if (measuring || fill) cnt.timeouts++;
      if (slot->type == T_CONNECT) s->connect_out = 0;
      else if (fill) s->retry[s->rcount++] = slot->peer;
      release(s, slot);
    }
  }
}

static double cpu_secs(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void print_counts(const char *type, const Counts *a, const Counts *b, double secs, const char *extra) {
  printf("{\"type\":\"%s\",\"secs\":%.3f,\"sent\":%llu,\"connect\":%llu,\"announce\":%llu,\"scrape\":%llu,"
         "\"error\":%llu,\"peers\":%llu,\"timeouts\":%llu,\"late\":%llu,\"bad\":%llu,\"send_errors\":%llu%s}\n",
         type, secs, (unsigned long long)(a->sent - b->sent), (unsigned long long)(a->connect - b->connect),
         (unsigned long long)(a->announce - b->announce), (unsigned long long)(a->scrape - b->scrape),
         (unsigned long long)(a->error - b->error), (unsigned long long)(a->peers - b->peers),
         (unsigned long long)(a->timeouts - b->timeouts), (unsigned long long)(a->late - b->late),
         (unsigned long long)(a->bad - b->bad), (unsigned long long)(a->send_errors - b->send_errors), extra);
  fflush(stdout);
}

// One pass of the event loop: fill every socket's window, wait for replies, read them, expire old requests.
static uint64_t last_expire;
static void step(int wait_ms) {
  struct pollfd pf[MAX_SOCKETS];
  if (rate > 0) {
    uint64_t t = now_ns();
    if (tokens_at == 0) tokens_at = t;
    tokens += rate * (double)(t - tokens_at) / 1e9;
    if (tokens > rate * 0.005 + 1) tokens = rate * 0.005 + 1;
    tokens_at = t;
    if (phase == P_LOAD && wait_ms > 1) wait_ms = 1; // come back for the next tokens
    sock_budget = (int)(tokens / nsock) + 1;
  }
  first_sock = (first_sock + 1) % nsock;
  for (int j = 0; j < nsock; j++) {
    int i = (first_sock + j) % nsock;
    send_some(&socks[i]);
    pf[i].fd = socks[i].fd;
    pf[i].events = POLLIN;
  }
  poll(pf, (nfds_t)nsock, wait_ms);
  for (int i = 0; i < nsock; i++)
    if (pf[i].revents) receive(&socks[i]);
  uint64_t t = now_ns();
  if (t - last_expire > 20000000ull) {
    expire(t);
    last_expire = t;
  }
}

static void get_ids(void) {
  uint64_t start = now_ns();
  for (;;) {
    int all = 1;
    for (int i = 0; i < nsock; i++) all &= socks[i].have_id;
    if (all) return;
    if (now_ns() - start > 5000000000ull) {
      errno = 0;
      die("no connect reply from the target within 5 s (is a tracker listening there?)");
    }
    step(10);
  }
}

static int fill_done(void) {
  for (int i = 0; i < nsock; i++) {
    Sock *s = &socks[i];
    if (s->cursor < s->npeers || s->rcount > 0 || s->inflight > 0) return 0;
  }
  return 1;
}

// Announces every peer once (retrying timeouts), as fast as the target answers.
static void run_fill(const char *label) {
  uint64_t start = now_ns(), last = start, refresh = start;
  Counts before = cnt;
  answered_fill = errors_fill = 0;
  phase = P_FILL;
  for (int i = 0; i < nsock; i++) { socks[i].cursor = 0; socks[i].rcount = 0; }
  while (!fill_done()) {
    step(10);
    uint64_t t = now_ns();
    if (t - refresh > 60000000000ull) { // connection ids live 2-5 minutes: refresh every minute
      for (int i = 0; i < nsock; i++) socks[i].refresh_due = 1;
      refresh = t;
    }
    if (t - last >= 1000000000ull) {
      printf("{\"type\":\"progress\",\"label\":\"%s\",\"secs\":%.3f,\"answered\":%llu,\"total\":%u,\"errors\":%llu,\"timeouts\":%llu}\n",
             label, (t - start) / 1e9, (unsigned long long)answered_fill, n_peers, (unsigned long long)errors_fill,
             (unsigned long long)(cnt.timeouts - before.timeouts));
      fflush(stdout);
      last = t;
    }
    if (max_secs > 0 && t - start > max_secs * 1e9) break;
  }
  char extra[512];
  snprintf(extra, sizeof extra, ",\"answered\":%llu,\"total\":%u,\"complete\":%s,\"first_error\":\"%s\",\"first_bad\":\"%s\"",
           (unsigned long long)answered_fill, n_peers, fill_done() ? "true" : "false", first_error, first_bad);
  print_counts(label, &cnt, &before, (now_ns() - start) / 1e9, extra);
  for (int i = 0; i < nsock; i++) socks[i].cursor = 0;
  phase = P_CONNECT;
}

static void run_load(void) {
  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)(warmup * 1e9), end = warm_end + (uint64_t)(duration * 1e9);
  uint64_t win = (uint64_t)(window_secs * 1e9), next_win = start + win, win_start = start, refresh = start;
  Counts at_win = cnt, at_measure = cnt;
  double cpu0 = cpu_secs();
  phase = P_LOAD;
  measuring = warmup <= 0;
  if (measuring) next_win = start + win;
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && t >= warm_end) {
      measuring = 1;
      at_measure = cnt;
      cpu0 = cpu_secs();
      win_start = t;
      at_win = cnt;
      next_win = t + win;
    }
    if (t >= next_win || t >= end) {
      char extra[64];
      snprintf(extra, sizeof extra, ",\"measured\":%s", measuring ? "true" : "false");
      print_counts("window", &cnt, &at_win, (t - win_start) / 1e9, extra);
      at_win = cnt;
      win_start = t;
      next_win = t + win;
    }
    if (t >= end) break;
    if (t - refresh > 60000000000ull) {
      for (int i = 0; i < nsock; i++) socks[i].refresh_due = 1;
      refresh = t;
    }
    step(5);
  }
  double secs = (now_ns() - warm_end) / 1e9, cpu = cpu_secs() - cpu0;
  int inflight = 0;
  for (int i = 0; i < nsock; i++) inflight += socks[i].inflight;
  char extra[1024];
  snprintf(extra, sizeof extra,
           ",\"cpu_percent\":%.1f,\"inflight_at_end\":%d,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
           "\"max_us\":%llu,\"first_error\":\"%s\",\"first_bad\":\"%s\"",
           100 * cpu / secs, inflight, (unsigned long long)percentile(0.5), (unsigned long long)percentile(0.9),
           (unsigned long long)percentile(0.99), (unsigned long long)lat_max, first_error, first_bad);
  print_counts("summary", &cnt, &at_measure, secs, extra);
}

static void usage(void) {
  fprintf(stderr,
          "usage: udp-gen --plan FILE [--target IP:PORT] [--sources IP,IP..] [--sockets N] [--inflight N]\n"
          "  [--duration S] [--warmup S] [--window S] [--mix C,A,S] [--numwant N] [--fill-numwant N] [--seeder-p P]\n"
          "  [--timeout-ms MS] [--seed N] [--prefill] [--fill] [--max-secs S] [--rate REQUESTS_PER_SEC]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
    if (strcmp(a, "--prefill") == 0) prefill = 1;
    else if (strcmp(a, "--fill") == 0) fill_only = 1;
    else if (OPT("--plan")) plan_path = v;
    else if (OPT("--target")) target = v;
    else if (OPT("--sources")) sources = v;
    else if (OPT("--sockets")) nsock = atoi(v);
    else if (OPT("--inflight")) window = atoi(v);
    else if (OPT("--duration")) duration = atof(v);
    else if (OPT("--warmup")) warmup = atof(v);
    else if (OPT("--window")) window_secs = atof(v);
    else if (OPT("--numwant")) numwant = atoi(v);
    else if (OPT("--fill-numwant")) fill_numwant = atoi(v);
    else if (OPT("--seeder-p")) seeder_p = atof(v);
    else if (OPT("--timeout-ms")) timeout_ms = atof(v);
    else if (OPT("--seed")) seed = strtoull(v, NULL, 10);
    else if (OPT("--max-secs")) max_secs = atof(v);
    else if (OPT("--rate")) rate = atof(v);
    else if (OPT("--mix")) {
      if (sscanf(v, "%u,%u,%u", &wc, &wa, &ws) != 3 || wc + wa + ws == 0) usage();
    } else usage();
  }
  if (!plan_path || nsock < 1 || nsock > MAX_SOCKETS || window < 1 || window > 65535) usage();
  rng_state = seed ? seed : now_ns() ^ (uint64_t)getpid() << 32;
  while ((1 << slot_bits) < window) slot_bits++;
  gen_mask = (uint32_t)((1ull << (32 - slot_bits)) - 1);
  for (int i = 0; i < BATCH; i++) {
    siov[i].iov_base = sbuf[i];
    smsg[i].msg_hdr.msg_iov = &siov[i];
    smsg[i].msg_hdr.msg_iovlen = 1;
    riov[i].iov_base = rbuf[i];
    riov[i].iov_len = MAX_PKT;
    rmsg[i].msg_hdr.msg_iov = &riov[i];
    rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  load_plan();
  open_sockets();
  get_ids();
  printf("{\"type\":\"ready\",\"peers\":%u,\"torrents\":%u}\n", n_peers, n_torrents);
  fflush(stdout);
  if (fill_only || prefill) run_fill(fill_only ? "fill" : "prefill");
  if (!fill_only) run_load();
  return 0;
}
