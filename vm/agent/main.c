/*
 * Layerlab guest agent: executes the engine's requests inside the VM. This file: request dispatch and main loop.
 *
 * Protocol: vm/agent/PROTOCOL.md (newline-delimited JSON over /dev/hvc0).
 * Build:    gcc -m32 -static -Os -Wall -Wextra -o agent, every .c file in vm/agent but fuzz.c (vm/build.sh)
 * Sources:  one file per part (json, base64, tar, fs, process, docker, tcp, net); agent.h holds their contracts.
 * Options:  --stdio (use stdin/stdout, for host-side tests), --device PATH.
 * Invoked as `docker` (symlink), it is the guest's docker client instead:
 * it talks to the agent over /run/layerlab/docker.sock ($LAYERLAB_DOCKER_SOCK).
 *
 * Single-threaded poll() loop. Fork+exec is expensive under emulation (~8 ms),
 * so tar, walks, mounts, xattrs and rm run in-process; only run/signal/delete
 * (crun) and spawn start programs, via posix_spawn (vfork-like, cheap).
 */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Request dispatch                                                     */
/* ------------------------------------------------------------------ */

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
	else if (!strcmp(op, "tmpfs")) r = op_tmpfs(req, &res);
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
	else if (!strcmp(op, "clock")) r = op_clock(req, &res);
	else if (!strcmp(op, "link")) r = op_link(req, &res);
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
	if (!strcmp(self ? self + 1 : argv[0], "layerlab-cgroup-devices"))
		return cgroup_devices_main(argc, argv);
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
		state_wait_check();
		finish_done();
		if (in_eof && !g_procs)
			break;

		size_t n = 0, need = 4;
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
		pfds[n] = (struct pollfd){.fd = state_wait_fd(), .events = POLLIN};
		owner[n++] = NULL;
		size_t first_cli = n;
		for (cli *c = g_clis; c; c = c->next) {
			pfds[n] = (struct pollfd){.fd = c->fd, .events = (short)(POLLIN | (c->out.n ? POLLOUT : 0))};
			owner[n++] = NULL;
		}
		size_t first_proc = n;
		long long now = now_ms();
		int timeout = state_wait_timeout(now);
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
