/* Layerlab guest agent: Filesystem helpers and ops: cpout, cpin, list, mount, umount, rm, readdir, rename, write, read. Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Filesystem helpers                                                   */
/* ------------------------------------------------------------------ */

int mkdir_p(const char *path, mode_t mode)
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

int mkparents(const char *path)
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

int write_file(const char *path, const void *data, size_t n, mode_t mode, int set_mode)
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

int rm_at(int dirfd, const char *name)
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

int walk_tree(const char *root, int tar_order, walk_cb cb, void *ctx)
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

int op_cpout(const jnode *req, sbuf *res)
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

int op_cpin(const jnode *req, sbuf *res)
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

int op_list(const jnode *req, sbuf *res)
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

int op_mount(const jnode *req, sbuf *res)
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

/* A size-limited tmpfs at target (made if missing); a target that is already a mountpoint is left as it is. */
int op_tmpfs(const jnode *req, sbuf *res)
{
	(void)res;
	const char *target;
	long long bytes;
	if (p_path(req, "target", &target) || p_int(req, "bytes", 1, &bytes, 0))
		return -1;
	if (bytes <= 0)
		return fail("parameter \"bytes\" must be positive");
	if (mkdir_p(target, 0755))
		return -1;
	char *parent = path_trim(target);
	char *sl = strrchr(parent, '/');
	if (sl)
		*(sl == parent ? sl + 1 : sl) = 0;
	struct stat here, above;
	int r = 0;
	if (stat(target, &here) || stat(parent, &above))
		r = fail_errno("%s: stat", target);
	else if (here.st_dev == above.st_dev) {
		char opt[64];
		snprintf(opt, sizeof opt, "size=%lld,mode=0755", bytes);
		if (mount("tmpfs", target, "tmpfs", 0, opt))
			r = fail_errno("%s: mount tmpfs", target);
	}
	free(parent);
	return r;
}

int op_umount(const jnode *req, sbuf *res)
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

int op_rm(const jnode *req, sbuf *res)
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

int op_readdir(const jnode *req, sbuf *res)
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

int op_rename(const jnode *req, sbuf *res)
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

int op_write(const jnode *req, sbuf *res)
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

int op_read(const jnode *req, sbuf *res)
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
