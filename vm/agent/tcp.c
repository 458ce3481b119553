/* Layerlab guest agent: TCP relay: tcp-connect, tcp-send, tcp-close. Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* TCP relay: tcp-connect / tcp-send / tcp-close (published ports)      */
/* ------------------------------------------------------------------ */

/* A connection the agent opened inside the guest for the host (a published port reached from outside
 * the VM): bytes from the socket become `tcp-data` events, bytes from the host arrive in `tcp-send`. */
#define TCP_CHUNK 49152            /* bytes per tcp-data event (64 KiB of base64) */
#define TCP_SEND_HIGH (256u << 10) /* a tcp-send is answered only once the backlog is below this */

typedef struct tconn {
	int conn, fd;
	sbuf out;            /* bytes from the host not yet written to the socket */
	int read_done;       /* tcp-end sent */
	int shut_after;      /* shutdown(SHUT_WR) once `out` is empty */
	char waiting_id[64]; /* a tcp-send whose answer waits for the backlog to drain */
	struct tconn *next;
} tconn;

static tconn *g_tconns;
static int g_tconn_next = 1;

static tconn *tcp_find(long long conn)
{
	for (tconn *t = g_tconns; t; t = t->next)
		if (t->conn == conn)
			return t;
	return NULL;
}

static void tcp_event_end(tconn *t, const char *error)
{
	sbuf m = {0};
	sb_printf(&m, "{\"event\":\"tcp-end\",\"conn\":%d", t->conn);
	if (error) {
		sb_puts(&m, ",\"error\":");
		sb_jstr(&m, error);
	}
	sb_putc(&m, '}');
	send_msg(&m);
	sb_free(&m);
	t->read_done = 1;
}

static void tcp_free(tconn *t)
{
	for (tconn **pp = &g_tconns; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if (t->waiting_id[0])
		reply_err(t->waiting_id, "tcp-send", "connection closed");
	close(t->fd);
	sb_free(&t->out);
	free(t);
}

int op_tcp_connect(const jnode *req, sbuf *res)
{
	const char *ip;
	long long port, timeout_ms;
	if (p_str(req, "ip", 1, &ip) || p_int(req, "port", 1, &port, 0) || p_int(req, "timeoutMs", 0, &timeout_ms, 3000))
		return -1;
	if (port < 1 || port > 65535)
		return fail("port %lld is out of range (1-65535)", port);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return fail("%s is not an IPv4 address", ip);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("socket");
	/* a container address on a guest bridge answers at once (or not at all): bound the blocking connect */
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		int r = fail_errno("connect %s:%lld", ip, port);
		close(fd);
		return r;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	tconn *t = calloc(1, sizeof *t);
	if (!t)
		die("out of memory");
	t->conn = g_tconn_next++;
	t->fd = fd;
	t->next = g_tconns;
	g_tconns = t;
	sb_printf(res, ",\"conn\":%d", t->conn);
	return 0;
}

/* Writes what the socket takes; answers a waiting tcp-send once the backlog is low. */
static void tcp_flush(tconn *t)
{
	size_t done = 0;
	while (done < t->out.n) {
		ssize_t k = write(t->fd, t->out.p + done, t->out.n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		if (k < 0) {
			/* the peer is gone: drop the backlog; reading reports the end */
			done = t->out.n;
			break;
		}
		done += (size_t)k;
	}
	if (done) {
		memmove(t->out.p, t->out.p + done, t->out.n - done);
		sb_trunc(&t->out, t->out.n - done);
	}
	if (t->waiting_id[0] && t->out.n < TCP_SEND_HIGH) {
		sbuf none = {0};
		reply_ok(t->waiting_id, &none);
		t->waiting_id[0] = 0;
	}
	if (!t->out.n && t->shut_after) {
		shutdown(t->fd, SHUT_WR);
		t->shut_after = 0;
	}
}

int op_tcp_send(const jnode *req, const char *id)
{
	long long conn;
	unsigned char *data;
	size_t n;
	int present;
	if (p_int(req, "conn", 1, &conn, 0) || p_b64(req, "data", &data, &n, &present))
		return -1;
	tconn *t = tcp_find(conn);
	if (!t)
		return fail("no connection %lld (closed?)", conn);
	if (t->waiting_id[0])
		return fail("connection %lld: a tcp-send is still waiting; send the next after its answer", conn);
	sb_add(&t->out, data, n);
	snprintf(t->waiting_id, sizeof t->waiting_id, "%s", id);
	tcp_flush(t);
	return 1; /* answered by tcp_flush */
}

int op_tcp_close(const jnode *req, sbuf *res)
{
	(void)res;
	long long conn;
	const char *how;
	if (p_int(req, "conn", 1, &conn, 0) || p_str(req, "how", 0, &how))
		return -1;
	if (!how)
		how = "both";
	tconn *t = tcp_find(conn);
	if (!t)
		return 0; /* already gone */
	if (!strcmp(how, "write")) {
		t->shut_after = 1;
		tcp_flush(t);
	} else if (!strcmp(how, "both")) {
		tcp_free(t);
	} else {
		return fail("how must be \"write\" or \"both\", not \"%s\"", how);
	}
	return 0;
}

size_t tcp_count(void)
{
	size_t n = 0;
	for (tconn *t = g_tconns; t; t = t->next)
		n++;
	return n;
}

size_t tcp_pollfds(struct pollfd *pfds, size_t n)
{
	for (tconn *t = g_tconns; t; t = t->next) {
		short ev = (short)((t->read_done ? 0 : POLLIN) | (t->out.n ? POLLOUT : 0));
		pfds[n++] = (struct pollfd){.fd = ev ? t->fd : -1, .events = ev};
	}
	return n;
}

void tcp_ready(const struct pollfd *pfds, size_t from, size_t to)
{
	static unsigned char buf[TCP_CHUNK];
	for (size_t i = from; i < to; i++) {
		if (!pfds[i].revents || pfds[i].fd < 0)
			continue;
		tconn *t = NULL;
		for (tconn *c = g_tconns; c; c = c->next)
			if (c->fd == pfds[i].fd)
				t = c;
		if (!t)
			continue;
		if (pfds[i].revents & POLLOUT)
			tcp_flush(t);
		if (t->read_done || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t k = read(t->fd, buf, sizeof buf);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			tcp_event_end(t, k < 0 ? strerror(errno) : NULL);
			continue;
		}
		sbuf m = {0};
		sb_printf(&m, "{\"event\":\"tcp-data\",\"conn\":%d,\"data\":\"", t->conn);
		sb_b64(&m, buf, (size_t)k);
		sb_puts(&m, "\"}");
		send_msg(&m);
		sb_free(&m);
	}
}
