/* Layerlab guest agent: Tar format helpers and op pack. Contracts in agent.h. */
#include "agent.h"

/* Tar format helpers                                                   */
/* ------------------------------------------------------------------ */

int tar_num(const unsigned char *f, size_t n, uint64_t *out)
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

void tar_checksums(const unsigned char *h, unsigned long *u, long *s)
{
	*u = 0, *s = 0;
	for (int i = 0; i < 512; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
		*u += c;
		*s += (signed char)c;
	}
}

int clean_path(char *p)
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
/* op pack: dir (e.g. an upperdir) -> OCI layer tar                     */
/* ------------------------------------------------------------------ */

int wr_flush(pack_t *w)
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

int wr_put(pack_t *w, const void *d, size_t n)
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

int pack_cb(void *ctx, const char *rel, const char *full, const struct stat *st, int marker)
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

int op_pack(const jnode *req, sbuf *res)
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
