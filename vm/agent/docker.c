/* Layerlab guest agent: The guest docker command: socket bridge and client. Contracts in agent.h. */
#include "agent.h"

/* The guest `docker` command: socket bridge (agent side)               */
/* ------------------------------------------------------------------ */

cli *g_clis;
int g_listen = -1;
static int g_next_cid = 1;
const char *docker_sock_path(int agent_stdio)
{
	const char *s = getenv("LAYERLAB_DOCKER_SOCK");
	if (s && *s)
		return s;
	return agent_stdio ? NULL : "/run/layerlab/docker.sock";
}

void cli_listen(const char *path)
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

void cli_accept(void)
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

void cli_flush(cli *c)
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
		sb_printf(&b, ",\"cols\":%d,\"rows\":%d", ncols, nrows);
		/* `build --secret …,env=VAR`: the client's variables it names (strings only, at most 32). */
		jnode *env = jget(m, "env");
		if (env && env->t == J_OBJ) {
			int n = 0;
			sb_puts(&b, ",\"env\":{");
			for (jnode *e = env->kid; e && n < 32; e = e->next) {
				if (e->t != J_STR || !e->key)
					continue;
				if (n++)
					sb_putc(&b, ',');
				sb_jstr_n(&b, e->key, e->klen);
				sb_putc(&b, ':');
				sb_jstr_n(&b, e->s, e->len);
			}
			sb_putc(&b, '}');
		}
		sb_putc(&b, '}');
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

void cli_read(cli *c)
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

int cli_notify(const jnode *m, const char *op)
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

static volatile sig_atomic_t g_winch;

static void on_winch(int sig)
{
	(void)sig;
	g_winch = 1;
}

/* Whether `pid` is `ancestor` or descends from it (ppid chain in /proc). */
static int descends_from(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; pid > 1 && depth < 16; depth++) {
		if (pid == ancestor)
			return 1;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = 0;
		char *end = strrchr(buf, ')'); /* comm may hold spaces and parens */
		int ppid = 0;
		if (!end || sscanf(end + 1, " %*c %d", &ppid) != 1)
			return 0;
		pid = ppid;
	}
	return 0;
}

/*
 * `run -it`/`exec -it`: crun gives the container its own pty but does not pass our terminal's size on.
 * Copy it (TIOCGWINSZ on our tty) to every pty that a process under `child` has as stdin, reached through
 * /proc/PID/fd/0 (the same pty, opened from outside the container). Called at start and on SIGWINCH, so
 * `stty size` in the container follows the learner's terminal. Returns how many ptys it sized.
 */
static int copy_winsize(pid_t child)
{
	struct winsize ws;
	if (ioctl(1, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return 0;
	char self[PATH_MAX] = "";
	ssize_t sl = readlink("/proc/self/fd/1", self, sizeof self - 1);
	self[sl > 0 ? sl : 0] = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int sized = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == child || !descends_from(pid, child))
			continue;
		char path[64], target[PATH_MAX];
		snprintf(path, sizeof path, "/proc/%d/fd/0", (int)pid);
		ssize_t tl = readlink(path, target, sizeof target - 1);
		if (tl <= 0)
			continue;
		target[tl] = 0;
		if (strncmp(target, "/dev/pts/", 9) || !strcmp(target, self))
			continue;
		int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct winsize cur;
		if (!ioctl(fd, TIOCGWINSZ, &cur) && (cur.ws_row != ws.ws_row || cur.ws_col != ws.ws_col))
			ioctl(fd, TIOCSWINSZ, &ws);
		sized++;
		close(fd);
	}
	closedir(d);
	return sized;
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
	/*
	 * The container's pty gets our size once it exists (looked for every 10 ms for up to 5 s), then after
	 * every SIGWINCH. The wait polls (10 ms, then 100 ms) rather than blocking in waitpid, so a SIGWINCH
	 * that lands just before the wait (stty sets rows, then columns: two in a row) is never lost.
	 */
	struct sigaction winch = {.sa_handler = on_winch}, owinch;
	sigaction(SIGWINCH, &winch, &owinch);
	int st = 0, sized = 0;
	for (int polls = 0; pid > 0;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (g_winch) {
			g_winch = 0;
			copy_winsize(pid);
		}
		if (!sized && polls < 500) {
			polls++;
			sized = copy_winsize(pid) > 0;
		}
		struct timespec pause = {0, (sized || polls >= 500 ? 100 : 10) * 1000 * 1000};
		if (!g_winch)
			nanosleep(&pause, NULL);
	}
	sigaction(SIGWINCH, &owinch, NULL);
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	return pid < 0 ? 127 : exit_code(st);
}

/* The variable a `--secret` spec reads: env=NAME, type=env's src=NAME, or (neither src nor env) the id. */
static int secret_env_name(const char *spec, char *name, size_t size)
{
	char id[256] = "", env[256] = "", src[256] = "";
	int is_env = 0;
	const char *p = spec;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
			char *dst = NULL;
			if (klen == 2 && !strncmp(p, "id", 2))
				dst = id;
			else if (klen == 3 && !strncmp(p, "env", 3))
				dst = env;
			else if ((klen == 3 && !strncmp(p, "src", 3)) || (klen == 6 && !strncmp(p, "source", 6)))
				dst = src;
			else if (klen == 4 && !strncmp(p, "type", 4))
				is_env = vlen == 3 && !strncmp(eq + 1, "env", 3);
			if (dst && vlen < 256) {
				memcpy(dst, eq + 1, vlen);
				dst[vlen] = 0;
			}
		}
		p += n + (end ? 1 : 0);
	}
	const char *pick = env[0] ? env : is_env && src[0] ? src : !src[0] ? id : "";
	if (!pick[0] || strlen(pick) >= size)
		return 0;
	strcpy(name, pick);
	return 1;
}

/* Adds `"env":{…}` with the values of the variables `build --secret` names (the host sees no others). */
static void add_secret_env(sbuf *b, int argc, char **argv)
{
	int n = 0;
	for (int i = 1; i < argc; i++) {
		const char *spec = !strcmp(argv[i], "--secret") && i + 1 < argc ? argv[i + 1]
				   : !strncmp(argv[i], "--secret=", 9)	? argv[i] + 9
									: NULL;
		char name[256];
		const char *value;
		if (!spec || !secret_env_name(spec, name, sizeof name) || !(value = getenv(name)))
			continue;
		sb_puts(b, n++ ? "," : ",\"env\":{");
		sb_jstr(b, name);
		sb_putc(b, ':');
		sb_jstr(b, value);
	}
	if (n)
		sb_putc(b, '}');
}

int docker_main(int argc, char **argv)
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
	sb_printf(&b, ",\"tty\":%s,\"cols\":%d,\"rows\":%d", tty ? "true" : "false", ws.ws_col ? ws.ws_col : 80,
		  ws.ws_row ? ws.ws_row : 24);
	add_secret_env(&b, argc, argv);
	sb_puts(&b, "}\n");
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
