/* Layerlab guest agent: Errors and output to the host. Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Errors: ops return -1 after fail()/fail_errno() filled g_err         */
/* ------------------------------------------------------------------ */

char g_err[4096];

__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...)
{
	char msg[sizeof g_err];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(g_err, msg, sizeof g_err);
	return -1;
}

__attribute__((format(printf, 1, 2))) int fail_errno(const char *fmt, ...)
{
	int e = errno;
	char msg[sizeof g_err];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (k >= 0 && (size_t)k < sizeof msg)
		snprintf(msg + k, sizeof msg - (size_t)k, ": %s", strerror(e));
	memcpy(g_err, msg, sizeof g_err);
	errno = e;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Output: every message is one whole line, written in one go           */
/* ------------------------------------------------------------------ */

int g_out = -1;

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pf = {.fd = fd, .events = POLLOUT};
				poll(&pf, 1, 1000);
				continue;
			}
			fprintf(stderr, "agent: write to control channel: %s\n", strerror(errno));
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

void send_msg(sbuf *b)
{
	sb_putc(b, '\n');
	write_all(g_out, b->p, b->n);
}

void reply_ok(const char *id, const sbuf *fields)
{
	sbuf b = {0};
	sb_printf(&b, "{\"id\":%s,\"ok\":true", id);
	if (fields && fields->n)
		sb_add(&b, fields->p, fields->n);
	sb_putc(&b, '}');
	send_msg(&b);
	sb_free(&b);
}

void reply_err(const char *id, const char *op, const char *msg)
{
	sbuf b = {0}, m = {0};
	sb_printf(&b, "{\"id\":%s,\"ok\":false,\"error\":", id);
	if (op && *op)
		sb_printf(&m, "%s: %s", op, msg);
	else
		sb_puts(&m, msg);
	sb_jstr_n(&b, m.p, m.n);
	sb_putc(&b, '}');
	send_msg(&b);
	sb_free(&b);
	sb_free(&m);
}

void send_ready(void)
{
	sbuf b = {0};
	sb_printf(&b, "{\"event\":\"ready\",\"version\":%d}", AGENT_VERSION);
	send_msg(&b);
	sb_free(&b);
}
