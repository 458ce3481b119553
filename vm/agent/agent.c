/*
 * Layerlab guest agent: executes the engine's requests inside the VM.
 *
 * Protocol: vm/agent/PROTOCOL.md (newline-delimited JSON over /dev/hvc0).
 * Build:    gcc -m32 -static -Os -Wall -Wextra -o agent vm/agent/agent.c
 * Options:  --stdio (use stdin/stdout, for host-side tests), --device PATH.
 * Invoked as `docker` (symlink), it is the guest's docker client instead:
 * it talks to the agent over /run/layerlab/docker.sock ($LAYERLAB_DOCKER_SOCK).
 *
 * Single-threaded poll() loop. Fork+exec is expensive under emulation (~8 ms),
 * so tar, walks, mounts, xattrs and rm run in-process; only run/signal/delete
 * (crun) and spawn start programs, via posix_spawn (vfork-like, cheap).
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#define _TIME_BITS 64
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#define AGENT_VERSION 1
#define MAX_LINE (64u << 20)   /* longest request line we buffer */
#define READ_MAX (1u << 20)    /* `read` op limit */
#define EXIT_GRACE_MS 500      /* wait this long for pipes to drain after a child exits */
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

extern char **environ;

static void die(const char *msg)
{
	fprintf(stderr, "agent: %s\n", msg);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* Growable string buffer (always NUL-terminated)                      */
/* ------------------------------------------------------------------ */

typedef struct {
	char *p;
	size_t n, cap;
} sbuf;

static void sb_grow(sbuf *b, size_t add)
{
	if (b->n + add + 1 <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 256;
	while (c < b->n + add + 1)
		c *= 2;
	char *q = realloc(b->p, c);
	if (!q)
		die("out of memory");
	b->p = q;
	b->cap = c;
}

static void sb_add(sbuf *b, const void *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_putc(sbuf *b, char c) { sb_add(b, &c, 1); }

static void sb_trunc(sbuf *b, size_t n)
{
	b->n = n;
	if (b->p)
		b->p[n] = 0;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k <= 0)
		return;
	sb_grow(b, (size_t)k);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

static void sb_free(sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	unsigned cp = c & (0x3F >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* JSON string literal. Bytes that are not valid UTF-8 (possible in file
 * names) are written as \u00XX, i.e. read as Latin-1, so output stays valid JSON. */
static void sb_jstr_n(sbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	sb_grow(b, n + 2);
	sb_putc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			sb_add(b, e, 2);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': sb_puts(b, "\\n"); break;
			case '\r': sb_puts(b, "\\r"); break;
			case '\t': sb_puts(b, "\\t"); break;
			case '\b': sb_puts(b, "\\b"); break;
			case '\f': sb_puts(b, "\\f"); break;
			default: sb_printf(b, "\\u%04x", c);
			}
			i++;
		} else if (c < 0x80) {
			/* copy a run of plain ASCII at once */
			size_t j = i;
			while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
				j++;
			sb_add(b, s + i, j - i);
			i = j;
		} else {
			size_t l = utf8_len(s + i, n - i);
			if (l) {
				sb_add(b, s + i, l);
				i += l;
			} else {
				sb_printf(b, "\\u%04x", c);
				i++;
			}
		}
	}
	sb_putc(b, '"');
}

static void sb_jstr(sbuf *b, const char *s) { sb_jstr_n(b, s, strlen(s)); }

/* ------------------------------------------------------------------ */
/* Base64                                                               */
/* ------------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void sb_b64(sbuf *b, const unsigned char *d, size_t n)
{
	sb_grow(b, (n + 2) / 3 * 4);
	char *o = b->p + b->n;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
		*o++ = B64[v >> 18];
		*o++ = B64[(v >> 12) & 63];
		*o++ = B64[(v >> 6) & 63];
		*o++ = B64[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0);
		*o++ = B64[v >> 18];
		*o++ = B64[(v >> 12) & 63];
		*o++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	b->n = (size_t)(o - b->p);
	b->p[b->n] = 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes base64 (padding optional). Returns a malloc'd buffer or NULL if invalid. */
static unsigned char *b64_decode(const char *s, size_t n, size_t *outlen)
{
	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	if (!out)
		die("out of memory");
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/* ------------------------------------------------------------------ */
/* Errors: ops return -1 after fail()/fail_errno() filled g_err         */
/* ------------------------------------------------------------------ */

static char g_err[4096];

/* Messages are formatted into a scratch buffer first: callers may pass g_err itself as an argument
 * (wrapping an inner error with the entry's name), and vsnprintf must not read what it writes. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	char msg[sizeof g_err];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(g_err, msg, sizeof g_err);
	return -1;
}

/* Like fail() but appends ": <strerror(errno)>". */
__attribute__((format(printf, 1, 2))) static int fail_errno(const char *fmt, ...)
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

static int g_out = -1;

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

static void send_msg(sbuf *b)
{
	sb_putc(b, '\n');
	write_all(g_out, b->p, b->n);
}

static void reply_ok(const char *id, const sbuf *fields)
{
	sbuf b = {0};
	sb_printf(&b, "{\"id\":%s,\"ok\":true", id);
	if (fields && fields->n)
		sb_add(&b, fields->p, fields->n);
	sb_putc(&b, '}');
	send_msg(&b);
	sb_free(&b);
}

static void reply_err(const char *id, const char *op, const char *msg)
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

static void send_ready(void)
{
	sbuf b = {0};
	sb_printf(&b, "{\"event\":\"ready\",\"version\":%d}", AGENT_VERSION);
	send_msg(&b);
	sb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Minimal JSON parser (per-request arena, freed after dispatch)        */
/* ------------------------------------------------------------------ */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jnode {
	int t;
	int b;           /* J_BOOL */
	double num;      /* J_NUM */
	char *s;         /* J_STR: decoded, NUL-terminated */
	size_t len;
	int has_nul;     /* J_STR contained \u0000: unusable as a path */
	char *key;       /* member name when inside an object */
	size_t klen;
	struct jnode *kid, *next;
	const char *raw; /* the value's exact source bytes (for run's config) */
	size_t rawlen;
} jnode;

static struct {
	void **p;
	size_t n, cap;
} g_arena;

static void *amalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		die("out of memory");
	if (g_arena.n == g_arena.cap) {
		g_arena.cap = g_arena.cap ? g_arena.cap * 2 : 64;
		g_arena.p = realloc(g_arena.p, g_arena.cap * sizeof *g_arena.p);
		if (!g_arena.p)
			die("out of memory");
	}
	g_arena.p[g_arena.n++] = p;
	return p;
}

static void afree_all(void)
{
	for (size_t i = 0; i < g_arena.n; i++)
		free(g_arena.p[i]);
	g_arena.n = 0;
}

static const char *jp, *je;
static const char *jerr;
static int jdepth;

static void jws(void)
{
	while (jp < je && (*jp == ' ' || *jp == '\t' || *jp == '\n' || *jp == '\r'))
		jp++;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
		else return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63));
		o[2] = (char)(0x80 | (cp & 63)); return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 63));
	o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
	return 4;
}

/* jp is at the opening quote. The decoded form is never longer than the source. */
static char *jparse_string(size_t *outlen, int *has_nul)
{
	const char *start = ++jp, *q = start;
	while (q < je && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= je) {
		jerr = "unterminated string";
		return NULL;
	}
	char *out = amalloc((size_t)(q - start) + 1), *o = out;
	*has_nul = 0;
	while (jp < q) {
		unsigned char c = (unsigned char)*jp;
		if (c < 0x20) {
			jerr = "control character in string";
			return NULL;
		}
		if (c != '\\') {
			*o++ = (char)c;
			jp++;
			continue;
		}
		jp++;
		switch (*jp++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (q - jp < 4 || hex4(jp, &cp)) {
				jerr = "bad \\u escape";
				return NULL;
			}
			jp += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && q - jp >= 6 && jp[0] == '\\' && jp[1] == 'u' &&
			    !hex4(jp + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				jp += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD; /* lone surrogate */
			}
			if (cp == 0)
				*has_nul = 1;
			o += put_utf8(o, cp);
			break;
		}
		default:
			jerr = "bad escape in string";
			return NULL;
		}
	}
	jp = q + 1;
	*o = 0;
	*outlen = (size_t)(o - out);
	return out;
}

static jnode *jparse_value(void);

static int jlit(const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(je - jp) >= n && !memcmp(jp, lit, n)) {
		jp += n;
		return 1;
	}
	return 0;
}

static jnode *jparse_value(void)
{
	jws();
	if (jp >= je) {
		jerr = "unexpected end of input";
		return NULL;
	}
	jnode *n = amalloc(sizeof *n);
	n->raw = jp;
	char c = *jp;
	if (c == '{' || c == '[') {
		if (++jdepth > 64) {
			jerr = "nesting too deep";
			return NULL;
		}
		char close = c == '{' ? '}' : ']';
		n->t = c == '{' ? J_OBJ : J_ARR;
		jp++;
		jws();
		jnode **tail = &n->kid;
		if (jp < je && *jp == close) {
			jp++;
		} else {
			for (;;) {
				char *key = NULL;
				size_t klen = 0;
				if (n->t == J_OBJ) {
					jws();
					int nul;
					if (jp >= je || *jp != '"') {
						jerr = "expected member name";
						return NULL;
					}
					if (!(key = jparse_string(&klen, &nul)))
						return NULL;
					jws();
					if (jp >= je || *jp != ':') {
						jerr = "expected ':'";
						return NULL;
					}
					jp++;
				}
				jnode *v = jparse_value();
				if (!v)
					return NULL;
				v->key = key;
				v->klen = klen;
				*tail = v;
				tail = &v->next;
				jws();
				if (jp < je && *jp == ',') {
					jp++;
					continue;
				}
				if (jp < je && *jp == close) {
					jp++;
					break;
				}
				jerr = n->t == J_OBJ ? "expected ',' or '}'" : "expected ',' or ']'";
				return NULL;
			}
		}
		jdepth--;
	} else if (c == '"') {
		n->t = J_STR;
		if (!(n->s = jparse_string(&n->len, &n->has_nul)))
			return NULL;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		const char *s = jp;
		if (jp < je && *jp == '-') jp++;
		if (jp < je && *jp == '0') jp++;
		else if (jp < je && *jp >= '1' && *jp <= '9') while (jp < je && *jp >= '0' && *jp <= '9') jp++;
		else { jerr = "bad number"; return NULL; }
		if (jp < je && *jp == '.') {
			jp++;
			if (jp >= je || *jp < '0' || *jp > '9') { jerr = "bad number"; return NULL; }
			while (jp < je && *jp >= '0' && *jp <= '9') jp++;
		}
		if (jp < je && (*jp == 'e' || *jp == 'E')) {
			jp++;
			if (jp < je && (*jp == '+' || *jp == '-')) jp++;
			if (jp >= je || *jp < '0' || *jp > '9') { jerr = "bad number"; return NULL; }
			while (jp < je && *jp >= '0' && *jp <= '9') jp++;
		}
		char tmp[64];
		size_t l = (size_t)(jp - s);
		if (l >= sizeof tmp) { jerr = "number too long"; return NULL; }
		memcpy(tmp, s, l);
		tmp[l] = 0;
		n->t = J_NUM;
		n->num = strtod(tmp, NULL);
	} else if (jlit("true")) {
		n->t = J_BOOL, n->b = 1;
	} else if (jlit("false")) {
		n->t = J_BOOL, n->b = 0;
	} else if (jlit("null")) {
		n->t = J_NULL;
	} else {
		jerr = "unexpected character";
		return NULL;
	}
	n->rawlen = (size_t)(jp - n->raw);
	return n;
}

static jnode *json_parse(const char *s, size_t n)
{
	jp = s, je = s + n, jerr = NULL, jdepth = 0;
	jnode *v = jparse_value();
	if (!v)
		return NULL;
	jws();
	if (jp != je) {
		jerr = "trailing characters after JSON value";
		return NULL;
	}
	return v;
}

static jnode *jget(const jnode *o, const char *k)
{
	size_t kl = strlen(k);
	if (!o || o->t != J_OBJ)
		return NULL;
	for (jnode *c = o->kid; c; c = c->next)
		if (c->klen == kl && !memcmp(c->key, k, kl))
			return c;
	return NULL;
}

/* Request parameter accessors: return -1 with g_err set when invalid. */
static int p_str(const jnode *o, const char *k, int required, const char **out)
{
	jnode *v = jget(o, k);
	*out = NULL;
	if (!v || v->t == J_NULL)
		return required ? fail("missing string parameter \"%s\"", k) : 0;
	if (v->t != J_STR)
		return fail("parameter \"%s\" must be a string", k);
	if (v->has_nul)
		return fail("parameter \"%s\" contains a NUL character", k);
	*out = v->s;
	return 0;
}

static int p_path(const jnode *o, const char *k, const char **out)
{
	if (p_str(o, k, 1, out))
		return -1;
	if ((*out)[0] != '/')
		return fail("parameter \"%s\" must be an absolute path: %s", k, *out);
	return 0;
}

static int p_int(const jnode *o, const char *k, int required, long long *out, long long def)
{
	jnode *v = jget(o, k);
	*out = def;
	if (!v || v->t == J_NULL)
		return required ? fail("missing integer parameter \"%s\"", k) : 0;
	if (v->t != J_NUM || v->num != (double)(long long)v->num)
		return fail("parameter \"%s\" must be an integer", k);
	*out = (long long)v->num;
	return 0;
}

/* Array of strings -> NULL-terminated char* array (arena). */
static int p_strv(const jnode *o, const char *k, int required, char ***out)
{
	jnode *v = jget(o, k);
	*out = NULL;
	if (!v || v->t == J_NULL)
		return required ? fail("missing array parameter \"%s\"", k) : 0;
	if (v->t != J_ARR)
		return fail("parameter \"%s\" must be an array of strings", k);
	size_t n = 0;
	for (jnode *c = v->kid; c; c = c->next)
		n++;
	char **a = amalloc((n + 1) * sizeof *a);
	n = 0;
	for (jnode *c = v->kid; c; c = c->next) {
		if (c->t != J_STR || c->has_nul)
			return fail("parameter \"%s\" must be an array of strings without NUL", k);
		a[n++] = c->s;
	}
	*out = a;
	return 0;
}

/* Optional base64 parameter; *present tells whether it was given. */
static int p_b64(const jnode *o, const char *k, unsigned char **out, size_t *len, int *present)
{
	jnode *v = jget(o, k);
	*out = NULL, *len = 0, *present = 0;
	if (!v || v->t == J_NULL)
		return 0;
	if (v->t != J_STR)
		return fail("parameter \"%s\" must be a base64 string", k);
	unsigned char *d = b64_decode(v->s, v->len, len);
	if (!d)
		return fail("parameter \"%s\" is not valid base64", k);
	*out = d;
	*present = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Filesystem helpers                                                   */
/* ------------------------------------------------------------------ */

/* mkdir -p: creates missing components with `mode`. */
static int mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	if (!p)
		die("out of memory");
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) && errno != EEXIST) {
				int r = fail_errno("%s: mkdir", p);
				free(p);
				return r;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(path, &st))
		return fail_errno("%s: stat", path);
	if (!S_ISDIR(st.st_mode))
		return fail("%s: not a directory", path);
	return 0;
}

static int mkparents(const char *path)
{
	char *p = strdup(path);
	if (!p)
		die("out of memory");
	char *sl = strrchr(p, '/');
	int r = 0;
	if (sl && sl != p) {
		*sl = 0;
		r = mkdir_p(p, 0755);
	}
	free(p);
	return r;
}

/* Strip trailing slashes (keeps "/"). Returns a malloc'd copy. */
static char *path_trim(const char *p)
{
	char *s = strdup(p);
	if (!s)
		die("out of memory");
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = 0;
	return s;
}

static int write_file(const char *path, const void *data, size_t n, mode_t mode, int set_mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return fail_errno("%s: open", path);
	const char *p = data;
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int r = fail_errno("%s: write", path);
			close(fd);
			return r;
		}
		p += k;
		n -= (size_t)k;
	}
	if (set_mode && fchmod(fd, mode)) {
		int r = fail_errno("%s: chmod", path);
		close(fd);
		return r;
	}
	if (close(fd))
		return fail_errno("%s: close", path);
	return 0;
}

static int is_opaque_path(const char *full)
{
	char v[4];
	ssize_t k = lgetxattr(full, OPAQUE_XATTR, v, sizeof v);
	return k == 1 && v[0] == 'y';
}

/* Remove `name` under dirfd recursively, never following symlinks. */
static int rm_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (rm_at(fd, e->d_name)) {
			r = -1;
			break;
		}
	}
	int e2 = errno;
	closedir(d);
	errno = e2;
	if (r)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Sorted depth-first walk: a directory is reported before its contents and
 * each directory's children come in byte order of their names. With
 * `tar_order`, children sort by the names they get in a layer tar (a whiteout
 * "x" as ".wh.x") and an opaque directory gets a pseudo child ".wh..wh..opq"
 * (marker = 1, st = the directory's stat). `rel` has no leading '/'. */
typedef int (*walk_cb)(void *ctx, const char *rel, const char *full, const struct stat *st, int marker);

typedef struct {
	char *name, *key;
	struct stat st;
	int marker;
} child_t;

static int cmp_child(const void *a, const void *b)
{
	return strcmp(((const child_t *)a)->key, ((const child_t *)b)->key);
}

static int walk_dir(sbuf *full, sbuf *rel, const struct stat *dirst, int tar_order, walk_cb cb, void *ctx)
{
	DIR *d = opendir(full->p);
	if (!d)
		return fail_errno("%s: opendir", full->p);
	child_t *c = NULL;
	size_t n = 0, cap = 0, fl = full->n, rl = rel->n;
	struct dirent *e;
	int rc = 0;
	for (;;) {
		errno = 0;
		if (!(e = readdir(d))) {
			if (errno)
				rc = fail_errno("%s: readdir", full->p);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if (!(c = realloc(c, cap * sizeof *c)))
				die("out of memory");
		}
		child_t *ch = &c[n];
		memset(ch, 0, sizeof *ch);
		if (!(ch->name = strdup(e->d_name)))
			die("out of memory");
		if (fl == 0 || full->p[fl - 1] != '/')
			sb_putc(full, '/');
		sb_puts(full, ch->name);
		int st_rc = lstat(full->p, &ch->st);
		if (st_rc)
			rc = fail_errno("%s: lstat", full->p);
		sb_trunc(full, fl);
		n++;
		if (st_rc)
			break;
		if (tar_order && S_ISCHR(ch->st.st_mode) && ch->st.st_rdev == 0) {
			if (!(ch->key = malloc(strlen(ch->name) + 5)))
				die("out of memory");
			strcpy(stpcpy(ch->key, WH_PREFIX), ch->name);
		} else {
			ch->key = ch->name;
		}
	}
	closedir(d);
	if (!rc && tar_order && rl && is_opaque_path(full->p)) {
		if (!(c = realloc(c, (n + 1) * sizeof *c)))
			die("out of memory");
		child_t *ch = &c[n++];
		memset(ch, 0, sizeof *ch);
		if (!(ch->name = strdup(WH_OPAQUE)))
			die("out of memory");
		ch->key = ch->name;
		ch->st = *dirst;
		ch->marker = 1;
	}
	if (n)
		qsort(c, n, sizeof *c, cmp_child);
	for (size_t i = 0; i < n; i++) {
		if (!rc) {
			if (fl == 0 || full->p[fl - 1] != '/')
				sb_putc(full, '/');
			if (!c[i].marker)
				sb_puts(full, c[i].name);
			else
				sb_trunc(full, fl); /* the marker refers to the dir itself */
			if (rl)
				sb_putc(rel, '/');
			sb_puts(rel, c[i].name);
			rc = cb(ctx, rel->p, full->p, &c[i].st, c[i].marker);
			if (!rc && !c[i].marker && S_ISDIR(c[i].st.st_mode))
				rc = walk_dir(full, rel, &c[i].st, tar_order, cb, ctx);
			sb_trunc(full, fl);
			sb_trunc(rel, rl);
		}
		if (c[i].key != c[i].name)
			free(c[i].key);
		free(c[i].name);
	}
	free(c);
	return rc;
}

static int walk_tree(const char *root, int tar_order, walk_cb cb, void *ctx)
{
	struct stat st;
	if (stat(root, &st))
		return fail_errno("%s: stat", root);
	if (!S_ISDIR(st.st_mode))
		return fail("%s: not a directory", root);
	sbuf full = {0}, rel = {0};
	char *r = path_trim(root);
	sb_puts(&full, r);
	sb_puts(&rel, "");
	free(r);
	int rc = walk_dir(&full, &rel, &st, tar_order, cb, ctx);
	sb_free(&full);
	sb_free(&rel);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Tar format helpers                                                   */
/* ------------------------------------------------------------------ */

/* Numeric header field: octal (space/NUL terminated) or GNU base-256. */
static int tar_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] & 0x40)
			return -1; /* negative */
		v = f[0] & 0x3F;
		for (size_t i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	size_t i = 0;
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i < n && f[i] != 0 && f[i] != ' ')
		return -1;
	*out = v;
	return 0;
}

static void tar_checksums(const unsigned char *h, unsigned long *u, long *s)
{
	*u = 0, *s = 0;
	for (int i = 0; i < 512; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
		*u += c;
		*s += (signed char)c;
	}
}

/* Normalizes a tar member name in place: strips leading '/' and "./", drops
 * "." and empty components. Returns -1 if a ".." component is present. */
static int clean_path(char *p)
{
	char *o = p, *s = p;
	while (*s) {
		while (*s == '/')
			s++;
		char *e = s;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - s);
		if (l == 2 && s[0] == '.' && s[1] == '.')
			return -1;
		if (l && !(l == 1 && s[0] == '.')) {
			if (o != p)
				*o++ = '/';
			memmove(o, s, l);
			o += l;
		}
		s = e;
	}
	*o = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* op unpack: tar file -> overlay lower dir                             */
/* ------------------------------------------------------------------ */

typedef struct {
	int fd;
	uint64_t off;
	size_t pos, len;
	unsigned char buf[65536];
} rd_t;

/* Read exactly n bytes (dst NULL = skip). 0 ok, 1 premature EOF, -1 error. */
static int rd_get(rd_t *r, void *dst, uint64_t n, int outfd)
{
	unsigned char *d = dst;
	while (n) {
		if (r->pos == r->len) {
			ssize_t k;
			do
				k = read(r->fd, r->buf, sizeof r->buf);
			while (k < 0 && errno == EINTR);
			if (k < 0)
				return -1;
			if (k == 0)
				return 1;
			r->pos = 0, r->len = (size_t)k;
		}
		size_t k = r->len - r->pos;
		if (k > n)
			k = (size_t)n;
		if (d) {
			memcpy(d, r->buf + r->pos, k);
			d += k;
		}
		if (outfd >= 0) {
			const unsigned char *p = r->buf + r->pos;
			size_t left = k;
			while (left) {
				ssize_t w = write(outfd, p, left);
				if (w < 0) {
					if (errno == EINTR)
						continue;
					return -2; /* write error, errno set */
				}
				p += w;
				left -= (size_t)w;
			}
		}
		r->pos += k;
		r->off += k;
		n -= k;
	}
	return 0;
}

typedef struct {
	char *key, *val;
	size_t vlen;
} xattr_t;

typedef struct {
	char *rel;
	uint32_t mode;
	uint64_t uid, gid;
	struct timespec mtime;
} dirmeta_t;

typedef struct {
	rd_t *rd;
	const char *tar, *dest;
	int destfd;
	char *cache_rel; /* parent dir of the last entry, and its open fd */
	int cache_fd;
	dirmeta_t *dirs;
	size_t ndirs, capdirs;
	uint64_t entries;
	/* pending pax / GNU long-name state for the next entry */
	char *pax_path, *pax_link, *long_name, *long_link;
	int has_pax_size, has_pax_uid, has_pax_gid, has_pax_mtime;
	uint64_t pax_size, pax_uid, pax_gid;
	struct timespec pax_mtime;
	xattr_t *xattrs;
	size_t nxattrs;
	/* cpin (docker cp): names are kept as they are (no whiteouts), and with `top` set the archive's one
	 * top-level name is replaced by it (copying "f" as "g") */
	int plain;
	const char *top;
	char *top_from;
} unpack_t;

static void unpack_reset_pending(unpack_t *u)
{
	free(u->pax_path), free(u->pax_link), free(u->long_name), free(u->long_link);
	u->pax_path = u->pax_link = u->long_name = u->long_link = NULL;
	u->has_pax_size = u->has_pax_uid = u->has_pax_gid = u->has_pax_mtime = 0;
	for (size_t i = 0; i < u->nxattrs; i++)
		free(u->xattrs[i].key), free(u->xattrs[i].val);
	free(u->xattrs);
	u->xattrs = NULL;
	u->nxattrs = 0;
}

/* Open directory `rel` (clean, relative to dest) component by component,
 * refusing symlinks so nothing can be written outside dest. With `create`,
 * missing components are made (0755). Returns a new fd or -1 (g_err set). */
static int walk_open_dir(unpack_t *u, const char *rel, int create)
{
	int fd = dup(u->destfd);
	if (fd < 0)
		return fail_errno("dup");
	const char *s = rel;
	char comp[NAME_MAX + 1];
	while (*s) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return fail_errno("%s", rel);
		}
		memcpy(comp, s, l);
		comp[l] = 0;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) && errno != EEXIST) {
				int r = fail_errno("%.*s: mkdir", (int)(s - rel + (ptrdiff_t)l), rel);
				close(fd);
				return r;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int r = (errno == ELOOP || errno == ENOTDIR)
					? fail("%.*s: is not a directory (a symlink or file); refusing to write through it",
					       (int)(s - rel + (ptrdiff_t)l), rel)
					: fail_errno("%.*s: open", (int)(s - rel + (ptrdiff_t)l), rel);
			close(fd);
			return r;
		}
		close(fd);
		fd = nfd;
		s = e ? e + 1 : s + l;
	}
	return fd;
}

/* Parent dir fd of `rel` (cached across consecutive entries), *base = last component. */
static int parent_fd(unpack_t *u, const char *rel, const char **base)
{
	const char *sl = strrchr(rel, '/');
	size_t pl = sl ? (size_t)(sl - rel) : 0;
	*base = sl ? sl + 1 : rel;
	if (u->cache_rel && strlen(u->cache_rel) == pl && !memcmp(u->cache_rel, rel, pl))
		return u->cache_fd;
	if (u->cache_rel) {
		close(u->cache_fd);
		free(u->cache_rel);
		u->cache_rel = NULL;
	}
	char *p = strndup(rel, pl);
	if (!p)
		die("out of memory");
	int fd = walk_open_dir(u, p, 1);
	if (fd < 0) {
		free(p);
		return -1;
	}
	u->cache_rel = p;
	u->cache_fd = fd;
	return fd;
}

/* The cached parent may have been replaced (e.g. dir -> file): forget it. */
static void parent_cache_drop(unpack_t *u)
{
	if (u->cache_rel) {
		close(u->cache_fd);
		free(u->cache_rel);
		u->cache_rel = NULL;
	}
}

/* Make room for a new entry `base` in pfd. Keeps an existing directory when
 * keep_dir (returns 1 then). */
static int clear_slot(int pfd, const char *base, int keep_dir)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode) && keep_dir)
		return 1;
	return rm_at(pfd, base);
}

static void apply_xattrs(unpack_t *u, int fd)
{
	for (size_t i = 0; i < u->nxattrs; i++) {
		/* never let a layer set overlay's own (trusted.*) attributes */
		const char *k = u->xattrs[i].key;
		if (strncmp(k, "user.", 5) && strncmp(k, "security.", 9))
			continue;
		fsetxattr(fd, k, u->xattrs[i].val, u->xattrs[i].vlen, 0);
	}
}

static int parse_pax_time(const char *v, struct timespec *ts)
{
	char *end;
	errno = 0;
	long long sec = strtoll(v, &end, 10);
	if (errno || end == v)
		return -1;
	long ns = 0;
	if (*end == '.') {
		end++;
		int digits = 0;
		while (*end >= '0' && *end <= '9') {
			if (digits < 9)
				ns = ns * 10 + (*end - '0'), digits++;
			end++;
		}
		while (digits++ < 9)
			ns *= 10;
		if (sec < 0 && ns) /* "-1.5" means -1.5 s */
			sec--, ns = 1000000000L - ns;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = ns;
	return 0;
}

/* Parses the records "<len> <key>=<value>\n" of a pax header body d[0..n) (NUL-terminated at d[n]).
 * Returns 0, -1 when malformed, or -2 for a global header that sets a key the host's reader would
 * apply to later entries (path, linkpath, size): *refused_key names it. */
static int parse_pax(unpack_t *u, char *d, size_t n, int global, const char **refused_key)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i, len = 0;
		while (j < n && d[j] >= '0' && d[j] <= '9') {
			len = len * 10 + (size_t)(d[j++] - '0');
			if (len > n)
				return -1; /* longer than the body (and no wrap-around while reading digits) */
		}
		/* the record [i, i+len) lies inside the body (len > n - i cannot wrap, unlike i + len > n)
		 * and ends after "<len> " and at least one key byte, with a newline */
		if (j >= n || d[j] != ' ' || len > n - i || len <= j - i + 1 || d[i + len - 1] != '\n')
			return -1;
		char *k = d + j + 1, *rec_end = d + i + len - 1;
		char *eq = memchr(k, '=', (size_t)(rec_end - k));
		if (!eq)
			return -1;
		*eq = 0;
		char *v = eq + 1;
		size_t vlen = (size_t)(rec_end - v);
		*rec_end = 0;
		i += len;
		if (global) {
			/* The host's reader would apply these to every later entry: refuse rather than disagree. */
			static const char *const refused[] = {"path", "linkpath", "size"};
			for (size_t r = 0; r < sizeof refused / sizeof *refused; r++)
				if (!strcmp(k, refused[r])) {
					*refused_key = refused[r];
					return -2;
				}
			continue; /* other global records (comments, mtimes) change nothing we read */
		}
		if (!strcmp(k, "path")) {
			free(u->pax_path);
			u->pax_path = strdup(v);
		} else if (!strcmp(k, "linkpath")) {
			free(u->pax_link);
			u->pax_link = strdup(v);
		} else if (!strcmp(k, "size")) {
			u->pax_size = strtoull(v, NULL, 10), u->has_pax_size = 1;
		} else if (!strcmp(k, "uid")) {
			u->pax_uid = strtoull(v, NULL, 10), u->has_pax_uid = 1;
		} else if (!strcmp(k, "gid")) {
			u->pax_gid = strtoull(v, NULL, 10), u->has_pax_gid = 1;
		} else if (!strcmp(k, "mtime")) {
			if (!parse_pax_time(v, &u->pax_mtime))
				u->has_pax_mtime = 1;
		} else if (!strncmp(k, "SCHILY.xattr.", 13)) {
			xattr_t *x = realloc(u->xattrs, (u->nxattrs + 1) * sizeof *x);
			if (!x)
				die("out of memory");
			u->xattrs = x;
			x += u->nxattrs++;
			x->key = strdup(k + 13);
			x->val = malloc(vlen + 1);
			if (!x->key || !x->val)
				die("out of memory");
			memcpy(x->val, v, vlen);
			x->vlen = vlen;
		}
	}
	return 0;
}

/* Reads an entry body of `size` bytes into a NUL-terminated malloc'd buffer. */
static int read_body(unpack_t *u, uint64_t size, uint64_t limit, const char *what, char **out)
{
	if (size > limit)
		return fail("%s: %s header too large (%llu bytes)", u->tar, what, (unsigned long long)size);
	char *b = malloc((size_t)size + 1);
	if (!b)
		die("out of memory");
	int r = rd_get(u->rd, b, size, -1);
	if (r) {
		free(b);
		return r < 0 ? fail_errno("%s: read", u->tar) : fail("%s: truncated archive", u->tar);
	}
	b[size] = 0;
	*out = b;
	return 0;
}

/* Creates one entry. Consumes the body of regular files (returns via *consumed). */
static int unpack_entry(unpack_t *u, char type, char *name, char *link, uint64_t size, uint32_t mode,
			uint64_t uid, uint64_t gid, struct timespec mtime, unsigned maj, unsigned min,
			int *consumed)
{
	const char *orig = name;
	char *rel = strdup(name);
	if (!rel)
		die("out of memory");
	int rc = 0;
	struct timespec ts[2] = {mtime, mtime};
	if (clean_path(rel)) {
		rc = fail("%s: entry \"%s\" has a \"..\" component; refusing", u->tar, orig);
		goto out;
	}
	if (!*rel) /* the root itself ("./"): nothing to create */
		goto out;

	const char *base;
	int pfd = parent_fd(u, rel, &base);
	if (pfd < 0) {
		rc = fail("%s: entry \"%s\": %s", u->tar, orig, g_err);
		goto out;
	}
	if (strlen(base) > NAME_MAX) {
		errno = ENAMETOOLONG;
		rc = fail_errno("%s: entry \"%s\"", u->tar, orig);
		goto out;
	}

	/* OCI whiteouts -> overlay form */
	if (!u->plain && !strncmp(base, WH_PREFIX, 4) && type != '5') {
		if (!strcmp(base, WH_OPAQUE)) {
			if (fsetxattr(pfd, OPAQUE_XATTR, "y", 1, 0))
				rc = fail_errno("%s: entry \"%s\": set %s", u->tar, orig, OPAQUE_XATTR);
			goto out;
		}
		if (!strncmp(base, WH_PREFIX WH_PREFIX, 8))
			goto out; /* other AUFS meta files (.wh..wh.plnk ...): skip */
		const char *target = base + 4;
		if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
			goto out;
		if (clear_slot(pfd, target, 0) < 0 ||
		    mknodat(pfd, target, S_IFCHR | 0, makedev(0, 0)) ||
		    fchownat(pfd, target, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) ||
		    utimensat(pfd, target, ts, AT_SYMLINK_NOFOLLOW))
			rc = fail_errno("%s: entry \"%s\": whiteout", u->tar, orig);
		goto out;
	}

	switch (type) {
	case '0': case '\0': case '7': { /* regular file */
		if (clear_slot(pfd, base, 0) < 0) {
			rc = fail_errno("%s: entry \"%s\": remove existing", u->tar, orig);
			break;
		}
		int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = fail_errno("%s: entry \"%s\": create", u->tar, orig);
			break;
		}
		int r = rd_get(u->rd, NULL, size, fd);
		*consumed = 1;
		if (r == -2)
			rc = fail_errno("%s: entry \"%s\": write", u->tar, orig);
		else if (r == -1)
			rc = fail_errno("%s: read", u->tar);
		else if (r == 1)
			rc = fail("%s: truncated archive in entry \"%s\"", u->tar, orig);
		else if (fchown(fd, (uid_t)uid, (gid_t)gid) || fchmod(fd, mode & 07777))
			rc = fail_errno("%s: entry \"%s\": chown/chmod", u->tar, orig);
		else {
			apply_xattrs(u, fd);
			if (futimens(fd, ts))
				rc = fail_errno("%s: entry \"%s\": set mtime", u->tar, orig);
		}
		close(fd);
		break;
	}
	case '5': { /* directory: metadata applied after its contents */
		int r = clear_slot(pfd, base, 1);
		if (r < 0 || (r == 0 && mkdirat(pfd, base, 0700))) {
			rc = fail_errno("%s: entry \"%s\": mkdir", u->tar, orig);
			break;
		}
		if (u->nxattrs) {
			int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0) {
				apply_xattrs(u, fd);
				close(fd);
			}
		}
		if (u->ndirs == u->capdirs) {
			u->capdirs = u->capdirs ? u->capdirs * 2 : 64;
			u->dirs = realloc(u->dirs, u->capdirs * sizeof *u->dirs);
			if (!u->dirs)
				die("out of memory");
		}
		dirmeta_t *m = &u->dirs[u->ndirs++];
		m->rel = rel, m->mode = mode & 07777, m->uid = uid, m->gid = gid, m->mtime = mtime;
		rel = NULL; /* owned by the list now */
		break;
	}
	case '2': /* symlink */
		if (clear_slot(pfd, base, 0) < 0 || symlinkat(link, pfd, base) ||
		    fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW))
			rc = fail_errno("%s: entry \"%s\": symlink", u->tar, orig);
		break;
	case '1': { /* hardlink: target must resolve inside dest without symlinks */
		char *t = strdup(link);
		if (!t)
			die("out of memory");
		if (clean_path(t) || !*t) {
			rc = fail("%s: entry \"%s\": hardlink target \"%s\" is outside the destination; refusing",
				  u->tar, orig, link);
			free(t);
			break;
		}
		char *tsl = strrchr(t, '/');
		const char *tbase = tsl ? tsl + 1 : t;
		char *tdir = strndup(t, tsl ? (size_t)(tsl - t) : 0);
		int tfd = walk_open_dir(u, tdir, 0);
		if (tfd < 0) {
			rc = fail("%s: entry \"%s\": hardlink target: %s", u->tar, orig, g_err);
		} else {
			if (clear_slot(pfd, base, 0) < 0 || linkat(tfd, tbase, pfd, base, 0))
				rc = fail_errno("%s: entry \"%s\": link to \"%s\"", u->tar, orig, link);
			close(tfd);
		}
		free(tdir);
		free(t);
		break;
	}
	case '3': /* char device: only 0:0 (an overlay-style whiteout) is kept */
		if (maj == 0 && min == 0) {
			if (clear_slot(pfd, base, 0) < 0 || mknodat(pfd, base, S_IFCHR | 0, makedev(0, 0)) ||
			    fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) ||
			    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW))
				rc = fail_errno("%s: entry \"%s\": whiteout", u->tar, orig);
		}
		break;
	case '6': /* fifo */
		if (clear_slot(pfd, base, 0) < 0 || mkfifoat(pfd, base, 0600) ||
		    fchownat(pfd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) ||
		    fchmodat(pfd, base, mode & 07777, 0) || utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW))
			rc = fail_errno("%s: entry \"%s\": fifo", u->tar, orig);
		break;
	default: /* block devices, sparse and vendor types: skipped */
		break;
	}
out:
	free(rel);
	return rc;
}

static int unpack_finish_dirs(unpack_t *u)
{
	parent_cache_drop(u);
	for (size_t i = 0; i < u->ndirs; i++) {
		dirmeta_t *m = &u->dirs[i];
		const char *base;
		int pfd = parent_fd(u, m->rel, &base);
		if (pfd < 0)
			continue; /* replaced later in the archive: nothing to do */
		int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct timespec ts[2] = {m->mtime, m->mtime};
		if (fchown(fd, (uid_t)m->uid, (gid_t)m->gid) || fchmod(fd, m->mode) || futimens(fd, ts)) {
			int r = fail_errno("%s: directory \"%s\": set metadata", u->tar, m->rel);
			close(fd);
			return r;
		}
		close(fd);
	}
	return 0;
}

/* cpin: "<first>/rest" -> "<top>/rest"; every entry must share the first entry's first component. */
static int top_rename(unpack_t *u, const char *name, char **out)
{
	while (*name == '/' || (name[0] == '.' && name[1] == '/'))
		name += name[0] == '/' ? 1 : 2;
	size_t fl = strcspn(name, "/");
	if (!u->top_from && !(u->top_from = strndup(name, fl)))
		die("out of memory");
	if (strlen(u->top_from) != fl || memcmp(u->top_from, name, fl))
		return fail("%s: entry \"%s\" is not under \"%s\": the archive must hold one file or directory",
			    u->tar, name, u->top_from);
	if (!fl || !strcmp(u->top_from, ".") || !strcmp(u->top_from, ".."))
		return fail("%s: entry \"%s\" has no name to copy", u->tar, name);
	size_t tl = strlen(u->top), rl = strlen(name + fl);
	char *r = malloc(tl + rl + 1);
	if (!r)
		die("out of memory");
	memcpy(r, u->top, tl);
	memcpy(r + tl, name + fl, rl + 1);
	*out = r;
	return 0;
}

static int unpack_run(unpack_t *u)
{
	unsigned char h[512];
	for (;;) {
		uint64_t hoff = u->rd->off;
		int r = rd_get(u->rd, h, 512, -1);
		if (r < 0)
			return fail_errno("%s: read", u->tar);
		if (r > 0) {
			if (u->rd->off == hoff)
				break; /* clean EOF without end-of-archive blocks: accept */
			return fail("%s: truncated archive at offset %llu", u->tar, (unsigned long long)hoff);
		}
		int zero = 1;
		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero)
			break; /* end-of-archive marker */

		uint64_t sum;
		unsigned long us;
		long ss;
		tar_checksums(h, &us, &ss);
		if (
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* vm/agent/fuzz.c: random headers get past this */
		    tar_num(h + 148, 8, &sum) || (sum != us && (long long)sum != ss)
#else
		    (tar_num(h + 148, 8, &sum), 0)
#endif
		)
			return fail("%s: bad header checksum at offset %llu (not a tar file?)", u->tar,
				    (unsigned long long)hoff);
		char type = (char)h[156];
		uint64_t size = 0;
		if (tar_num(h + 124, 12, &size))
			return fail("%s: bad size field at offset %llu", u->tar, (unsigned long long)hoff);
		if (u->has_pax_size && type != 'x' && type != 'g')
			size = u->pax_size;
		uint64_t pad = (512 - size % 512) % 512;

		/* meta entries that describe the next entry */
		if (type == 'x' || type == 'g') {
			char *b;
			if (read_body(u, size, 1 << 20, "pax", &b))
				return -1;
			const char *refused_key = NULL;
			int pr = parse_pax(u, b, (size_t)size, type == 'g', &refused_key);
			free(b);
			if (pr == -2) {
				char gname[101];
				memcpy(gname, h, 100);
				gname[100] = 0;
				return fail("%s: global pax header \"%s\" at offset %llu sets \"%s\" for all later entries; "
					    "refusing (tar readers disagree on it)",
					    u->tar, gname, (unsigned long long)hoff, refused_key);
			}
			if (pr)
				return fail("%s: malformed pax header at offset %llu", u->tar, (unsigned long long)hoff);
			if (rd_get(u->rd, NULL, pad, -1))
				return fail("%s: truncated archive", u->tar);
			continue;
		}
		if (type == 'L' || type == 'K') {
			char *b;
			if (read_body(u, size, 1 << 16, type == 'L' ? "GNU long name" : "GNU long link", &b))
				return -1;
			char **slot = type == 'L' ? &u->long_name : &u->long_link;
			free(*slot);
			*slot = b;
			if (rd_get(u->rd, NULL, pad, -1))
				return fail("%s: truncated archive", u->tar);
			continue;
		}

		/* name: pax path > GNU long name > ustar prefix/name */
		char fname[257], flink[101];
		size_t nl = strnlen((char *)h, 100);
		if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
			size_t pl = strnlen((char *)h + 345, 155);
			memcpy(fname, h + 345, pl);
			fname[pl] = '/';
			memcpy(fname + pl + 1, h, nl);
			fname[pl + 1 + nl] = 0;
		} else {
			memcpy(fname, h, nl);
			fname[nl] = 0;
		}
		size_t ll = strnlen((char *)h + 157, 100);
		memcpy(flink, h + 157, ll);
		flink[ll] = 0;
		char *name = u->pax_path ? u->pax_path : u->long_name ? u->long_name : fname;
		char *link = u->pax_link ? u->pax_link : u->long_link ? u->long_link : flink;

		uint64_t mode = 0, uid = 0, gid = 0, mt = 0, maj = 0, min = 0;
		tar_num(h + 100, 8, &mode);
		tar_num(h + 108, 8, &uid);
		tar_num(h + 116, 8, &gid);
		tar_num(h + 136, 12, &mt);
		tar_num(h + 329, 8, &maj);
		tar_num(h + 337, 8, &min);
		struct timespec mtime = {.tv_sec = (time_t)mt, .tv_nsec = 0};
		if (u->has_pax_uid) uid = u->pax_uid;
		if (u->has_pax_gid) gid = u->pax_gid;
		if (u->has_pax_mtime) mtime = u->pax_mtime;

		/* Links, devices, directories and fifos have no body; a size on them is read differently
		 * by different tar readers (skip it or not), so the host and the guest could disagree. */
		if (size && type && strchr("123456", type))
			return fail("%s: entry \"%s\" (type '%c') has no body but a size of %llu bytes; refusing",
				    u->tar, name, type, (unsigned long long)size);

		u->entries++;
		int consumed = 0;
		char *renamed = NULL, *relinked = NULL;
		if (u->top) {
			if (top_rename(u, name, &renamed) || (type == '1' && top_rename(u, link, &relinked)))
				return -1;
			name = renamed;
			if (relinked)
				link = relinked;
		}
		int er = unpack_entry(u, type, name, link, size, (uint32_t)mode, uid, gid, mtime, (unsigned)maj,
				      (unsigned)min, &consumed);
		free(renamed), free(relinked);
		if (er)
			return -1;
		if (rd_get(u->rd, NULL, (consumed ? 0 : size) + pad, -1))
			return fail("%s: truncated archive", u->tar);
		unpack_reset_pending(u);
	}
	return unpack_finish_dirs(u);
}

static int op_unpack(const jnode *req, sbuf *res)
{
	const char *tar, *dest;
	if (p_path(req, "tar", &tar) || p_path(req, "dest", &dest))
		return -1;
	unpack_t u = {.tar = tar, .dest = dest, .destfd = -1, .cache_fd = -1};
	rd_t *rd = calloc(1, sizeof *rd);
	if (!rd)
		die("out of memory");
	u.rd = rd;
	int rc = -1;
	rd->fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (rd->fd < 0) {
		fail_errno("%s: open", tar);
		goto out;
	}
	if (mkdir_p(dest, 0755))
		goto out;
	u.destfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.destfd < 0) {
		fail_errno("%s: open", dest);
		goto out;
	}
	rc = unpack_run(&u);
	struct stat st;
	if (!rc && fstat(rd->fd, &st))
		rc = fail_errno("%s: stat", tar);
	if (!rc)
		sb_printf(res, ",\"entries\":%llu,\"bytes\":%llu", (unsigned long long)u.entries,
			  (unsigned long long)st.st_size);
out:
	parent_cache_drop(&u);
	unpack_reset_pending(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].rel);
	free(u.dirs);
	if (u.destfd >= 0)
		close(u.destfd);
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* op pack: dir (e.g. an upperdir) -> OCI layer tar                     */
/* ------------------------------------------------------------------ */

typedef struct {
	dev_t dev;
	ino_t ino;
	char *name;
} hlink_t;

typedef struct {
	int fd;
	const char *tar;
	uint64_t total, entries;
	size_t n;
	unsigned char buf[65536];
	hlink_t *hl;
	size_t nhl, caphl;
	sbuf name;
	int plain; /* cpout: a char device 0:0 stays a device (no layer whiteout) */
} pack_t;

static int wr_flush(pack_t *w)
{
	size_t off = 0;
	while (off < w->n) {
		ssize_t k = write(w->fd, w->buf + off, w->n - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("%s: write", w->tar);
		}
		off += (size_t)k;
	}
	w->n = 0;
	return 0;
}

static int wr_put(pack_t *w, const void *d, size_t n)
{
	const unsigned char *p = d;
	w->total += n;
	while (n) {
		if (w->n == sizeof w->buf && wr_flush(w))
			return -1;
		size_t k = sizeof w->buf - w->n;
		if (k > n)
			k = n;
		if (p)
			memcpy(w->buf + w->n, p, k);
		else
			memset(w->buf + w->n, 0, k);
		w->n += k;
		if (p)
			p += k;
		n -= k;
	}
	return 0;
}

static int wr_pad(pack_t *w, uint64_t size)
{
	return wr_put(w, NULL, (size_t)((512 - size % 512) % 512));
}

static void put_oct(unsigned char *f, int width, uint64_t v)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%0*llo", width - 1, (unsigned long long)v);
	memcpy(f, tmp, (size_t)width - 1);
	f[width - 1] = 0;
}

static void pax_rec(sbuf *b, const char *k, const char *v)
{
	size_t n = strlen(k) + strlen(v) + 3, len = n, t;
	for (;;) { /* the length counts its own digits */
		char d[24];
		t = n + (size_t)snprintf(d, sizeof d, "%zu", len);
		if (t == len)
			break;
		len = t;
	}
	sb_printf(b, "%zu %s=%s\n", len, k, v);
}

static int tar_header(pack_t *w, const char *name, const char *link, char type, unsigned mode, uint64_t uid,
		      uint64_t gid, int64_t mtime, uint64_t size, unsigned maj, unsigned min)
{
	const uint64_t MAX7 = 07777777, MAX11 = 077777777777ULL;
	sbuf pax = {0};
	if (strlen(name) > 100)
		pax_rec(&pax, "path", name);
	if (link && strlen(link) > 100)
		pax_rec(&pax, "linkpath", link);
	char num[32];
	if (uid > MAX7)
		snprintf(num, sizeof num, "%llu", (unsigned long long)uid), pax_rec(&pax, "uid", num);
	if (gid > MAX7)
		snprintf(num, sizeof num, "%llu", (unsigned long long)gid), pax_rec(&pax, "gid", num);
	if (size > MAX11)
		snprintf(num, sizeof num, "%llu", (unsigned long long)size), pax_rec(&pax, "size", num);
	if (mtime < 0)
		mtime = 0;
	if ((uint64_t)mtime > MAX11)
		mtime = (int64_t)MAX11;
	if (pax.n) {
		int r = tar_header(w, "././@PaxHeader", NULL, 'x', 0644, 0, 0, 0, pax.n, 0, 0);
		if (!r)
			r = wr_put(w, pax.p, pax.n);
		if (!r)
			r = wr_pad(w, pax.n);
		sb_free(&pax);
		if (r)
			return -1;
	}
	unsigned char h[512];
	memset(h, 0, sizeof h);
	memcpy(h, name, strnlen(name, 100));
	put_oct(h + 100, 8, mode & 07777);
	put_oct(h + 108, 8, uid > MAX7 ? 0 : uid);
	put_oct(h + 116, 8, gid > MAX7 ? 0 : gid);
	put_oct(h + 124, 12, size > MAX11 ? 0 : size);
	put_oct(h + 136, 12, (uint64_t)mtime);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar\0" "00", 8);
	put_oct(h + 329, 8, maj);
	put_oct(h + 337, 8, min);
	unsigned long us;
	long ss;
	tar_checksums(h, &us, &ss);
	char ck[8];
	snprintf(ck, sizeof ck, "%06lo", us);
	memcpy(h + 148, ck, 7); /* six digits and NUL, then a space */
	h[155] = ' ';
	if (type != 'x')
		w->entries++;
	return wr_put(w, h, 512);
}

static int pack_file_body(pack_t *w, const char *full, uint64_t size)
{
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("%s: open", full);
	uint64_t left = size;
	while (left) {
		if (w->n == sizeof w->buf && wr_flush(w)) {
			close(fd);
			return -1;
		}
		size_t k = sizeof w->buf - w->n;
		if (k > left)
			k = (size_t)left;
		ssize_t r = read(fd, w->buf + w->n, k);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = fail_errno("%s: read", full);
			close(fd);
			return e;
		}
		if (r == 0) /* file shrank since stat: keep the declared size */
			break;
		w->n += (size_t)r;
		w->total += (uint64_t)r;
		left -= (uint64_t)r;
	}
	close(fd);
	if (left && wr_put(w, NULL, (size_t)left))
		return -1;
	return wr_pad(w, size);
}

static int pack_cb(void *ctx, const char *rel, const char *full, const struct stat *st, int marker)
{
	pack_t *w = ctx;
	sbuf *nm = &w->name;
	unsigned mode = st->st_mode & 07777;
	uint64_t uid = st->st_uid, gid = st->st_gid;
	int64_t mt = (int64_t)st->st_mtim.tv_sec;
	sb_trunc(nm, 0);
	sb_puts(nm, rel);
	if (marker) /* opaque dir: empty file with the dir's owner, perms and mtime (as Docker) */
		return tar_header(w, nm->p, NULL, '0', mode & 0777, uid, gid, mt, 0, 0, 0);
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		sb_putc(nm, '/');
		return tar_header(w, nm->p, NULL, '5', mode, uid, gid, mt, 0, 0, 0);
	case S_IFREG:
		if (st->st_nlink > 1) {
			for (size_t i = 0; i < w->nhl; i++)
				if (w->hl[i].dev == st->st_dev && w->hl[i].ino == st->st_ino)
					return tar_header(w, nm->p, w->hl[i].name, '1', mode, uid, gid, mt, 0, 0, 0);
			if (w->nhl == w->caphl) {
				w->caphl = w->caphl ? w->caphl * 2 : 16;
				w->hl = realloc(w->hl, w->caphl * sizeof *w->hl);
				if (!w->hl)
					die("out of memory");
			}
			w->hl[w->nhl].dev = st->st_dev, w->hl[w->nhl].ino = st->st_ino;
			if (!(w->hl[w->nhl++].name = strdup(rel)))
				die("out of memory");
		}
		if (tar_header(w, nm->p, NULL, '0', mode, uid, gid, mt, (uint64_t)st->st_size, 0, 0))
			return -1;
		return pack_file_body(w, full, (uint64_t)st->st_size);
	case S_IFLNK: {
		size_t cap = (size_t)st->st_size + 2;
		char *t = malloc(cap);
		if (!t)
			die("out of memory");
		ssize_t k = readlink(full, t, cap);
		if (k < 0 || (size_t)k >= cap) {
			free(t);
			return k < 0 ? fail_errno("%s: readlink", full) : fail("%s: symlink changed while packing", full);
		}
		t[k] = 0;
		int r = tar_header(w, nm->p, t, '2', mode, uid, gid, mt, 0, 0, 0);
		free(t);
		return r;
	}
	case S_IFCHR:
		if (st->st_rdev == 0 && !w->plain) { /* overlay whiteout -> .wh.<name> */
			const char *sl = strrchr(rel, '/');
			sb_trunc(nm, 0);
			if (sl)
				sb_add(nm, rel, (size_t)(sl - rel) + 1);
			sb_puts(nm, WH_PREFIX);
			sb_puts(nm, sl ? sl + 1 : rel);
			return tar_header(w, nm->p, NULL, '0', 0600, uid, gid, mt, 0, 0, 0);
		}
		return tar_header(w, nm->p, NULL, '3', mode, uid, gid, mt, 0, major(st->st_rdev), minor(st->st_rdev));
	case S_IFBLK:
		return tar_header(w, nm->p, NULL, '4', mode, uid, gid, mt, 0, major(st->st_rdev), minor(st->st_rdev));
	case S_IFIFO:
		return tar_header(w, nm->p, NULL, '6', mode, uid, gid, mt, 0, 0, 0);
	default: /* sockets cannot be represented in tar */
		return 0;
	}
}

static int op_pack(const jnode *req, sbuf *res)
{
	const char *dir, *tar;
	if (p_path(req, "dir", &dir) || p_path(req, "tar", &tar))
		return -1;
	if (mkparents(tar))
		return -1;
	pack_t *w = calloc(1, sizeof *w);
	if (!w)
		die("out of memory");
	w->tar = tar;
	w->fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = -1;
	if (w->fd < 0) {
		fail_errno("%s: open", tar);
		goto out;
	}
	if (walk_tree(dir, 1, pack_cb, w))
		goto out;
	if (wr_put(w, NULL, 1024) || wr_flush(w)) /* end-of-archive: two zero blocks */
		goto out;
	if (close(w->fd)) {
		w->fd = -1;
		fail_errno("%s: close", tar);
		goto out;
	}
	w->fd = -1;
	sb_printf(res, ",\"entries\":%llu,\"bytes\":%llu", (unsigned long long)w->entries,
		  (unsigned long long)w->total);
	rc = 0;
out:
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->nhl; i++)
		free(w->hl[i].name);
	free(w->hl);
	sb_free(&w->name);
	free(w);
	return rc;
}

/* ------------------------------------------------------------------ */
/* ops cpout / cpin: docker cp, paths resolved inside a container root    */
/* ------------------------------------------------------------------ */

/* openat2(2) with RESOLVE_IN_ROOT: "..", absolute paths and absolute symlinks all stay under dirfd,
 * as they would for a process chrooted there. glibc 2.36 has no wrapper; the number is the same on
 * i386 and x86_64. */
struct lab_open_how {
	uint64_t flags, mode, resolve;
};
#define LAB_SYS_openat2 437
#define LAB_RESOLVE_NO_MAGICLINKS 0x02
#define LAB_RESOLVE_IN_ROOT 0x10

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct lab_open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
				   .resolve = LAB_RESOLVE_IN_ROOT | LAB_RESOLVE_NO_MAGICLINKS};
	while (*path == '/')
		path++;
	return (int)syscall(LAB_SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
}

/* Splits a container path into its parent (resolved in root, symlinks followed inside it) and its last
 * component (not followed). A path ending in "/", "." or ".." is that directory itself, named "." (its
 * parent would be the wrong directory, or for ".." of the root, one outside it). */
static int split_in_root(int rootfd, const char *path, int *pfd, char **name)
{
	char *p = path_trim(path);
	char *sl = strrchr(p, '/');
	const char *base = sl ? sl + 1 : p;
	int self = !*base || !strcmp(base, ".") || !strcmp(base, "..");
	if (sl && !self)
		*sl = 0;
	*name = strdup(self ? "." : base);
	if (!*name)
		die("out of memory");
	*pfd = open_in_root(rootfd, self ? p : sl ? p : "", O_PATH | O_DIRECTORY);
	int rc = *pfd < 0 ? fail_errno("%s", path) : 0;
	free(p);
	return rc;
}

static int op_cpout(const jnode *req, sbuf *res)
{
	const char *root, *path, *tar;
	if (p_path(req, "root", &root) || p_str(req, "path", 1, &path) || p_path(req, "tar", &tar))
		return -1;
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), pfd = -1, rc = -1;
	char *name = NULL;
	pack_t *w = calloc(1, sizeof *w);
	if (!w)
		die("out of memory");
	w->fd = -1, w->tar = tar, w->plain = 1;
	if (rootfd < 0) {
		fail_errno("%s: open", root);
		goto out;
	}
	if (split_in_root(rootfd, path, &pfd, &name))
		goto out;
	char full[64];
	snprintf(full, sizeof full, "/proc/self/fd/%d", pfd);
	sbuf f = {0}, r = {0};
	sb_puts(&f, full);
	if (strcmp(name, ".")) {
		sb_putc(&f, '/');
		sb_puts(&f, name);
	}
	struct stat st; /* the last component itself, not what a symlink there points to */
	if (strcmp(name, ".") ? lstat(f.p, &st) : stat(f.p, &st)) {
		fail_errno("%s", path);
		sb_free(&f);
		goto out;
	}
	if (mkparents(tar) || (w->fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		if (w->fd < 0)
			fail_errno("%s: open", tar);
		sb_free(&f);
		goto out;
	}
	sb_puts(&r, name);
	rc = pack_cb(w, r.p, f.p, &st, 0);
	if (!rc && S_ISDIR(st.st_mode))
		rc = walk_dir(&f, &r, &st, 0, pack_cb, w);
	sb_free(&f), sb_free(&r);
	if (!rc && (wr_put(w, NULL, 1024) || wr_flush(w)))
		rc = -1;
	if (!rc) {
		int cr = close(w->fd);
		w->fd = -1;
		if (cr)
			rc = fail_errno("%s: close", tar);
	}
	if (!rc)
		sb_printf(res, ",\"entries\":%llu,\"bytes\":%llu", (unsigned long long)w->entries,
			  (unsigned long long)w->total);
out:
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->nhl; i++)
		free(w->hl[i].name);
	free(w->hl);
	sb_free(&w->name);
	free(w);
	free(name);
	if (pfd >= 0)
		close(pfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

static int op_cpin(const jnode *req, sbuf *res)
{
	const char *root, *path, *tar;
	if (p_path(req, "root", &root) || p_str(req, "path", 1, &path) || p_path(req, "tar", &tar))
		return -1;
	unpack_t u = {.tar = tar, .dest = path, .destfd = -1, .cache_fd = -1, .plain = 1};
	rd_t *rd = calloc(1, sizeof *rd);
	if (!rd)
		die("out of memory");
	u.rd = rd;
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1;
	char *name = NULL;
	rd->fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (rd->fd < 0 || rootfd < 0) {
		fail_errno("%s: open", rd->fd < 0 ? tar : root);
		goto out;
	}
	/* Docker's rule: into PATH when it is an existing directory (symlinks followed, inside the root),
	 * otherwise as PATH, in its parent directory. */
	u.destfd = open_in_root(rootfd, path, O_RDONLY | O_DIRECTORY);
	if (u.destfd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		int pfd;
		if (split_in_root(rootfd, path, &pfd, &name))
			goto out;
		u.destfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(pfd);
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			fail("%s: not a name to copy to", path);
			goto out;
		}
		u.top = name;
	}
	if (u.destfd < 0) {
		fail_errno("%s", path);
		goto out;
	}
	rc = unpack_run(&u);
	if (!rc)
		sb_printf(res, ",\"entries\":%llu", (unsigned long long)u.entries);
out:
	parent_cache_drop(&u);
	unpack_reset_pending(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].rel);
	free(u.dirs);
	free(u.top_from);
	free(name);
	if (u.destfd >= 0)
		close(u.destfd);
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* op list                                                              */
/* ------------------------------------------------------------------ */

static int list_cb(void *ctx, const char *rel, const char *full, const struct stat *st, int marker)
{
	sbuf *o = ctx;
	(void)marker;
	const char *t;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: t = "f"; break;
	case S_IFDIR: t = "d"; break;
	case S_IFLNK: t = "l"; break;
	case S_IFCHR: t = st->st_rdev == 0 ? "w" : "c"; break;
	case S_IFBLK: t = "b"; break;
	case S_IFIFO: t = "p"; break;
	default: t = "s"; break;
	}
	if (o->p[o->n - 1] != '[')
		sb_putc(o, ',');
	sb_puts(o, "{\"path\":");
	size_t rl = strlen(rel);
	char *p = malloc(rl + 2);
	if (!p)
		die("out of memory");
	p[0] = '/';
	memcpy(p + 1, rel, rl + 1);
	sb_jstr_n(o, p, rl + 1);
	free(p);
	sb_printf(o, ",\"type\":\"%s\",\"mode\":%u,\"size\":%llu,\"uid\":%u,\"gid\":%u,\"mtime\":%lld", t,
		  (unsigned)(st->st_mode & 07777), S_ISREG(st->st_mode) ? (unsigned long long)st->st_size : 0ULL,
		  (unsigned)st->st_uid, (unsigned)st->st_gid, (long long)st->st_mtim.tv_sec);
	if (S_ISLNK(st->st_mode)) {
		char buf[PATH_MAX + 1];
		ssize_t k = readlink(full, buf, sizeof buf - 1);
		if (k < 0)
			return fail_errno("%s: readlink", full);
		sb_puts(o, ",\"link\":");
		sb_jstr_n(o, buf, (size_t)k);
	}
	if (S_ISDIR(st->st_mode) && is_opaque_path(full))
		sb_puts(o, ",\"opaque\":true");
	sb_putc(o, '}');
	return 0;
}

static int op_list(const jnode *req, sbuf *res)
{
	const char *dir;
	if (p_path(req, "dir", &dir))
		return -1;
	sb_puts(res, ",\"entries\":[");
	if (walk_tree(dir, 0, list_cb, res))
		return -1;
	sb_putc(res, ']');
	return 0;
}

/* ------------------------------------------------------------------ */
/* ops mount / umount                                                   */
/* ------------------------------------------------------------------ */

/* overlayfs splits its option string on ',' and lowerdir on ':'. */
static int overlay_path_ok(const char *p)
{
	return !strpbrk(p, ",:\\");
}

static int op_mount(const jnode *req, sbuf *res)
{
	(void)res;
	char **lowers;
	const char *upper, *work, *target;
	if (p_strv(req, "lowers", 1, &lowers) || p_path(req, "upper", &upper) || p_path(req, "work", &work) ||
	    p_path(req, "target", &target))
		return -1;
	const char *chk[] = {upper, work, target};
	for (int i = 0; i < 3; i++)
		if (!overlay_path_ok(chk[i]))
			return fail("%s: path contains ',', ':' or '\\', which overlayfs options cannot carry", chk[i]);
	if (mkdir_p(upper, 0755) || mkdir_p(work, 0755) || mkdir_p(target, 0755))
		return -1;
	sbuf opt = {0};
	sb_puts(&opt, "lowerdir=");
	if (!lowers[0]) {
		/* overlayfs needs a lower: use an empty dir next to the workdir */
		char *w = path_trim(work);
		char *sl = strrchr(w, '/');
		sb_add(&opt, w, sl && sl != w ? (size_t)(sl - w) : 0);
		sb_puts(&opt, "/empty");
		free(w);
		if (mkdir_p(opt.p + 9, 0755)) {
			sb_free(&opt);
			return -1;
		}
		if (!overlay_path_ok(opt.p + 9)) {
			int r = fail("%s: path not usable in overlay options", opt.p + 9);
			sb_free(&opt);
			return r;
		}
	}
	for (size_t i = 0; lowers[i]; i++) {
		if (lowers[i][0] != '/' || !overlay_path_ok(lowers[i])) {
			int r = fail("%s: lower must be an absolute path without ',', ':' or '\\'", lowers[i]);
			sb_free(&opt);
			return r;
		}
		if (i)
			sb_putc(&opt, ':');
		sb_puts(&opt, lowers[i]);
	}
	sb_printf(&opt, ",upperdir=%s,workdir=%s", upper, work);
	if (opt.n >= 4096) {
		sb_free(&opt);
		return fail("%s: overlay options exceed one page (too many lowers)", target);
	}
	int r = 0;
	if (mount("overlay", target, "overlay", 0, opt.p))
		r = fail_errno("%s: mount overlay (%s)", target, opt.p);
	sb_free(&opt);
	return r;
}

static int op_umount(const jnode *req, sbuf *res)
{
	(void)res;
	const char *target;
	if (p_path(req, "target", &target))
		return -1;
	if (umount2(target, 0) == 0)
		return 0;
	if (errno == EBUSY && umount2(target, MNT_DETACH) == 0)
		return 0;
	return fail_errno("%s: umount", target);
}

/* ------------------------------------------------------------------ */
/* ops rm / write / read                                                */
/* ------------------------------------------------------------------ */

static const char *const RM_ROOTS[] = {"/var/lib/layerlab", "/mnt/host", "/tmp", "/workspace"};
static char g_rm_err[PATH_MAX + 64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	if (r && errno != ENOENT) {
		int e = errno;
		snprintf(g_rm_err, sizeof g_rm_err, "%s: %s", path, strerror(e));
		return 1;
	}
	return 0;
}

static int op_rm(const jnode *req, sbuf *res)
{
	(void)res;
	const char *path;
	if (p_path(req, "path", &path))
		return -1;
	char *p = path_trim(path);
	int rc = -1;
	char *sl = strrchr(p, '/');
	const char *base = sl + 1;
	char *parent = strndup(p, sl == p ? 1 : (size_t)(sl - p));
	char real[PATH_MAX];
	if (!parent)
		die("out of memory");
	/* check the resolved parent, so a symlink cannot lead outside the roots */
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		fail("%s: refusing to remove this path", path);
		goto out;
	}
	if (!realpath(parent, real)) {
		if (errno == ENOENT)
			rc = 0; /* already gone */
		else
			fail_errno("%s: resolve", parent);
		goto out;
	}
	int allowed = 0;
	for (size_t i = 0; i < sizeof RM_ROOTS / sizeof *RM_ROOTS; i++) {
		size_t l = strlen(RM_ROOTS[i]);
		if (!strncmp(real, RM_ROOTS[i], l) && (real[l] == 0 || real[l] == '/'))
			allowed = 1;
	}
	if (!allowed) {
		fail("%s: refusing to remove outside /var/lib/layerlab, /mnt/host, /tmp, /workspace", path);
		goto out;
	}
	size_t rl = strlen(real);
	if (rl + 1 + strlen(base) >= sizeof real) {
		errno = ENAMETOOLONG;
		fail_errno("%s", path);
		goto out;
	}
	if (real[rl - 1] != '/')
		real[rl++] = '/';
	strcpy(real + rl, base);
	struct stat st;
	if (lstat(real, &st)) {
		if (errno == ENOENT)
			rc = 0;
		else
			fail_errno("%s: lstat", path);
		goto out;
	}
	/* FTW_MOUNT: never descend into something mounted below (e.g. a merged rootfs) */
	g_rm_err[0] = 0;
	int r = nftw(real, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (r == 1)
		fail("%s", g_rm_err);
	else if (r)
		fail_errno("%s: walk", path);
	else if (lstat(real, &st) == 0)
		fail("%s: still present (something is mounted inside?)", path);
	else
		rc = 0;
out:
	free(parent);
	free(p);
	return rc;
}

/* readdir: the names in one directory, sorted (e.g. which layers are unpacked) without a recursive walk */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int op_readdir(const jnode *req, sbuf *res)
{
	const char *path;
	if (p_path(req, "path", &path))
		return -1;
	DIR *d = opendir(path);
	if (!d)
		return fail_errno("%s: opendir", path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				die("out of memory");
		}
		if (!(names[n++] = strdup(e->d_name)))
			die("out of memory");
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	sb_puts(res, ",\"names\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(res, ',');
		sb_jstr(res, names[i]);
		free(names[i]);
	}
	sb_putc(res, ']');
	free(names);
	return 0;
}

/* rename: move a finished upperdir into place as a layer dir (same tmpfs, so it is instant) */
static int op_rename(const jnode *req, sbuf *res)
{
	(void)res;
	const char *from, *to;
	if (p_path(req, "from", &from) || p_path(req, "to", &to))
		return -1;
	if (mkparents(to))
		return -1;
	if (rename(from, to))
		return fail_errno("rename %s -> %s", from, to);
	return 0;
}

static int op_write(const jnode *req, sbuf *res)
{
	(void)res;
	const char *path;
	long long mode;
	unsigned char *data;
	size_t n;
	int present;
	if (p_path(req, "path", &path) || p_int(req, "mode", 0, &mode, -1) ||
	    p_b64(req, "data", &data, &n, &present))
		return -1;
	if (!present)
		return fail("missing base64 parameter \"data\"");
	int r = mkparents(path);
	if (!r)
		r = write_file(path, data, n, mode >= 0 ? (mode_t)(mode & 07777) : 0644, mode >= 0);
	free(data);
	return r;
}

static int op_read(const jnode *req, sbuf *res)
{
	const char *path;
	if (p_path(req, "path", &path))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("%s: open", path);
	struct stat st;
	if (fstat(fd, &st)) {
		int r = fail_errno("%s: stat", path);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail("%s: not a regular file", path);
	}
	if (st.st_size > (off_t)READ_MAX) {
		close(fd);
		return fail("%s: too large for read (%lld bytes, limit 1 MiB)", path, (long long)st.st_size);
	}
	unsigned char *buf = malloc(READ_MAX + 1);
	if (!buf)
		die("out of memory");
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, READ_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = fail_errno("%s: read", path);
			free(buf);
			close(fd);
			return r;
		}
		if (k == 0 || (n += (size_t)k) > READ_MAX)
			break;
	}
	close(fd);
	if (n > READ_MAX) {
		free(buf);
		return fail("%s: too large for read (limit 1 MiB)", path);
	}
	sb_puts(res, ",\"data\":\"");
	sb_b64(res, buf, n);
	sb_putc(res, '"');
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Child processes: run / spawn / signal / delete                       */
/* ------------------------------------------------------------------ */

enum { P_ATTACHED, P_DETACHED, P_COLLECT };

typedef struct proc {
	pid_t pid;
	int kind;
	char *id, *op, *name;
	int fd_out, fd_err, fd_in;
	unsigned char *in;
	size_t inlen, inoff;
	int exited, status;
	long long exit_ms;
	sbuf collected; /* P_COLLECT: output kept for the error message */
	struct proc *next;
} proc;

static proc *g_procs;
static int g_sigpipe[2] = {-1, -1};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_sigchld(int sig)
{
	(void)sig;
	int e = errno;
	char c = 0;
	if (write(g_sigpipe[1], &c, 1) < 0) {
		/* pipe full: a wakeup is already pending */
	}
	errno = e;
}

static const char *crun_path(void)
{
	const char *c = getenv("LAYERLAB_CRUN"); /* host tests point this at a stub */
	return c && *c ? c : "/usr/bin/crun";
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		die("out of memory");
	return d;
}

/* Starts argv with stdout/stderr piped back (and stdin from `in` when has_in,
 * else /dev/null). Takes ownership of `in`. Returns NULL with g_err set. */
static proc *proc_start(char *const argv[], char *const envp[], const char *cwd, unsigned char *in,
			size_t inlen, int has_in, int kind, const char *id, const char *op, const char *name)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	proc *p = NULL;
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || (has_in && pipe2(pi, O_CLOEXEC))) {
		fail_errno("%s: pipe", argv[0]);
		goto err;
	}
	posix_spawn_file_actions_init(&fa);
	if (has_in)
		posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	int e = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, &at, argv, envp)
				     : posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		errno = e;
		fail_errno("%s: exec%s%s", argv[0], cwd ? " in " : "", cwd ? cwd : "");
		goto err;
	}
	close(po[1]), close(pe[1]);
	if (has_in)
		close(pi[0]);
	p = calloc(1, sizeof *p);
	if (!p)
		die("out of memory");
	p->pid = pid, p->kind = kind;
	p->id = xstrdup(id), p->op = xstrdup(op), p->name = xstrdup(name);
	p->fd_out = po[0], p->fd_err = pe[0], p->fd_in = has_in ? pi[1] : -1;
	fcntl(p->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(p->fd_err, F_SETFL, O_NONBLOCK);
	if (p->fd_in >= 0) {
		fcntl(p->fd_in, F_SETFL, O_NONBLOCK);
		p->in = in, p->inlen = inlen;
		if (!inlen) {
			close(p->fd_in);
			p->fd_in = -1;
		}
	} else {
		free(in);
	}
	p->next = g_procs;
	g_procs = p;
	return p;
err:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0) close(po[i]);
		if (pe[i] >= 0) close(pe[i]);
		if (pi[i] >= 0) close(pi[i]);
	}
	free(in);
	return NULL;
}

static void proc_stream(proc *p, const char *stream, const unsigned char *d, size_t n)
{
	if (p->kind == P_COLLECT) {
		if (p->collected.n < 4096)
			sb_add(&p->collected, d, n);
		return;
	}
	sbuf b = {0};
	if (p->kind == P_ATTACHED)
		sb_printf(&b, "{\"id\":%s,\"stream\":\"%s\",\"data\":\"", p->id, stream);
	else {
		sb_puts(&b, "{\"event\":\"output\",\"name\":");
		sb_jstr(&b, p->name);
		sb_printf(&b, ",\"stream\":\"%s\",\"data\":\"", stream);
	}
	sb_b64(&b, d, n);
	sb_puts(&b, "\"}");
	send_msg(&b);
	sb_free(&b);
}

/* Read once from a child's pipe; closes it at EOF. */
static void proc_drain(proc *p, int *fdp, const char *stream)
{
	static unsigned char buf[48 * 1024];
	ssize_t k = read(*fdp, buf, sizeof buf);
	if (k > 0) {
		proc_stream(p, stream, buf, (size_t)k);
	} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(*fdp);
		*fdp = -1;
	}
}

static void proc_feed(proc *p)
{
	ssize_t k = write(p->fd_in, p->in + p->inoff, p->inlen - p->inoff);
	if (k > 0)
		p->inoff += (size_t)k;
	if ((k < 0 && errno != EAGAIN && errno != EINTR) || p->inoff == p->inlen) {
		close(p->fd_in); /* EOF for the child (or it stopped reading: EPIPE) */
		p->fd_in = -1;
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void proc_finish(proc *p)
{
	int code = exit_code(p->status);
	sbuf b = {0};
	if (p->kind == P_ATTACHED) {
		sb_printf(&b, ",\"exit\":%d", code);
		reply_ok(p->id, &b);
	} else if (p->kind == P_DETACHED) {
		sb_puts(&b, "{\"event\":\"exit\",\"name\":");
		sb_jstr(&b, p->name);
		sb_printf(&b, ",\"code\":%d}", code);
		send_msg(&b);
	} else if (code == 0) {
		reply_ok(p->id, NULL);
	} else {
		while (p->collected.n && (p->collected.p[p->collected.n - 1] == '\n'))
			sb_trunc(&p->collected, p->collected.n - 1);
		sb_printf(&b, "%s: crun exited with %d: %s", p->name, code, p->collected.p ? p->collected.p : "");
		reply_err(p->id, p->op, b.p);
	}
	sb_free(&b);
	if (p->fd_out >= 0) close(p->fd_out);
	if (p->fd_err >= 0) close(p->fd_err);
	if (p->fd_in >= 0) close(p->fd_in);
	free(p->in), free(p->id), free(p->op), free(p->name);
	sb_free(&p->collected);
	free(p);
}

static void reap_children(void)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (proc *p = g_procs; p; p = p->next)
			if (p->pid == pid && !p->exited) {
				p->exited = 1, p->status = st, p->exit_ms = now_ms();
				break;
			}
	}
}

/* Finish processes that exited and whose output is drained (or whose
 * pipes are held open by a leftover grandchild past the grace period). */
static void finish_done(void)
{
	long long now = now_ms();
	for (proc **pp = &g_procs; *pp;) {
		proc *p = *pp;
		if (p->exited && ((p->fd_out < 0 && p->fd_err < 0) || now - p->exit_ms >= EXIT_GRACE_MS)) {
			*pp = p->next;
			proc_finish(p);
		} else {
			pp = &p->next;
		}
	}
}

static int op_spawn(const jnode *req, const char *id)
{
	char **argv, **env;
	const char *cwd;
	unsigned char *in;
	size_t inlen;
	int has_in;
	if (p_strv(req, "argv", 1, &argv) || p_strv(req, "env", 0, &env) || p_str(req, "cwd", 0, &cwd))
		return -1;
	if (!argv[0] || !argv[0][0])
		return fail("\"argv\" must not be empty");
	if (p_b64(req, "stdin", &in, &inlen, &has_in))
		return -1;
	return proc_start(argv, env ? env : environ, cwd, in, inlen, has_in, P_ATTACHED, id, "spawn", argv[0])
		       ? 1 : -1;
}

static int check_name(const char *name)
{
	if (!*name || name[0] == '-' || strchr(name, '/'))
		return fail("invalid container name \"%s\"", name);
	return 0;
}

static int op_run(const jnode *req, const char *id, sbuf *res)
{
	const char *name, *bundle;
	if (p_str(req, "name", 1, &name) || check_name(name) || p_path(req, "bundle", &bundle))
		return -1;
	jnode *cfg = jget(req, "config"), *det = jget(req, "detach");
	if (!cfg || cfg->t != J_OBJ)
		return fail("parameter \"config\" must be an object");
	if (det && det->t != J_BOOL && det->t != J_NULL)
		return fail("parameter \"detach\" must be a boolean");
	int detach = det && det->t == J_BOOL && det->b;
	unsigned char *in;
	size_t inlen;
	int has_in;
	if (p_b64(req, "stdin", &in, &inlen, &has_in))
		return -1;
	/* config.json gets the request's exact bytes */
	sbuf path = {0};
	sb_printf(&path, "%s/config.json", bundle);
	if (mkdir_p(bundle, 0755) || write_file(path.p, cfg->raw, cfg->rawlen, 0644, 0)) {
		sb_free(&path);
		free(in);
		return -1;
	}
	sb_free(&path);
	char *argv[] = {(char *)crun_path(), "run", "--bundle", (char *)bundle, (char *)name, NULL};
	proc *p = proc_start(argv, environ, NULL, in, inlen, has_in, detach ? P_DETACHED : P_ATTACHED, id, "run",
			     name);
	if (!p)
		return -1;
	if (!detach)
		return 1;
	sb_printf(res, ",\"pid\":%d", (int)p->pid);
	return 0;
}

static int op_signal(const jnode *req, const char *id)
{
	const char *name;
	long long sig;
	if (p_str(req, "name", 1, &name) || check_name(name) || p_int(req, "signal", 1, &sig, 0))
		return -1;
	if (sig < 1 || sig > 64)
		return fail("signal %lld out of range", sig);
	char num[16];
	snprintf(num, sizeof num, "%lld", sig);
	char *argv[] = {(char *)crun_path(), "kill", (char *)name, num, NULL};
	return proc_start(argv, environ, NULL, NULL, 0, 0, P_COLLECT, id, "signal", name) ? 1 : -1;
}

static int op_delete(const jnode *req, const char *id)
{
	const char *name;
	if (p_str(req, "name", 1, &name) || check_name(name))
		return -1;
	char *argv[] = {(char *)crun_path(), "delete", "-f", (char *)name, NULL};
	return proc_start(argv, environ, NULL, NULL, 0, 0, P_COLLECT, id, "delete", name) ? 1 : -1;
}

/* ------------------------------------------------------------------ */
/* The guest `docker` command: socket bridge (agent side)               */
/* ------------------------------------------------------------------ */

/* Each connected `docker` client is a cid. Lines from the client become
 * host events; host notifications (cli-output/-exit/-exec) become lines to
 * the client, buffered so a client that stops reading cannot block us. */
typedef struct cli {
	int fd, cid, started, finished;
	sbuf in, out;
	char *ref; /* raw JSON of the pending cli-exec's ref */
	struct cli *next;
} cli;

static cli *g_clis;
static int g_listen = -1, g_next_cid = 1;
static const char *docker_sock_path(int agent_stdio)
{
	const char *s = getenv("LAYERLAB_DOCKER_SOCK");
	if (s && *s)
		return s;
	return agent_stdio ? NULL : "/run/layerlab/docker.sock";
}

static void cli_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path || mkparents(path)) {
		fprintf(stderr, "agent: docker socket %s: bad path\n", path);
		return;
	}
	strcpy(a.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16)) {
		fprintf(stderr, "agent: docker socket %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	chmod(path, 0600); /* root's only: containers and other users must not drive the engine */
	g_listen = fd;
}

static void cli_accept(void)
{
	int fd = accept4(g_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* Besides the socket's mode: only root (or the agent's own user) may talk to the engine. */
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) || (cred.uid != 0 && cred.uid != geteuid())) {
		static const char msg[] = "{\"stream\":\"stderr\",\"data\":\"ZG9ja2VyOiBwZXJtaXNzaW9uIGRlbmllZDogb25seSByb290IG1heSB1c2UgdGhlIExheWVybGFiIGVuZ2luZQo=\"}\n{\"exit\":1}\n";
		ssize_t w = write(fd, msg, sizeof msg - 1);
		(void)w;
		close(fd);
		return;
	}
	cli *c = calloc(1, sizeof *c);
	if (!c)
		die("out of memory");
	c->fd = fd;
	c->cid = g_next_cid++;
	c->next = g_clis;
	g_clis = c;
}

static void cli_close(cli *c)
{
	for (cli **pp = &g_clis; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->started && !c->finished) { /* the client died (Ctrl-C) */
		sbuf b = {0};
		sb_printf(&b, "{\"event\":\"cli-closed\",\"cid\":%d}", c->cid);
		send_msg(&b);
		sb_free(&b);
	}
	close(c->fd);
	sb_free(&c->in), sb_free(&c->out);
	free(c->ref);
	free(c);
}

static void cli_flush(cli *c)
{
	while (c->out.n) {
		ssize_t k = write(c->fd, c->out.p, c->out.n);
		if (k <= 0) {
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			c->out.n = 0; /* client gone: its EOF will close it */
			return;
		}
		memmove(c->out.p, c->out.p + k, c->out.n - (size_t)k);
		sb_trunc(&c->out, c->out.n - (size_t)k);
	}
}

/* One line from a client: the command first, then stdin chunks / exec results. */
static void cli_line(cli *c, const char *line, size_t n)
{
	jnode *m = json_parse(line, n);
	sbuf b = {0};
	if (!m || m->t != J_OBJ) {
		afree_all();
		return;
	}
	jnode *v;
	if (!c->started) {
		c->started = 1;
		/* Re-serialise only the known fields: whatever else a guest process writes must never reach
		 * the host as part of the envelope (a duplicate "id" or "ok" would complete a host request). */
		jnode *argv = jget(m, "argv"), *cwd = jget(m, "cwd"), *tty = jget(m, "tty");
		jnode *cols = jget(m, "cols"), *rows = jget(m, "rows");
		int bad = !argv || argv->t != J_ARR;
		for (jnode *a = bad ? NULL : argv->kid; a; a = a->next)
			bad |= a->t != J_STR;
		if (bad) {
			static const char msg[] = "docker: malformed command (expected {\"argv\": [strings...]})\n";
			sb_puts(&c->out, "{\"stream\":\"stderr\",\"data\":\"");
			sb_b64(&c->out, (const unsigned char *)msg, sizeof msg - 1);
			sb_puts(&c->out, "\"}\n{\"exit\":1}\n");
			c->finished = 1;
			cli_flush(c);
			afree_all();
			return;
		}
		sb_printf(&b, "{\"event\":\"cli\",\"cid\":%d,\"argv\":[", c->cid);
		for (jnode *a = argv->kid; a; a = a->next) {
			if (a != argv->kid)
				sb_putc(&b, ',');
			sb_jstr_n(&b, a->s, a->len);
		}
		sb_puts(&b, "],\"cwd\":");
		sb_jstr(&b, cwd && cwd->t == J_STR && !cwd->has_nul ? cwd->s : "/");
		sb_printf(&b, ",\"tty\":%s", tty && tty->t == J_BOOL && tty->b ? "true" : "false");
		int ncols = cols && cols->t == J_NUM && cols->num >= 1 && cols->num <= 10000 ? (int)cols->num : 80;
		int nrows = rows && rows->t == J_NUM && rows->num >= 1 && rows->num <= 10000 ? (int)rows->num : 24;
		sb_printf(&b, ",\"cols\":%d,\"rows\":%d}", ncols, nrows);
	} else if ((v = jget(m, "stdin")) && v->t == J_STR) {
		sb_printf(&b, "{\"event\":\"cli-stdin\",\"cid\":%d,\"data\":", c->cid);
		sb_add(&b, v->raw, v->rawlen);
		sb_putc(&b, '}');
	} else if ((v = jget(m, "stdin_eof"))) {
		sb_printf(&b, "{\"event\":\"cli-stdin\",\"cid\":%d,\"eof\":true}", c->cid);
	} else if ((v = jget(m, "exited")) && v->t == J_NUM) {
		sb_printf(&b, "{\"event\":\"cli-exec-exit\",\"cid\":%d,\"ref\":%s,\"code\":%d}", c->cid,
			  c->ref ? c->ref : "null", (int)v->num);
	}
	if (b.n)
		send_msg(&b);
	sb_free(&b);
	afree_all();
}

static void cli_read(cli *c)
{
	char buf[16384];
	ssize_t k = read(c->fd, buf, sizeof buf);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		cli_close(c);
		return;
	}
	sb_add(&c->in, buf, (size_t)k);
	char *nl;
	size_t start = 0;
	while ((nl = memchr(c->in.p + start, '\n', c->in.n - start))) {
		size_t len = (size_t)(nl - (c->in.p + start));
		cli_line(c, c->in.p + start, len);
		start += len + 1;
	}
	memmove(c->in.p, c->in.p + start, c->in.n - start);
	sb_trunc(&c->in, c->in.n - start);
	if (c->in.n > MAX_LINE)
		cli_close(c);
}

/* Host -> guest notification for a client (a message with "op" and no "id"). */
static int cli_notify(const jnode *m, const char *op)
{
	long long cid;
	if (p_int(m, "cid", 1, &cid, 0))
		return -1;
	cli *c = g_clis;
	while (c && c->cid != cid)
		c = c->next;
	if (!c)
		return 0; /* the client already went away */
	jnode *v;
	if (!strcmp(op, "cli-output")) {
		const char *stream;
		if (p_str(m, "stream", 1, &stream) || !(v = jget(m, "data")) || v->t != J_STR)
			return fail("cli-output needs stream and data");
		sb_puts(&c->out, "{\"stream\":");
		sb_jstr(&c->out, stream);
		sb_puts(&c->out, ",\"data\":");
		sb_add(&c->out, v->raw, v->rawlen);
		sb_puts(&c->out, "}\n");
	} else if (!strcmp(op, "cli-exit")) {
		long long code;
		if (p_int(m, "code", 1, &code, 0))
			return -1;
		sb_printf(&c->out, "{\"exit\":%lld}\n", code);
		c->finished = 1;
	} else {
		if (!(v = jget(m, "argv")) || v->t != J_ARR)
			return fail("cli-exec needs argv");
		jnode *ref = jget(m, "ref");
		free(c->ref);
		c->ref = NULL;
		if (ref) {
			c->ref = strndup(ref->raw, ref->rawlen);
			if (!c->ref)
				die("out of memory");
		}
		sb_puts(&c->out, "{\"exec\":");
		sb_add(&c->out, v->raw, v->rawlen);
		sb_puts(&c->out, "}\n");
	}
	cli_flush(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The guest `docker` command: client (argv[0] is "docker")             */
/* ------------------------------------------------------------------ */

static void fd_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static int is_interactive_flag(const char *a)
{
	if (!strcmp(a, "-i") || !strcmp(a, "--interactive"))
		return 1;
	if (a[0] != '-' || a[1] == '-' || !a[1])
		return 0;
	for (const char *p = a + 1; *p; p++) /* clusters like -it */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return 0;
	return strchr(a + 1, 'i') != NULL;
}

/* Runs the host's cli-exec argv attached to our terminal; returns its exit code. */
static int docker_exec(const jnode *argvn)
{
	size_t n = 0;
	for (jnode *c = argvn->kid; c; c = c->next)
		n++;
	char **av = amalloc((n + 1) * sizeof *av);
	n = 0;
	for (jnode *c = argvn->kid; c; c = c->next)
		if (c->t == J_STR)
			av[n++] = c->s;
	if (!n)
		return 127;
	/* the program owns the terminal now: Ctrl-C is for it, not for us */
	struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(av[0], av);
		fprintf(stderr, "docker: exec %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	return pid < 0 ? 127 : exit_code(st);
}

static int docker_main(int argc, char **argv)
{
	const char *path = docker_sock_path(0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (strlen(path) >= sizeof a.sun_path)
		return 1;
	strcpy(a.sun_path, path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
		fprintf(stderr, "docker: cannot reach the Layerlab engine at %s: %s\n", path, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	int tty = isatty(0) && isatty(1);
	int fwd_stdin = 0;
	sbuf b = {0};
	sb_puts(&b, "{\"argv\":[");
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			sb_putc(&b, ',');
		sb_jstr(&b, argv[i]);
		if (!isatty(0) && is_interactive_flag(argv[i]))
			fwd_stdin = 1;
	}
	char cwd[PATH_MAX];
	sb_puts(&b, "],\"cwd\":");
	sb_jstr(&b, getcwd(cwd, sizeof cwd) ? cwd : "/");
	struct winsize ws = {0};
	if (tty)
		ioctl(1, TIOCGWINSZ, &ws);
	sb_printf(&b, ",\"tty\":%s,\"cols\":%d,\"rows\":%d}\n", tty ? "true" : "false", ws.ws_col ? ws.ws_col : 80,
		  ws.ws_row ? ws.ws_row : 24);
	fd_write_all(s, b.p, b.n);

	sbuf in = {0};
	static unsigned char buf[32768];
	for (;;) {
		struct pollfd pf[2] = {{.fd = s, .events = POLLIN}, {.fd = fwd_stdin ? 0 : -1, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pf[1].revents) {
			ssize_t k = read(0, buf, sizeof buf);
			sb_trunc(&b, 0);
			if (k > 0) {
				sb_puts(&b, "{\"stdin\":\"");
				sb_b64(&b, buf, (size_t)k);
				sb_puts(&b, "\"}\n");
			} else {
				sb_puts(&b, "{\"stdin_eof\":true}\n");
				fwd_stdin = 0;
			}
			fd_write_all(s, b.p, b.n);
		}
		if (!pf[0].revents)
			continue;
		ssize_t k = read(s, buf, sizeof buf);
		if (k <= 0) {
			fprintf(stderr, "docker: lost the connection to the Layerlab engine\n");
			return 1;
		}
		sb_add(&in, buf, (size_t)k);
		char *nl;
		while ((nl = memchr(in.p, '\n', in.n))) {
			size_t len = (size_t)(nl - in.p);
			jnode *m = json_parse(in.p, len), *v;
			if (m && (v = jget(m, "stream")) && v->t == J_STR) {
				jnode *d = jget(m, "data");
				size_t dl;
				unsigned char *dd = d && d->t == J_STR ? b64_decode(d->s, d->len, &dl) : NULL;
				if (dd)
					fd_write_all(strcmp(v->s, "stderr") ? 1 : 2, dd, dl);
				free(dd);
			} else if (m && (v = jget(m, "exit")) && v->t == J_NUM) {
				return (int)v->num & 255;
			} else if (m && (v = jget(m, "exec")) && v->t == J_ARR) {
				int code = docker_exec(v);
				sb_trunc(&b, 0);
				sb_printf(&b, "{\"exited\":%d}\n", code);
				fd_write_all(s, b.p, b.n);
			}
			afree_all();
			memmove(in.p, in.p + len + 1, in.n - len - 1);
			sb_trunc(&in, in.n - len - 1);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Request dispatch                                                     */
/* ------------------------------------------------------------------ */

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

static int op_tcp_connect(const jnode *req, sbuf *res)
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

static int op_tcp_send(const jnode *req, const char *id)
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

static int op_tcp_close(const jnode *req, sbuf *res)
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

static size_t tcp_count(void)
{
	size_t n = 0;
	for (tconn *t = g_tconns; t; t = t->next)
		n++;
	return n;
}

/* Adds the connections' poll entries at pfds[n...]; returns the new count. */
static size_t tcp_pollfds(struct pollfd *pfds, size_t n)
{
	for (tconn *t = g_tconns; t; t = t->next) {
		short ev = (short)((t->read_done ? 0 : POLLIN) | (t->out.n ? POLLOUT : 0));
		pfds[n++] = (struct pollfd){.fd = ev ? t->fd : -1, .events = ev};
	}
	return n;
}

static void tcp_ready(const struct pollfd *pfds, size_t from, size_t to)
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

static void handle_line(const char *line, size_t n)
{
	jnode *req = json_parse(line, n);
	char id[64] = "null";
	if (!req || req->t != J_OBJ) {
		sbuf m = {0};
		sb_printf(&m, "malformed request: %s", req ? "not a JSON object" : jerr);
		reply_err(id, NULL, m.p);
		sb_free(&m);
		afree_all();
		return;
	}
	jnode *jid = jget(req, "id");
	if (jid && (jid->t == J_NUM || jid->t == J_STR) && jid->rawlen < sizeof id) {
		memcpy(id, jid->raw, jid->rawlen);
		id[jid->rawlen] = 0;
	}
	const char *op = NULL;
	if (p_str(req, "op", 1, &op)) {
		reply_err(id, NULL, g_err);
		afree_all();
		return;
	}
	if (!jid && (!strcmp(op, "cli-output") || !strcmp(op, "cli-exit") || !strcmp(op, "cli-exec"))) {
		/* notifications get no reply; a broken one is logged, not answered */
		if (cli_notify(req, op))
			fprintf(stderr, "agent: %s: %s\n", op, g_err);
		afree_all();
		return;
	}
	sbuf res = {0};
	int r;
	g_err[0] = 0;
	if (!strcmp(op, "hello")) {
		send_ready();
		sb_printf(&res, ",\"version\":%d", AGENT_VERSION);
		r = 0;
	} else if (!strcmp(op, "unpack")) r = op_unpack(req, &res);
	else if (!strcmp(op, "pack")) r = op_pack(req, &res);
	else if (!strcmp(op, "cpout")) r = op_cpout(req, &res);
	else if (!strcmp(op, "cpin")) r = op_cpin(req, &res);
	else if (!strcmp(op, "list")) r = op_list(req, &res);
	else if (!strcmp(op, "mount")) r = op_mount(req, &res);
	else if (!strcmp(op, "umount")) r = op_umount(req, &res);
	else if (!strcmp(op, "run")) r = op_run(req, id, &res);
	else if (!strcmp(op, "signal")) r = op_signal(req, id);
	else if (!strcmp(op, "delete")) r = op_delete(req, id);
	else if (!strcmp(op, "spawn")) r = op_spawn(req, id);
	else if (!strcmp(op, "rm")) r = op_rm(req, &res);
	else if (!strcmp(op, "write")) r = op_write(req, &res);
	else if (!strcmp(op, "read")) r = op_read(req, &res);
	else if (!strcmp(op, "readdir")) r = op_readdir(req, &res);
	else if (!strcmp(op, "rename")) r = op_rename(req, &res);
	else if (!strcmp(op, "tcp-connect")) r = op_tcp_connect(req, &res);
	else if (!strcmp(op, "tcp-send")) r = op_tcp_send(req, id);
	else if (!strcmp(op, "tcp-close")) r = op_tcp_close(req, &res);
	else {
		r = fail("unknown op");
	}
	if (r == 0)
		reply_ok(id, &res);
	else if (r < 0)
		reply_err(id, op, g_err[0] ? g_err : "failed");
	/* r == 1: a child process answers later */
	sb_free(&res);
	afree_all();
}

/* ------------------------------------------------------------------ */
/* Container network attach (netlink): `layerlab-net-attach`            */
/* ------------------------------------------------------------------ */

/* Run by crun as an OCI createRuntime hook (argv[0] layerlab-net-attach, the OCI state on stdin):
 *   layerlab-net-attach PID|- BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]
 * Makes a veth pair whose container end is created directly in the network namespace of PID as IFNAME
 * (with MAC), puts the host end on BRIDGE, then inside the namespace: lo and IFNAME up, ADDR, and a
 * default route via GATEWAY. Netlink in-process: the same wiring with busybox `ip` costs a dozen
 * program starts, seconds under emulation. Exit 0 on success; errors on stderr (crun shows them). */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>

typedef struct {
	struct nlmsghdr h;
	char buf[2048];
} nlmsg_t;

static unsigned g_nlseq;

static void nl_init(nlmsg_t *m, int type, int flags, const void *hdr, size_t hdrlen)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_type = (unsigned short)type;
	m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_len = (unsigned)NLMSG_LENGTH(hdrlen);
	memcpy(NLMSG_DATA(&m->h), hdr, hdrlen);
}

static struct rtattr *nl_attr(nlmsg_t *m, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)&m->h + NLMSG_ALIGN(m->h.nlmsg_len));
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_end(nlmsg_t *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)&m->h + m->h.nlmsg_len - (char *)nest);
}

/* Sends one request on a fresh socket (a socket belongs to the namespace it was made in); 0 or -errno. */
static int nl_talk(nlmsg_t *m)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	m->h.nlmsg_seq = ++g_nlseq;
	int r = -EIO;
	if (send(fd, &m->h, m->h.nlmsg_len, 0) == (ssize_t)m->h.nlmsg_len) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)NLMSG_HDRLEN && NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR)
			r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	close(fd);
	return r;
}

static int link_up(const char *ifname, unsigned master)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	ifi.ifi_index = (int)if_nametoindex(ifname);
	if (!ifi.ifi_index)
		return -ENODEV;
	nlmsg_t m;
	nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	if (master)
		nl_attr(&m, IFLA_MASTER, &master, sizeof master);
	return nl_talk(&m);
}

static int net_attach_fail(const char *what, int err)
{
	fprintf(stderr, "layerlab-net-attach: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static int net_attach_main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: layerlab-net-attach PID|- BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]\n");
		return 2;
	}
	long pid = 0;
	if (!strcmp(argv[1], "-")) {
		static char state[65536];
		size_t n = fread(state, 1, sizeof state - 1, stdin);
		state[n] = 0;
		const char *p = strstr(state, "\"pid\"");
		if (p && (p = strchr(p, ':')))
			pid = strtol(p + 1, NULL, 10);
	} else {
		pid = strtol(argv[1], NULL, 10);
	}
	if (pid <= 0) {
		fprintf(stderr, "layerlab-net-attach: no process id (argument or OCI state on stdin)\n");
		return 2;
	}
	const char *bridge = argv[2], *ifname = argv[3], *mac_text = argv[5], *gw_text = argc > 6 ? argv[6] : NULL;
	char addr_text[64];
	snprintf(addr_text, sizeof addr_text, "%s", argv[4]);
	char *slash = strchr(addr_text, '/');
	int prefix = slash ? atoi(slash + 1) : 32;
	if (slash)
		*slash = 0;
	struct in_addr addr, gw;
	unsigned char mac[6];
	if (inet_pton(AF_INET, addr_text, &addr) != 1 || prefix < 1 || prefix > 32)
		return net_attach_fail(argv[4], EINVAL);
	if (gw_text && inet_pton(AF_INET, gw_text, &gw) != 1)
		return net_attach_fail(gw_text, EINVAL);
	if (sscanf(mac_text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		return net_attach_fail(mac_text, EINVAL);
	unsigned master = if_nametoindex(bridge);
	if (!master)
		return net_attach_fail(bridge, ENODEV);

	/* The host end's name: unique while the process lives (IFNAMSIZ allows 15 characters). */
	char host_if[64];
	snprintf(host_if, sizeof host_if, "veth%ld%s", pid, ifname + strcspn(ifname, "0123456789"));
	host_if[IFNAMSIZ - 1] = 0;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	nlmsg_t m;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr(&m, IFLA_IFNAME, host_if, strlen(host_if) + 1);
	struct rtattr *linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, "veth", 4);
	struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = nl_attr(&m, VETH_INFO_PEER, &ifi, sizeof ifi);
	nl_attr(&m, IFLA_IFNAME, ifname, strlen(ifname) + 1);
	nl_attr(&m, IFLA_ADDRESS, mac, sizeof mac);
	unsigned ns_pid = (unsigned)pid;
	nl_attr(&m, IFLA_NET_NS_PID, &ns_pid, sizeof ns_pid);
	nl_end(&m, peer);
	nl_end(&m, data);
	nl_end(&m, linkinfo);
	int r = nl_talk(&m);
	if (r)
		return net_attach_fail("creating the veth pair", r);
	if ((r = link_up(host_if, master)))
		return net_attach_fail(host_if, r);

	char ns[64];
	snprintf(ns, sizeof ns, "/proc/%ld/ns/net", pid);
	int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
		return net_attach_fail(ns, errno);
	close(nsfd);
	if ((r = link_up("lo", 0)) || (r = link_up(ifname, 0)))
		return net_attach_fail("bringing the container's interfaces up", r);
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = if_nametoindex(ifname)};
	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	nl_attr(&m, IFA_LOCAL, &addr, sizeof addr);
	nl_attr(&m, IFA_ADDRESS, &addr, sizeof addr);
	struct in_addr brd = {.s_addr = addr.s_addr | htonl(prefix == 32 ? 0 : 0xffffffffu >> prefix)};
	nl_attr(&m, IFA_BROADCAST, &brd, sizeof brd);
	if ((r = nl_talk(&m)))
		return net_attach_fail(argv[4], r);
	if (gw_text) {
		struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
		nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
		nl_attr(&m, RTA_GATEWAY, &gw, sizeof gw);
		unsigned oif = ifa.ifa_index;
		nl_attr(&m, RTA_OIF, &oif, sizeof oif);
		if ((r = nl_talk(&m)))
			return net_attach_fail("the default route", r);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Main loop                                                            */
/* ------------------------------------------------------------------ */

static int open_device(const char *dev)
{
	for (int warned = 0;; warned = 1) {
		int fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			struct termios t;
			if (isatty(fd) && tcgetattr(fd, &t) == 0) {
				cfmakeraw(&t); /* no echo, no CR/LF translation */
				tcsetattr(fd, TCSANOW, &t);
			}
			return fd;
		}
		if (!warned)
			fprintf(stderr, "agent: open %s: %s (retrying)\n", dev, strerror(errno));
		usleep(200 * 1000);
	}
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	if (!strcmp(self ? self + 1 : argv[0], "docker"))
		return docker_main(argc, argv);
	if (!strcmp(self ? self + 1 : argv[0], "layerlab-net-attach"))
		return net_attach_main(argc, argv);
	int use_stdio = 0;
	const char *dev = "/dev/hvc0";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stdio"))
			use_stdio = 1;
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			dev = argv[++i];
		else {
			fprintf(stderr, "usage: agent [--stdio | --device PATH]\n");
			return 2;
		}
	}
	/* keep fds 0-2 occupied so no pipe lands there and confuses dup2 */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return 1;
	umask(022);
	if (!getenv("PATH"))
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(g_sigpipe, O_CLOEXEC | O_NONBLOCK))
		die("pipe");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);

	int in_fd;
	if (use_stdio) {
		in_fd = 0;
		g_out = 1;
	} else {
		in_fd = g_out = open_device(dev);
	}
	const char *sock = docker_sock_path(use_stdio);
	if (sock)
		cli_listen(sock);
	send_ready();

	sbuf line = {0};
	int discarding = 0, in_eof = 0;
	struct pollfd *pfds = NULL;
	proc **owner = NULL;
	size_t cap = 0;
	static char rbuf[65536];
	for (;;) {
		reap_children();
		finish_done();
		if (in_eof && !g_procs)
			break;

		size_t n = 0, need = 3;
		for (proc *p = g_procs; p; p = p->next)
			need += 3;
		for (cli *c = g_clis; c; c = c->next)
			need++;
		need += tcp_count();
		if (need > cap) {
			cap = need * 2;
			pfds = realloc(pfds, cap * sizeof *pfds);
			owner = realloc(owner, cap * sizeof *owner);
			if (!pfds || !owner)
				die("out of memory");
		}
		pfds[n] = (struct pollfd){.fd = in_eof ? -1 : in_fd, .events = POLLIN};
		owner[n++] = NULL;
		pfds[n] = (struct pollfd){.fd = g_sigpipe[0], .events = POLLIN};
		owner[n++] = NULL;
		pfds[n] = (struct pollfd){.fd = g_listen, .events = POLLIN};
		owner[n++] = NULL;
		size_t first_cli = n;
		for (cli *c = g_clis; c; c = c->next) {
			pfds[n] = (struct pollfd){.fd = c->fd, .events = (short)(POLLIN | (c->out.n ? POLLOUT : 0))};
			owner[n++] = NULL;
		}
		size_t first_proc = n;
		int timeout = -1;
		long long now = now_ms();
		for (proc *p = g_procs; p; p = p->next) {
			if (p->fd_out >= 0)
				pfds[n] = (struct pollfd){.fd = p->fd_out, .events = POLLIN}, owner[n++] = p;
			if (p->fd_err >= 0)
				pfds[n] = (struct pollfd){.fd = p->fd_err, .events = POLLIN}, owner[n++] = p;
			if (p->fd_in >= 0)
				pfds[n] = (struct pollfd){.fd = p->fd_in, .events = POLLOUT}, owner[n++] = p;
			if (p->exited) {
				long long left = p->exit_ms + EXIT_GRACE_MS - now;
				int t = left < 0 ? 0 : (int)left;
				if (timeout < 0 || t < timeout)
					timeout = t;
			}
		}
		size_t first_tcp = n;
		n = tcp_pollfds(pfds, n);
		int k = poll(pfds, (nfds_t)n, timeout);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die("poll failed");
		}
		if (pfds[1].revents) {
			char tmp[64];
			while (read(g_sigpipe[0], tmp, sizeof tmp) > 0) {
			}
		}
		if (pfds[2].revents)
			cli_accept();
		/* clients: match by fd, as cli_read may close and unlink one */
		for (size_t i = first_cli; i < first_proc; i++) {
			if (!pfds[i].revents)
				continue;
			for (cli *c = g_clis; c; c = c->next)
				if (c->fd == pfds[i].fd) {
					if (pfds[i].revents & POLLOUT)
						cli_flush(c);
					if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
						cli_read(c);
					break;
				}
		}
		tcp_ready(pfds, first_tcp, n);
		for (size_t i = first_proc; i < first_tcp; i++) {
			proc *p = owner[i];
			if (!pfds[i].revents)
				continue;
			if (pfds[i].fd == p->fd_out)
				proc_drain(p, &p->fd_out, "stdout");
			else if (pfds[i].fd == p->fd_err)
				proc_drain(p, &p->fd_err, "stderr");
			else if (pfds[i].fd == p->fd_in)
				proc_feed(p);
		}
		if (pfds[0].revents) {
			ssize_t r = read(in_fd, rbuf, sizeof rbuf);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				if (use_stdio) {
					in_eof = 1; /* finish running children, then exit */
				} else {
					/* host side went away: reopen the device */
					close(in_fd);
					usleep(100 * 1000);
					in_fd = g_out = open_device(dev);
				}
				continue;
			}
			size_t start = 0;
			for (size_t i = 0; i < (size_t)r; i++) {
				if (rbuf[i] != '\n')
					continue;
				if (!discarding)
					sb_add(&line, rbuf + start, i - start);
				start = i + 1;
				if (discarding) {
					discarding = 0;
				} else {
					size_t ln = line.n;
					if (ln && line.p[ln - 1] == '\r')
						ln--;
					int blank = 1;
					for (size_t j = 0; j < ln && blank; j++)
						blank = line.p[j] == ' ' || line.p[j] == '\t';
					if (!blank)
						handle_line(line.p, ln);
				}
				sb_trunc(&line, 0);
			}
			if (!discarding && start < (size_t)r)
				sb_add(&line, rbuf + start, (size_t)r - start);
			if (line.n > MAX_LINE) {
				reply_err("null", NULL, "request line too long");
				sb_free(&line);
				discarding = 1;
			}
		}
	}
	return 0;
}
