/*
 * Batched UDP I/O for the DNS query path (issue 10): a Node-API addon that owns one nonblocking UDP socket,
 * receives up to MAX_BATCH datagrams per recvmmsg(2) into a shared buffer, calls JS once per batch, and sends
 * what JS wrote into a shared output buffer with one sendmmsg(2). Node's dgram makes one recvmsg, one sendmsg
 * and one JS callback per packet; that, not the DNS work, was most of the per-query CPU.
 * One file of ~600 lines on purpose: one socket object and its libuv poll, whose receive, send, would-block
 * and close paths share state that headers would only scatter.
 *
 * JS side: src/net/udp-batch.ts. Shared memory, all owned by the JS object (properties of `this`):
 *   rx      ArrayBuffer, MAX_BATCH slots of `slotSize` bytes; datagram i at i * slotSize
 *   rxMeta  Int32Array, RX_META ints per datagram: length copied, flags (RX_TRUNCATED), source port, family
 *   rxAddr  Uint8Array, 16 bytes per datagram: the source address (IPv4 in the first 4)
 *   tx      ArrayBuffer of `txSize` bytes that JS writes responses into
 *   txMeta  Int32Array, TX_META ints per response: receive slot it answers (its source is the destination),
 *           offset in tx, length
 *   stats   Float64Array of counters (STAT_*), read by /metrics
 * The batch callback gets the datagram count and returns how many txMeta entries it filled.
 *
 * Readiness comes from libuv (uv_poll_t on the fd). A send that would block keeps the rest of the batch and
 * waits for writability; reading stops meanwhile, so the kernel's receive buffer absorbs the backlog and the
 * receive slots the pending responses point at stay untouched. close() stops polling at once (no callback
 * after it), and the fd is closed and the close callback called when libuv has released the handle(s).
 *
 * Receive coalescing (`coalesceMicros`, --udp-coalesce): while datagrams arrive faster than one per period,
 * the socket is read on a timerfd of that period instead of on readiness (start_ticking explains why).
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_BATCH 64
/* Reads per wakeup before returning to the event loop, so timers and TCP are not starved by a flood. */
#define MAX_ROUNDS 16
#define RX_META 4
#define TX_META 3
#define RX_TRUNCATED 1

enum { STAT_RECV_CALLS, STAT_DATAGRAMS, STAT_TRUNCATED, STAT_SEND_CALLS, STAT_SENT, STAT_SEND_WAITS, STAT_SEND_ERRORS,
       STAT_RECV_ERRORS, STAT_TICKS, STAT_COALESCING, STAT_COUNT };

typedef struct {
  napi_env env;
  int fd;
  int family;
  uv_poll_t poll;
  int poll_events;
  /* close() was called: no JS callback from now on. */
  int closing;
  /* libuv released the handle and the fd is closed. */
  int closed;
  /* The JS object was collected (free on close), or the environment is going away (no more napi calls). */
  int finalized;
  int teardown;
  napi_ref self_ref;
  napi_ref cb_ref;
  napi_ref close_cb_ref;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *rx;
  size_t slot;
  int32_t *rx_meta;
  uint8_t *rx_addr;
  uint8_t *tx;
  size_t tx_size;
  int32_t *tx_meta;
  double *stats;
  /* Responses of the current batch not sent yet: tx entries [pending_from, pending_to). */
  int pending_from;
  int pending_to;
  /* Tests: pretend every Nth sendmmsg would block, to exercise the wait for writability (0 = never; 1 would
     block forever, so it is refused). */
  int fake_eagain_every;
  unsigned send_attempts;
  /* Receive coalescing (0 = off): see start_ticking. */
  uint64_t coalesce_ns;
  int tfd;
  uv_poll_t tick;
  uint64_t last_wake;
  /* libuv handles still to be released by uv_close (the socket's poll, and the tick's when coalescing). */
  int handles_open;
  struct sockaddr_storage peers[MAX_BATCH];
  struct iovec riov[MAX_BATCH];
  struct mmsghdr rmsg[MAX_BATCH];
  struct iovec siov[MAX_BATCH];
  struct mmsghdr smsg[MAX_BATCH];
} sock_t;

static void on_poll(uv_poll_t *handle, int status, int events);
static void on_tick(uv_poll_t *handle, int status, int events);

/* ---- errors ---- */

/* Throws an Error whose code is the errno name (EADDRINUSE …), like Node's own socket errors. */
static void throw_errno(napi_env env, const char *syscall, int err, const char *what) {
  const char *name = uv_err_name(-err);
  char text[512];
  snprintf(text, sizeof text, "%s %s %s (%s)", syscall, name, what, strerror(err));
  napi_value code, msg, error, v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
}

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      const napi_extended_error_info *info_;                                \
      napi_get_last_error_info((env), &info_);                              \
      napi_throw_error((env), NULL, info_->error_message ? info_->error_message : #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/* ---- receive / send ---- */

/* One datagram's header: a single buffer, a peer address, no control data. */
static void set_msg(struct mmsghdr *mm, struct iovec *iov, void *base, size_t len, struct sockaddr_storage *peer, socklen_t peer_len) {
  iov->iov_base = base;
  iov->iov_len = len;
  memset(&mm->msg_hdr, 0, sizeof mm->msg_hdr);
  mm->msg_hdr.msg_name = peer;
  mm->msg_hdr.msg_namelen = peer_len;
  mm->msg_hdr.msg_iov = iov;
  mm->msg_hdr.msg_iovlen = 1;
  mm->msg_len = 0;
}

static int recv_batch(sock_t *s) {
  /* Reset every call: the kernel writes the address lengths and flags back. */
  for (int i = 0; i < MAX_BATCH; i++) set_msg(&s->rmsg[i], &s->riov[i], s->rx + (size_t)i * s->slot, s->slot, &s->peers[i], sizeof s->peers[i]);
  int n;
  do n = recvmmsg(s->fd, s->rmsg, MAX_BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) s->stats[STAT_RECV_ERRORS]++;
    return 0;
  }
  for (int i = 0; i < n; i++) {
    int32_t *m = s->rx_meta + i * RX_META;
    uint8_t *a = s->rx_addr + i * 16;
    int truncated = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    m[0] = (int32_t)s->rmsg[i].msg_len;
    m[1] = truncated ? RX_TRUNCATED : 0;
    if (truncated) s->stats[STAT_TRUNCATED]++;
    if (s->peers[i].ss_family == AF_INET6) {
      const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&s->peers[i];
      memcpy(a, &p->sin6_addr, 16);
      m[2] = ntohs(p->sin6_port);
      m[3] = 6;
    } else {
      const struct sockaddr_in *p = (const struct sockaddr_in *)&s->peers[i];
      memset(a, 0, 16);
      memcpy(a, &p->sin_addr, 4);
      m[2] = ntohs(p->sin_port);
      m[3] = 4;
    }
  }
  s->stats[STAT_RECV_CALLS]++;
  s->stats[STAT_DATAGRAMS] += n;
  return n;
}

static void set_poll(sock_t *s, int events) {
  if (s->poll_events == events) return;
  s->poll_events = events;
  uv_poll_start(&s->poll, events, on_poll);
}

/*
 * Sends the pending responses. Returns 1 when all went (or failed for good: those are counted, not retried),
 * 0 when the socket would block: then the rest stays pending and we wait for writability.
 */
static int flush(sock_t *s) {
  while (s->pending_from < s->pending_to) {
    int count = 0;
    for (int e = s->pending_from; e < s->pending_to; e++, count++) {
      const int32_t *m = s->tx_meta + e * TX_META;
      struct sockaddr_storage *to = &s->peers[m[0]];
      set_msg(&s->smsg[count], &s->siov[count], s->tx + m[1], (size_t)m[2], to,
              to->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    }
    int n;
    s->send_attempts++;
    if (s->fake_eagain_every > 0 && s->send_attempts % (unsigned)s->fake_eagain_every == 0) {
      n = -1;
      errno = EAGAIN;
    } else {
      do n = sendmmsg(s->fd, s->smsg, (unsigned)count, MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
    }
    if (n == 0) errno = EIO; /* not expected for a non-empty batch: skip one rather than spin */
    if (n > 0) {
      s->stats[STAT_SEND_CALLS]++;
      s->stats[STAT_SENT] += n;
      s->pending_from += n;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      s->stats[STAT_SEND_WAITS]++;
      set_poll(s, UV_WRITABLE);
      return 0;
    }
    /* This one response cannot be sent (EMSGSIZE, EPERM from a firewall, ENETUNREACH, ENOBUFS …): count it, skip it. */
    s->stats[STAT_SEND_ERRORS]++;
    s->pending_from++;
  }
  s->pending_from = s->pending_to = 0;
  return 1;
}

/* Calls JS with the batch size; returns how many tx entries it filled (0 on a JS exception). */
static int call_js(sock_t *s, int n) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  int out = 0;
  napi_value self, cb, arg, result;
  if (napi_get_reference_value(env, s->self_ref, &self) == napi_ok && napi_get_reference_value(env, s->cb_ref, &cb) == napi_ok &&
      napi_create_int32(env, n, &arg) == napi_ok) {
    napi_status st = napi_make_callback(env, s->async, self, cb, 1, &arg, &result);
    if (st == napi_ok) {
      if (napi_get_value_int32(env, result, &out) != napi_ok) out = 0;
    } else {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
      out = 0;
    }
  }
  napi_close_handle_scope(env, scope);
  if (out < 0 || out > MAX_BATCH) return 0;
  /* JS wrote the entries; never trust them with memory. */
  int valid = 0;
  for (int e = 0; e < out; e++) {
    int32_t *m = s->tx_meta + e * TX_META;
    int ok = m[0] >= 0 && m[0] < n && m[1] >= 0 && m[2] > 0 && (size_t)m[1] + (size_t)m[2] <= s->tx_size;
    if (!ok) {
      s->stats[STAT_SEND_ERRORS]++;
      continue;
    }
    if (valid != e) memcpy(s->tx_meta + valid * TX_META, m, TX_META * sizeof *m);
    valid++;
  }
  return valid;
}

/*
 * Receives and answers until the queue is empty or MAX_ROUNDS batches went. Returns the datagrams received, or
 * -1 when it stopped because the socket would block on send (now waiting for writability) or was closed.
 */
static int drain(sock_t *s) {
  int total = 0;
  for (int round = 0; round < MAX_ROUNDS; round++) {
    int n = recv_batch(s);
    if (n == 0) return total;
    total += n;
    int out = call_js(s, n);
    if (s->closing) return -1;
    if (out > 0) {
      s->pending_from = 0;
      s->pending_to = out;
      if (!flush(s)) return -1;
    }
    /* recvmmsg returns fewer than asked when the queue is empty: skip the call that would say EAGAIN. */
    if (n < MAX_BATCH) return total;
  }
  return total;
}

/*
 * Receive coalescing. Under load, a wakeup per datagram or two is most of the cost of a query here (the
 * context switch, the event loop's turn, the call into JS: ~48 us of CPU per wakeup against ~14 for gdnsd on
 * this VM), while the DNS work is ~2 us. So when datagrams arrive faster than one per `coalesce_ns`, stop
 * polling the socket and read it on a timer of that period instead: every wakeup then carries what arrived in
 * the period, at a cost of at most that much added latency. The first tick that finds nothing returns to
 * polling the socket, so an idle or lightly loaded server answers each query as it comes.
 */
static void start_ticking(sock_t *s) {
  struct itimerspec period = {{0, (long)s->coalesce_ns}, {0, (long)s->coalesce_ns}};
  if (timerfd_settime(s->tfd, 0, &period, NULL) < 0) return;
  s->stats[STAT_COALESCING]++;
  uv_poll_stop(&s->poll);
  s->poll_events = 0;
  uv_poll_start(&s->tick, UV_READABLE, on_tick);
}

static void stop_ticking(sock_t *s) {
  struct itimerspec off;
  memset(&off, 0, sizeof off);
  timerfd_settime(s->tfd, 0, &off, NULL);
  uv_poll_stop(&s->tick);
}

static void on_tick(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  (void)events;
  (void)status;
  if (s->closing) return;
  uint64_t expirations;
  if (read(s->tfd, &expirations, sizeof expirations) < 0 && errno == EAGAIN) return;
  s->stats[STAT_TICKS]++;
  int got = drain(s);
  if (got < 0) {
    /* Waiting to send (the socket's poll is on for writability) or closed: the socket's poll takes over. */
    if (!s->closing) stop_ticking(s);
    return;
  }
  if (got == 0) {
    stop_ticking(s);
    set_poll(s, UV_READABLE);
    s->last_wake = 0;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  (void)events;
  if (s->closing) return;
  if (status < 0) {
    s->stats[STAT_RECV_ERRORS]++;
    return;
  }
  if (s->pending_to > s->pending_from) {
    if (!flush(s)) return;
    set_poll(s, UV_READABLE);
  }
  if (drain(s) < 0) return;
  if (s->coalesce_ns) {
    uint64_t now = uv_hrtime();
    if (s->last_wake && now - s->last_wake < s->coalesce_ns) start_ticking(s);
    s->last_wake = now;
  }
}

/* ---- lifecycle ---- */

static void free_if_done(sock_t *s) {
  if (s->closed && s->finalized) free(s);
}

static void on_closed(uv_handle_t *handle) {
  sock_t *s = handle->data;
  if (--s->handles_open > 0) return;
  if (s->tfd >= 0) close(s->tfd);
  s->tfd = -1;
  close(s->fd);
  s->fd = -1;
  s->closed = 1;
  /* Unregisters the teardown hook, or (during teardown) tells Node this socket is done and the module may go. */
  napi_remove_async_cleanup_hook(s->cleanup);
  s->cleanup = NULL;
  if (!s->teardown) {
    napi_env env = s->env;
    napi_handle_scope scope;
    if (s->close_cb_ref && napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value self, cb, result;
      if (napi_get_reference_value(env, s->self_ref, &self) == napi_ok && napi_get_reference_value(env, s->close_cb_ref, &cb) == napi_ok)
        napi_make_callback(env, s->async, self, cb, 0, NULL, &result);
      napi_close_handle_scope(env, scope);
    }
    if (s->close_cb_ref) napi_delete_reference(env, s->close_cb_ref);
    s->close_cb_ref = NULL;
    napi_async_destroy(env, s->async);
    /* The open socket kept its JS object alive (as libuv handles do); now it may be collected. */
    napi_delete_reference(env, s->self_ref);
  }
  free_if_done(s);
}

static void start_close(sock_t *s) {
  if (s->closing) return;
  s->closing = 1;
  s->pending_from = s->pending_to = 0;
  uv_poll_stop(&s->poll);
  if (!s->teardown) {
    napi_delete_reference(s->env, s->cb_ref);
    s->cb_ref = NULL;
  }
  uv_close((uv_handle_t *)&s->poll, on_closed);
  if (s->tfd >= 0) {
    uv_poll_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, on_closed);
  }
}

/*
 * The environment (a worker thread, the process) is going away with the socket open or still closing. From
 * now on nothing touches JS; Node waits for on_closed before it unloads this module, whose code the close
 * callback is (an env cleanup hook would let a worker unload the module with the callback still pending).
 */
static void teardown_hook(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  sock_t *s = arg;
  s->teardown = 1;
  start_close(s);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sock_t *s = data;
  s->finalized = 1;
  free_if_done(s);
}

/* A zeroed typed array of `count` elements on a fresh ArrayBuffer; its memory stays put while it lives. */
static napi_value new_array(napi_env env, napi_typedarray_type type, size_t count, void **data) {
  size_t unit = type == napi_float64_array ? 8 : type == napi_int32_array ? 4 : 1;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, count * unit, data, &ab) != napi_ok) return NULL;
  memset(*data, 0, count * unit);
  if (napi_create_typedarray(env, type, count, ab, 0, &arr) != napi_ok) return NULL;
  return arr;
}

static int get_int(napi_env env, napi_value obj, const char *name, int fallback, int *out) {
  bool has = false;
  napi_value v;
  *out = fallback;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok) return 0;
  if (!has) return 1;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return 1;
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    *out = b;
    return 1;
  }
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* Binds a nonblocking UDP socket; returns the fd, or -1 with a JS exception thrown. */
static int open_socket(napi_env env, const char *host, int port, int reuse_port, int rcvbuf, int sndbuf, int *family, int *bound_port) {
  char what[300];
  snprintf(what, sizeof what, "%s:%d", host, port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  char service[8];
  snprintf(service, sizeof service, "%d", port);
  int gai = getaddrinfo(host, service, &hints, &res);
  if (gai != 0 || !res) {
    napi_throw_type_error(env, "EINVAL", "host is not a numeric IPv4 or IPv6 address");
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    freeaddrinfo(res);
    throw_errno(env, "socket", e, what);
    return -1;
  }
  int one = 1;
  /* As dgram's ipv6Only: an IPv6 listener answers IPv6 only; 0.0.0.0 is its own listener. */
  if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) goto fail_setsockopt;
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) goto fail_setsockopt;
  /* Best effort, as dgram's recvBufferSize: the kernel caps it at net.core.rmem_max. */
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    throw_errno(env, "bind", e, what);
    return -1;
  }
  *family = res->ai_family == AF_INET6 ? 6 : 4;
  freeaddrinfo(res);
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  getsockname(fd, (struct sockaddr *)&local, &len);
  *bound_port = ntohs(local.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&local)->sin6_port : ((struct sockaddr_in *)&local)->sin_port);
  return fd;
fail_setsockopt: {
  int e = errno;
  freeaddrinfo(res);
  close(fd);
  throw_errno(env, "setsockopt", e, what);
  return -1;
}
}

/* new UdpSocket({ host, port, reusePort?, recvBufferSize?, sendBufferSize?, slotSize, txSize }, onBatch) */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc == 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_object || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "UdpSocket(options, onBatch): options object and callback required");
    return NULL;
  }
  napi_value hv;
  char host[256];
  size_t hlen = 0;
  if (napi_get_named_property(env, argv[0], "host", &hv) != napi_ok || napi_get_value_string_utf8(env, hv, host, sizeof host, &hlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "options.host must be a string");
    return NULL;
  }
  int port, reuse, rcvbuf, sndbuf, slot, tx_size, fake, coalesce;
  if (!get_int(env, argv[0], "port", -1, &port) || !get_int(env, argv[0], "reusePort", 0, &reuse) ||
      !get_int(env, argv[0], "recvBufferSize", 0, &rcvbuf) || !get_int(env, argv[0], "sendBufferSize", 0, &sndbuf) ||
      !get_int(env, argv[0], "slotSize", 4096, &slot) || !get_int(env, argv[0], "txSize", 64 * 4096, &tx_size) ||
      !get_int(env, argv[0], "fakeEagainEvery", 0, &fake) || !get_int(env, argv[0], "coalesceMicros", 0, &coalesce)) {
    napi_throw_type_error(env, NULL, "UdpSocket options: port, sizes and counts are integers");
    return NULL;
  }
  if (port < 0 || port > 65535 || slot < 512 || slot > 65536 || tx_size < 512 || tx_size > (64 << 20) || fake < 0 || fake == 1 ||
      coalesce < 0 || coalesce > 100000) {
    napi_throw_range_error(env, NULL, "UdpSocket options out of range");
    return NULL;
  }
  int family, bound;
  int fd = open_socket(env, host, port, reuse, rcvbuf, sndbuf, &family, &bound);
  if (fd < 0) return NULL;

  sock_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->slot = (size_t)slot;
  s->tx_size = (size_t)tx_size;
  s->fake_eagain_every = fake;
  s->coalesce_ns = (uint64_t)coalesce * 1000;
  s->tfd = -1;
  s->handles_open = 1;

  void *p[6];
  napi_value arrays[6];
  static const char *const names[6] = {"rx", "rxMeta", "rxAddr", "tx", "txMeta", "stats"};
  arrays[0] = new_array(env, napi_uint8_array, MAX_BATCH * s->slot, &p[0]);
  arrays[1] = new_array(env, napi_int32_array, MAX_BATCH * RX_META, &p[1]);
  arrays[2] = new_array(env, napi_uint8_array, MAX_BATCH * 16, &p[2]);
  arrays[3] = new_array(env, napi_uint8_array, s->tx_size, &p[3]);
  arrays[4] = new_array(env, napi_int32_array, MAX_BATCH * TX_META, &p[4]);
  arrays[5] = new_array(env, napi_float64_array, STAT_COUNT, &p[5]);
  napi_value port_v, family_v;
  int ok = napi_create_int32(env, bound, &port_v) == napi_ok && napi_create_int32(env, family, &family_v) == napi_ok;
  /* Read-only properties: the C side holds pointers into these arrays, so JS must not swap them. */
  napi_property_descriptor props[8];
  memset(props, 0, sizeof props);
  for (int i = 0; i < 6; i++) {
    ok = ok && arrays[i] != NULL;
    props[i].utf8name = names[i];
    props[i].value = arrays[i];
    props[i].attributes = napi_enumerable;
  }
  props[6].utf8name = "port";
  props[6].value = port_v;
  props[6].attributes = napi_enumerable;
  props[7].utf8name = "family";
  props[7].value = family_v;
  props[7].attributes = napi_enumerable;
  ok = ok && napi_define_properties(env, self, 8, props) == napi_ok;
  if (ok) {
    s->rx = p[0];
    s->rx_meta = p[1];
    s->rx_addr = p[2];
    s->tx = p[3];
    s->tx_meta = p[4];
    s->stats = p[5];
  }
  napi_value resource_name;
  uv_loop_t *loop = NULL;
  ok = ok && napi_create_string_utf8(env, "gslb:UdpBatch", NAPI_AUTO_LENGTH, &resource_name) == napi_ok &&
       napi_async_init(env, self, resource_name, &s->async) == napi_ok && napi_get_uv_event_loop(env, &loop) == napi_ok &&
       uv_poll_init_socket(loop, &s->poll, fd) == 0;
  if (ok && s->coalesce_ns) {
    /* Without a timer the socket is polled as without coalescing: slower under load, never wrong. */
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tfd >= 0 && uv_poll_init(loop, &s->tick, s->tfd) == 0) {
      s->tick.data = s;
      s->handles_open = 2;
    } else {
      if (s->tfd >= 0) close(s->tfd);
      s->tfd = -1;
      s->coalesce_ns = 0;
    }
  }
  if (!ok) {
    /* Nothing is polled yet: the fd and the memory can go at once. */
    if (s->async) napi_async_destroy(env, s->async);
    close(fd);
    free(s);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "UdpSocket: setup failed");
    return NULL;
  }
  s->poll.data = s;
  napi_create_reference(env, argv[1], 1, &s->cb_ref);
  napi_create_reference(env, self, 1, &s->self_ref);
  napi_wrap(env, self, s, finalize, NULL, NULL);
  napi_add_async_cleanup_hook(env, teardown_hook, s, &s->cleanup);
  set_poll(s, UV_READABLE);
  return self;
}

/* socket.close(callback?): no batch callback after this returns; `callback` runs once the fd is closed. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  sock_t *s;
  CHECK(env, napi_unwrap(env, self, (void **)&s));
  if (s->closing) return NULL;
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_function) napi_create_reference(env, argv[0], 1, &s->close_cb_ref);
  }
  start_close(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls, v;
  CHECK(env, napi_define_class(env, "UdpSocket", NAPI_AUTO_LENGTH, construct, NULL, 1, methods, &cls));
  CHECK(env, napi_set_named_property(env, exports, "UdpSocket", cls));
  napi_create_int32(env, MAX_BATCH, &v);
  napi_set_named_property(env, exports, "MAX_BATCH", v);
  napi_create_int32(env, RX_META, &v);
  napi_set_named_property(env, exports, "RX_META", v);
  napi_create_int32(env, TX_META, &v);
  napi_set_named_property(env, exports, "TX_META", v);
  napi_create_int32(env, RX_TRUNCATED, &v);
  napi_set_named_property(env, exports, "RX_TRUNCATED", v);
  /* Names of the stats array's counters, in order. */
  static const char *const stat_names[STAT_COUNT] = {"recvCalls", "datagrams", "truncated", "sendCalls", "sent", "sendWaits", "sendErrors", "recvErrors", "ticks", "coalescing"};
  napi_value list;
  CHECK(env, napi_create_array_with_length(env, STAT_COUNT, &list));
  for (uint32_t i = 0; i < STAT_COUNT; i++) {
    napi_create_string_utf8(env, stat_names[i], NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, list, i, v);
  }
  napi_set_named_property(env, exports, "STATS", list);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
