/* Layerlab guest agent: Minimal JSON parser and request parameter accessors. Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Minimal JSON parser (per-request arena, freed after dispatch)        */
/* ------------------------------------------------------------------ */

static struct {
	void **p;
	size_t n, cap;
} g_arena;

void *amalloc(size_t n)
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

void afree_all(void)
{
	for (size_t i = 0; i < g_arena.n; i++)
		free(g_arena.p[i]);
	g_arena.n = 0;
}

static const char *jp, *je;
const char *jerr;
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

jnode *json_parse(const char *s, size_t n)
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

jnode *jget(const jnode *o, const char *k)
{
	size_t kl = strlen(k);
	if (!o || o->t != J_OBJ)
		return NULL;
	for (jnode *c = o->kid; c; c = c->next)
		if (c->klen == kl && !memcmp(c->key, k, kl))
			return c;
	return NULL;
}

int p_str(const jnode *o, const char *k, int required, const char **out)
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

int p_path(const jnode *o, const char *k, const char **out)
{
	if (p_str(o, k, 1, out))
		return -1;
	if ((*out)[0] != '/')
		return fail("parameter \"%s\" must be an absolute path: %s", k, *out);
	return 0;
}

int p_int(const jnode *o, const char *k, int required, long long *out, long long def)
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

int p_strv(const jnode *o, const char *k, int required, char ***out)
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

int p_b64(const jnode *o, const char *k, unsigned char **out, size_t *len, int *present)
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
