/*
 * Layerlab guest agent: the contracts between its source files.
 * Every file includes this header; what a file does not declare here is private to it (static).
 * Protocol: vm/agent/PROTOCOL.md. Build: every .c file here except fuzz.c (the libFuzzer harness),
 * gcc -m32 -static -Os -Wall -Wextra (vm/build.sh).
 */
#ifndef LAYERLAB_AGENT_H
#define LAYERLAB_AGENT_H

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
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
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
#define STATE_WAIT_MS 30000    /* a detached run's waitCreated answers after this long at most */
#define STATE_POLL_MS 20       /* ... and looks this often when inotify is unavailable */
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* sbuf.c: Growable string buffer and JSON string output */

typedef struct {
	char *p;
	size_t n, cap;
} sbuf;

void die(const char *msg);
void sb_grow(sbuf *b, size_t add);
void sb_add(sbuf *b, const void *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_putc(sbuf *b, char c);
void sb_trunc(sbuf *b, size_t n);
__attribute__((format(printf, 2, 3))) void sb_printf(sbuf *b, const char *fmt, ...);
void sb_free(sbuf *b);
/* JSON string literal. Bytes that are not valid UTF-8 (possible in file
 * names) are written as \u00XX, i.e. read as Latin-1, so output stays valid JSON. */
void sb_jstr_n(sbuf *b, const char *str, size_t n);
void sb_jstr(sbuf *b, const char *s);

/* base64.c: Base64 */

void sb_b64(sbuf *b, const unsigned char *d, size_t n);
/* Decodes base64 (padding optional). Returns a malloc'd buffer or NULL if invalid. */
unsigned char *b64_decode(const char *s, size_t n, size_t *outlen);

/* reply.c: Errors and output to the host */

extern char g_err[4096];
/* Messages are formatted into a scratch buffer first: callers may pass g_err itself as an argument
 * (wrapping an inner error with the entry's name), and vsnprintf must not read what it writes. */
__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...);
/* Like fail() but appends ": <strerror(errno)>". */
__attribute__((format(printf, 1, 2))) int fail_errno(const char *fmt, ...);
extern int g_out;
void send_msg(sbuf *b);
void reply_ok(const char *id, const sbuf *fields);
void reply_err(const char *id, const char *op, const char *msg);
void send_ready(void);

/* json.c: Minimal JSON parser and request parameter accessors */

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

void *amalloc(size_t n);
void afree_all(void);
extern const char *jerr;
jnode *json_parse(const char *s, size_t n);
jnode *jget(const jnode *o, const char *k);
/* Request parameter accessors: return -1 with g_err set when invalid. */
int p_str(const jnode *o, const char *k, int required, const char **out);
int p_path(const jnode *o, const char *k, const char **out);
int p_int(const jnode *o, const char *k, int required, long long *out, long long def);
/* Array of strings -> NULL-terminated char* array (arena). */
int p_strv(const jnode *o, const char *k, int required, char ***out);
/* Optional base64 parameter; *present tells whether it was given. */
int p_b64(const jnode *o, const char *k, unsigned char **out, size_t *len, int *present);

/* fs.c: Filesystem helpers and ops: cpout, cpin, list, mount, umount, rm, readdir, rename, write, read */

/* Sorted depth-first walk: a directory is reported before its contents and
 * each directory's children come in byte order of their names. With
 * `tar_order`, children sort by the names they get in a layer tar (a whiteout
 * "x" as ".wh.x") and an opaque directory gets a pseudo child ".wh..wh..opq"
 * (marker = 1, st = the directory's stat). `rel` has no leading '/'. */
typedef int (*walk_cb)(void *ctx, const char *rel, const char *full, const struct stat *st, int marker);

/* mkdir -p: creates missing components with `mode`. */
int mkdir_p(const char *path, mode_t mode);
int mkparents(const char *path);
int write_file(const char *path, const void *data, size_t n, mode_t mode, int set_mode);
/* Remove `name` under dirfd recursively, never following symlinks. */
int rm_at(int dirfd, const char *name);
int walk_tree(const char *root, int tar_order, walk_cb cb, void *ctx);
int op_cpout(const jnode *req, sbuf *res);
int op_cpin(const jnode *req, sbuf *res);
int op_list(const jnode *req, sbuf *res);
int op_mount(const jnode *req, sbuf *res);
int op_umount(const jnode *req, sbuf *res);
int op_tmpfs(const jnode *req, sbuf *res);
int op_rm(const jnode *req, sbuf *res);
int op_readdir(const jnode *req, sbuf *res);
/* rename: move a finished upperdir into place as a layer dir (same tmpfs, so it is instant) */
int op_rename(const jnode *req, sbuf *res);
int op_write(const jnode *req, sbuf *res);
int op_read(const jnode *req, sbuf *res);

/* tar.c: Tar format helpers and op pack */

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

/* Numeric header field: octal (space/NUL terminated) or GNU base-256. */
int tar_num(const unsigned char *f, size_t n, uint64_t *out);
void tar_checksums(const unsigned char *h, unsigned long *u, long *s);
/* Normalizes a tar member name in place: strips leading '/' and "./", drops
 * "." and empty components. Returns -1 if a ".." component is present. */
int clean_path(char *p);
int wr_flush(pack_t *w);
int wr_put(pack_t *w, const void *d, size_t n);
int pack_cb(void *ctx, const char *rel, const char *full, const struct stat *st, int marker);
int op_pack(const jnode *req, sbuf *res);

/* unpack.c: op unpack */

typedef struct {
	int fd;
	uint64_t off;
	size_t pos, len;
	unsigned char buf[65536];
} rd_t;
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

void unpack_reset_pending(unpack_t *u);
/* The cached parent may have been replaced (e.g. dir -> file): forget it. */
void parent_cache_drop(unpack_t *u);
int unpack_run(unpack_t *u);
int op_unpack(const jnode *req, sbuf *res);

/* process.c: Child processes (crun): run, spawn, signal, delete */

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
	/* detached `run` with waitCreated: the final reply waits for crun's state (or crun's exit, or the deadline) */
	int awaiting_state, state_wd;
	long long state_deadline;
	struct proc *next;
} proc;

extern proc *g_procs;
extern int g_sigpipe[2];
long long now_ms(void);
void on_sigchld(int sig);
/* Read once from a child's pipe; closes it at EOF. */
void proc_drain(proc *p, int *fdp, const char *stream);
void proc_feed(proc *p);
int exit_code(int status);
void reap_children(void);
/* Finish processes that exited and whose output is drained (or whose
 * pipes are held open by a leftover grandchild past the grace period). */
void finish_done(void);
int op_spawn(const jnode *req, const char *id);
int op_run(const jnode *req, const char *id, sbuf *res);
int op_signal(const jnode *req, const char *id);
int op_delete(const jnode *req, const char *id);
/* Detached runs waiting for crun's state: the inotify fd to poll (-1 when none wait), the poll timeout
 * their deadlines allow (-1: none), and the check that answers those whose state exists, whose crun
 * exited, or whose deadline passed. */
int state_wait_fd(void);
int state_wait_timeout(long long now);
void state_wait_check(void);

/* docker.c: The guest docker command: socket bridge and client */

/* Each connected `docker` client is a cid. Lines from the client become
 * host events; host notifications (cli-output/-exit/-exec) become lines to
 * the client, buffered so a client that stops reading cannot block us. */
typedef struct cli {
	int fd, cid, started, finished;
	sbuf in, out;
	char *ref; /* raw JSON of the pending cli-exec's ref */
	struct cli *next;
} cli;

extern cli *g_clis;
extern int g_listen;
const char *docker_sock_path(int agent_stdio);
void cli_listen(const char *path);
void cli_accept(void);
void cli_flush(cli *c);
void cli_read(cli *c);
/* Host -> guest notification for a client (a message with "op" and no "id"). */
int cli_notify(const jnode *m, const char *op);
int docker_main(int argc, char **argv);

/* tcp.c: TCP relay: tcp-connect, tcp-send, tcp-close */

int op_tcp_connect(const jnode *req, sbuf *res);
int op_tcp_send(const jnode *req, const char *id);
int op_tcp_close(const jnode *req, sbuf *res);
size_t tcp_count(void);
/* Adds the connections' poll entries at pfds[n...]; returns the new count. */
size_t tcp_pollfds(struct pollfd *pfds, size_t n);
void tcp_ready(const struct pollfd *pfds, size_t from, size_t to);

/* net.c: Container network attach (netlink) */

int net_attach_main(int argc, char **argv);
/* After a restore, without starting a program (each costs a fraction of a second under emulation):
 * `clock` sets the wall clock, `link` takes a network interface up or down. */
int op_clock(const jnode *req, sbuf *res);
int op_link(const jnode *req, sbuf *res);

/* devices.c: Docker's device rules on the containers' parent cgroup: `layerlab-cgroup-devices` */

int cgroup_devices_main(int argc, char **argv);

#endif
