// Trivial tracker for the generator-ceiling check: answers BEP 15 connect/announce/scrape with fixed
// precomputed packets (only the transaction id, and for scrapes the entry count, change) and HTTP GETs with a
// fixed bencoded announce reply, both on one port, in one thread, with no state. Whatever rate a generator
// reaches against it is the generator's ceiling on this machine.
//
// Why C: it must not be what limits the measurement. With recvmmsg/sendmmsg in batches of 64 it answers
// 208-250k UDP requests/s on one core of the dev VM, where udp-gen (on the other core) saturates as well: most
// of either side's time is the kernel's loopback path, so this is about as much as one core each can move.
// The same responder on Bun's own sockets (trivial-bun.ts, kept as the Bun runtime's ceiling) does 144k. For
// HTTP, wrk is the limit (about 68k requests/s with keep-alive, 12k without) well before this responder is.
//
// usage: trivial HOST PORT [PEERS]   (PEERS per announce reply, default 21: the reference workload's mean)

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAX_CONN 65536

static void die(const char *msg) {
  fprintf(stderr, "trivial: %s: %s\n", msg, strerror(errno));
  exit(1);
}

static uint8_t connect_reply[16], announce_reply[20 + 6 * 200], scrape_reply[8 + 12 * 74];
static int announce_len;
static char http_reply[1024];
static int http_len;

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static void build_replies(int peers) {
  put32(connect_reply, 0);
  put32(connect_reply + 8, 0x12345678);
  put32(connect_reply + 12, 0x9abcdef0);
  put32(announce_reply, 1);
  put32(announce_reply + 8, 1800);
  put32(announce_reply + 12, 10); // leechers
  put32(announce_reply + 16, 20); // seeders
  for (int i = 0; i < peers; i++) {
    uint8_t *p = announce_reply + 20 + 6 * i;
    p[0] = 10, p[1] = 0, p[2] = (uint8_t)(i >> 8), p[3] = (uint8_t)i, p[4] = 0x1a, p[5] = 0xe1;
  }
  announce_len = 20 + 6 * peers;
  put32(scrape_reply, 2);
  for (int i = 0; i < 74; i++) put32(scrape_reply + 8 + 12 * i, 20), put32(scrape_reply + 12 + 12 * i, 5),
                                put32(scrape_reply + 16 + 12 * i, 10);
  // The same reply shape a tracker gives for compact=1 with 21 IPv4 peers.
  char body[512];
  int n = snprintf(body, sizeof body, "d8:completei20e10:downloadedi5e10:incompletei10e8:intervali1800e12:min intervali900e5:peers%d:", 6 * peers);
  memcpy(body + n, announce_reply + 20, (size_t)(6 * peers));
  n += 6 * peers;
  body[n++] = 'e';
  http_len = snprintf(http_reply, sizeof http_reply, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  memcpy(http_reply + http_len, body, (size_t)n);
  http_len += n;
}

static void serve_udp(int fd) {
  static uint8_t in[BATCH][2048];
  static struct mmsghdr rm[BATCH], sm[BATCH];
  static struct iovec ri[BATCH];
  static struct sockaddr_in from[BATCH];
  static uint8_t head[BATCH][8];
  static struct iovec parts[BATCH][2];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      ri[i] = (struct iovec){in[i], sizeof in[i]};
      rm[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &ri[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    int out = 0;
    for (int i = 0; i < n; i++) {
      unsigned len = rm[i].msg_len;
      if (len < 16) continue;
      uint32_t action = (uint32_t)in[i][8] << 24 | in[i][9] << 16 | in[i][10] << 8 | in[i][11];
      const uint8_t *body;
      size_t blen;
      if (action == 0) body = connect_reply + 8, blen = 8;
      else if (action == 1 && len >= 98) body = announce_reply + 8, blen = (size_t)announce_len - 8;
      else if (action == 2) {
        unsigned k = (len - 16) / 20;
        if (k > 74) k = 74;
        body = scrape_reply + 8, blen = 12 * k;
      } else continue;
      // Reply = action + the request's transaction id, then the fixed rest.
      put32(head[out], action);
      memcpy(head[out] + 4, in[i] + 12, 4);
      parts[out][0] = (struct iovec){head[out], 8};
      parts[out][1] = (struct iovec){(void *)body, blen};
      sm[out].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = rm[i].msg_hdr.msg_namelen, .msg_iov = parts[out], .msg_iovlen = 2};
      out++;
    }
    for (int done = 0; done < out;) {
      int r = sendmmsg(fd, sm + done, (unsigned)(out - done), 0);
      if (r <= 0) break; // a full send buffer: drop the rest, like a tracker would
      done += r;
    }
    if (n < BATCH) return;
  }
}

// HTTP: each connection keeps a small count of bytes of "\r\n\r\n" matched so far; every complete request head
// gets the fixed reply. "Connection: close" anywhere in the head closes after the reply.
typedef struct {
  uint8_t matched;
} Conn;
static Conn conns[MAX_CONN];

static int has_close(const char *buf, int n) {
  for (int i = 0; i + 17 <= n; i++)
    if ((buf[i] == 'C' || buf[i] == 'c') && strncasecmp(buf + i, "connection: close", 17) == 0) return 1;
  return 0;
}

static void serve_http(int ep, int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
      return;
    }
    if (n < 0) return;
    Conn *c = &conns[fd % MAX_CONN];
    int replies = 0;
    for (ssize_t i = 0; i < n; i++) {
      static const char end[] = "\r\n\r\n";
      c->matched = buf[i] == end[c->matched] ? c->matched + 1 : (buf[i] == '\r' ? 1 : 0);
      if (c->matched == 4) replies++, c->matched = 0;
    }
    int close_after = has_close(buf, (int)n);
    for (int r = 0; r < replies; r++)
      if (send(fd, http_reply, (size_t)http_len, MSG_NOSIGNAL) < 0) break;
    if (close_after && replies > 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
      return;
    }
    if (n < (ssize_t)sizeof buf) return;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: trivial HOST PORT [PEERS]\n");
    return 2;
  }
  int peers = argc > 3 ? atoi(argv[3]) : 21;
  if (peers < 0 || peers > 200) peers = 21;
  build_replies(peers);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "trivial: HOST must be an IPv4 address\n");
    return 2;
  }
  int one = 1, size = 8000000;
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (setsockopt(u, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(u, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(u, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(u, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind(u, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind udp");
  int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(t, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind tcp");
  if (listen(t, 4096) < 0) die("listen");
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = u};
  epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
  ev.data.fd = t;
  epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
  printf("listening %s:%s\n", argv[1], argv[2]);
  fflush(stdout);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == u) serve_udp(u);
      else if (fd == t) {
        for (;;) {
          int c = accept4(t, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[c % MAX_CONN] = (Conn){0};
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
      } else serve_http(ep, fd);
    }
  }
}
