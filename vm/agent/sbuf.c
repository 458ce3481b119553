/* Layerlab guest agent: Growable string buffer and JSON string output. Contracts in agent.h. */
#include "agent.h"

extern char **environ;

void die(const char *msg)
{
	fprintf(stderr, "agent: %s\n", msg);
	exit(1);
}

/* ------------------------------------------------------------------ */
/* Growable string buffer (always NUL-terminated)                      */
/* ------------------------------------------------------------------ */

void sb_grow(sbuf *b, size_t add)
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

void sb_add(sbuf *b, const void *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
void sb_putc(sbuf *b, char c) { sb_add(b, &c, 1); }

void sb_trunc(sbuf *b, size_t n)
{
	b->n = n;
	if (b->p)
		b->p[n] = 0;
}

__attribute__((format(printf, 2, 3))) void sb_printf(sbuf *b, const char *fmt, ...)
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

void sb_free(sbuf *b)
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

void sb_jstr_n(sbuf *b, const char *str, size_t n)
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

void sb_jstr(sbuf *b, const char *s) { sb_jstr_n(b, s, strlen(s)); }
