/* Layerlab guest agent: op unpack. Contracts in agent.h. */
#include "agent.h"

/* op unpack: tar file -> overlay lower dir                             */
/* ------------------------------------------------------------------ */

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

void unpack_reset_pending(unpack_t *u)
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

void parent_cache_drop(unpack_t *u)
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

int unpack_run(unpack_t *u)
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

int op_unpack(const jnode *req, sbuf *res)
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
