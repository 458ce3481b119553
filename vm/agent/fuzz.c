/*
 * libFuzzer harness for the agent's input parsers: the request JSON parser and the layer tar reader
 * (headers, pax records, GNU long names, path cleaning, the unpack into a directory).
 * The agent's own sources are included (all but main.c), so there is one implementation; the parsers' private
 * functions are reachable because it is one translation unit.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -o fuzz vm/agent/fuzz.c
 *   LAYERLAB_FUZZ_ROOT=R ./fuzz -runs=100000 -seed_inputs=/seeds/a.tar,/seeds/b.json -artifact_prefix=/artifacts/
 *   (R/seeds/ holds the seeds; crash inputs land in R/artifacts/)
 *
 * The first input byte picks the target: 0 JSON request, 1 tar archive, 2 pax header body.
 * Tar archives are unpacked for real, as root, into a tmpfs under LAYERLAB_FUZZ_ROOT, which the harness
 * chroots into (in a private mount namespace) before anything else: whatever a bug in the unpacker did, it could not reach the host's files (so seed
 * and artifact paths are given inside that root). Header checksums are
 * not verified in this build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION), or random inputs would rarely get
 * past the first header.
 */
#include "sbuf.c"
#include "base64.c"
#include "reply.c"
#include "json.c"
#include "fs.c"
#include "tar.c"
#include "unpack.c"
#include "process.c"
#include "docker.c"
#include "tcp.c"
#include "net.c"
#include <sched.h>
#include <sys/mman.h>

static int g_rootfd = -1;

static void enter_root(void)
{
	if (g_rootfd >= 0)
		return;
	const char *root = getenv("LAYERLAB_FUZZ_ROOT");
	char work[PATH_MAX], proc[PATH_MAX];
	if (!root || !*root || snprintf(work, sizeof work, "%s/work", root) >= (int)sizeof work ||
	    snprintf(proc, sizeof proc, "%s/proc", root) >= (int)sizeof proc) {
		fprintf(stderr, "fuzz: set LAYERLAB_FUZZ_ROOT to a directory to chroot into (as root)\n");
		abort();
	}
	/* A private mount namespace: a tmpfs for the unpacked trees (fast, gone at exit) and /proc, which
	 * LeakSanitizer reads at exit. Then the chroot. */
	mkdir(work, 0755), mkdir(proc, 0555);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", work, "tmpfs", 0, "size=64m") || mount("proc", proc, "proc", 0, NULL) || chroot(root) ||
	    chdir("/")) {
		fprintf(stderr, "fuzz: setting up %s: %s\n", root, strerror(errno));
		abort();
	}
	g_rootfd = open("/work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_rootfd < 0)
		abort();
}

static void fuzz_json(const uint8_t *d, size_t n)
{
	jnode *m = json_parse((const char *)d, n);
	if (m) {
		/* the accessors every op uses */
		const char *s;
		long long i;
		char **v;
		unsigned char *b;
		size_t bl;
		int present;
		p_str(m, "op", 1, &s);
		p_path(m, "path", &s);
		p_int(m, "id", 0, &i, 0);
		p_strv(m, "argv", 0, &v);
		if (!p_b64(m, "data", &b, &bl, &present) && present)
			free(b);
	}
	afree_all();
}

static void fuzz_tar(const uint8_t *d, size_t n)
{
	int fd = memfd_create("tar", MFD_CLOEXEC);
	if (fd < 0 || write(fd, d, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET))
		abort();
	rm_at(g_rootfd, "d");
	if (mkdirat(g_rootfd, "d", 0755))
		abort();
	unpack_t u = {.tar = "fuzz.tar", .dest = "/work/d", .destfd = -1, .cache_fd = -1};
	rd_t *rd = calloc(1, sizeof *rd);
	if (!rd)
		abort();
	rd->fd = fd;
	u.rd = rd;
	u.destfd = openat(g_rootfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.destfd < 0)
		abort();
	unpack_run(&u);
	parent_cache_drop(&u);
	unpack_reset_pending(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].rel);
	free(u.dirs);
	close(u.destfd);
	close(fd);
	free(rd);
	/* nothing may appear next to the destination */
	DIR *top = fdopendir(dup(g_rootfd));
	struct dirent *e;
	while (top && (e = readdir(top)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "d")) {
			fprintf(stderr, "fuzz: the archive wrote \"%s\" outside its destination\n", e->d_name);
			abort();
		}
	if (top)
		closedir(top);
}

static void fuzz_pax(const uint8_t *d, size_t n)
{
	char *b = malloc(n + 1);
	if (!b)
		abort();
	memcpy(b, d, n);
	b[n] = 0;
	unpack_t u = {0};
	const char *refused = NULL;
	parse_pax(&u, b, n, 0, &refused);
	unpack_reset_pending(&u);
	memcpy(b, d, n);
	parse_pax(&u, b, n, 1, &refused);
	unpack_reset_pending(&u);
	free(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	enter_root();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (!n)
		return 0;
	switch (d[0] % 3) {
	case 0: fuzz_json(d + 1, n - 1); break;
	case 1: fuzz_tar(d + 1, n - 1); break;
	case 2: fuzz_pax(d + 1, n - 1); break;
	}
	return 0;
}
