/* Layerlab guest agent: Child processes (crun): run, spawn, signal, delete. Contracts in agent.h. */
#include "agent.h"

/* Child processes: run / spawn / signal / delete                       */
/* ------------------------------------------------------------------ */

proc *g_procs;
int g_sigpipe[2] = {-1, -1};

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void on_sigchld(int sig)
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

/* crun's state root (`crun --root`'s default); host tests point this at a directory of their own */
static const char *crun_state_root(void)
{
	const char *r = getenv("LAYERLAB_CRUN_STATE");
	return r && *r ? r : "/run/crun";
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
	p->state_wd = -1;
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

void proc_drain(proc *p, int *fdp, const char *stream)
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

void proc_feed(proc *p)
{
	ssize_t k = write(p->fd_in, p->in + p->inoff, p->inlen - p->inoff);
	if (k > 0)
		p->inoff += (size_t)k;
	if ((k < 0 && errno != EAGAIN && errno != EINTR) || p->inoff == p->inlen) {
		close(p->fd_in); /* EOF for the child (or it stopped reading: EPIPE) */
		p->fd_in = -1;
	}
}

int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void state_wait_answer(proc *p, int created);

static void proc_finish(proc *p)
{
	int code = exit_code(p->status);
	sbuf b = {0};
	if (p->awaiting_state)
		state_wait_answer(p, 0);
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

void reap_children(void)
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

void finish_done(void)
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

int op_spawn(const jnode *req, const char *id)
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

int op_run(const jnode *req, const char *id, sbuf *res)
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
	jnode *wc = jget(req, "waitCreated");
	if (wc && wc->t != J_BOOL && wc->t != J_NULL)
		return fail("parameter \"waitCreated\" must be a boolean");
	int wait_created = wc && wc->t == J_BOOL && wc->b;
	if (wait_created && !detach)
		return fail("parameter \"waitCreated\" needs \"detach\": true");
	long long nice = 0;
	if (p_int(req, "nice", 0, &nice, 0))
		return -1;
	if (nice < 0 || nice > 19)
		return fail("parameter \"nice\" must be 0-19");
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
	/* Set from here, before the child's first turn (the parent runs on after a fork): crun and the
	 * container's processes inherit it. */
	if (nice)
		setpriority(PRIO_PROCESS, (id_t)p->pid, (int)nice);
	if (!detach)
		return 1;
	if (wait_created) {
		p->awaiting_state = 1;
		p->state_deadline = now_ms() + STATE_WAIT_MS;
		state_wait_check();
		return 1;
	}
	sb_printf(res, ",\"pid\":%d", (int)p->pid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Waiting for crun's state (run with waitCreated)                      */
/* ------------------------------------------------------------------ */

/* crun writes <root>/<name>/status (status.tmp renamed) once the container exists: after its createRuntime
 * hooks, before the process starts. inotify wakes the agent when a directory on the way appears and when
 * the file is renamed into place, so the wait costs no host round trips and no timer ticks. */
static int g_inotify = -1;

static void state_wait_answer(proc *p, int created)
{
	sbuf b = {0};
	sb_printf(&b, ",\"pid\":%d,\"created\":%s", (int)p->pid, created ? "true" : "false");
	reply_ok(p->id, &b);
	sb_free(&b);
	p->awaiting_state = 0;
	/* a crun that exited may have removed the dir, and with it the watch (its number free for reuse) */
	if (p->state_wd >= 0 && g_inotify >= 0 && (created || !p->exited))
		inotify_rm_watch(g_inotify, p->state_wd);
	p->state_wd = -1;
}

/* Watches the deepest existing directory on the way to <root>/<name>/status; 0 once the file exists. */
static int state_missing(proc *p)
{
	const char *root = crun_state_root();
	sbuf dir = {0}, file = {0};
	sb_printf(&dir, "%s/%s", root, p->name);
	sb_printf(&file, "%s/status", dir.p);
	if (g_inotify < 0)
		g_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (g_inotify >= 0 && p->state_wd < 0) {
		p->state_wd = inotify_add_watch(g_inotify, dir.p, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
		if (p->state_wd < 0) {
			/* not there yet: its parent's IN_CREATE tells when (the root itself may not exist before the
			 * first container); these shared watches stay, they only fire when crun makes a state dir */
			char parent[PATH_MAX];
			snprintf(parent, sizeof parent, "%s", root);
			char *slash = strrchr(parent, '/');
			if (slash)
				slash[slash == parent] = 0;
			if (inotify_add_watch(g_inotify, root, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
				inotify_add_watch(g_inotify, parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		}
	}
	/* looked at after the watches are in place, so a file that appears in between is not missed */
	struct stat st;
	int missing = stat(file.p, &st) != 0;
	sb_free(&dir), sb_free(&file);
	return missing;
}

static int state_waiting(void)
{
	for (proc *p = g_procs; p; p = p->next)
		if (p->awaiting_state)
			return 1;
	return 0;
}

int state_wait_fd(void)
{
	return state_waiting() ? g_inotify : -1;
}

int state_wait_timeout(long long now)
{
	int timeout = -1;
	for (proc *p = g_procs; p; p = p->next)
		if (p->awaiting_state) {
			long long left = p->state_deadline - now;
			int t = left < 0 ? 0 : left > STATE_WAIT_MS ? STATE_WAIT_MS : (int)left;
			if (g_inotify < 0 && t > STATE_POLL_MS)
				t = STATE_POLL_MS; /* no inotify: look again soon */
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
	return timeout;
}

void state_wait_check(void)
{
	if (!state_waiting())
		return; /* events queued meanwhile are drained by the next wait */
	if (g_inotify >= 0) {
		static char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(g_inotify, events, sizeof events) > 0) {
		}
	}
	long long now = now_ms();
	for (proc *p = g_procs; p; p = p->next) {
		if (!p->awaiting_state)
			continue;
		if (!state_missing(p))
			state_wait_answer(p, 1);
		else if (p->exited || now >= p->state_deadline)
			state_wait_answer(p, 0); /* crun is gone (its exit event follows) or took too long */
	}
}

int op_signal(const jnode *req, const char *id)
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

int op_delete(const jnode *req, const char *id)
{
	const char *name;
	if (p_str(req, "name", 1, &name) || check_name(name))
		return -1;
	char *argv[] = {(char *)crun_path(), "delete", "-f", (char *)name, NULL};
	return proc_start(argv, environ, NULL, NULL, 0, 0, P_COLLECT, id, "delete", name) ? 1 : -1;
}

/* ------------------------------------------------------------------ */
