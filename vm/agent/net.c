/* Layerlab guest agent: Container network attach (netlink). Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Container network attach (netlink): `layerlab-net-attach`            */
/* ------------------------------------------------------------------ */

/* Run by crun as an OCI createRuntime hook (argv[0] layerlab-net-attach, the OCI state on stdin):
 *   layerlab-net-attach PID|-|NSFILE BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]
 *   layerlab-net-attach --new NSFILE BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]
 * Makes a veth pair whose container end is created directly in the network namespace of PID (or the one
 * bound at NSFILE, an absolute path) as IFNAME (with MAC), puts the host end on BRIDGE, then inside the
 * namespace: lo and IFNAME up, ADDR, and a default route via GATEWAY. With --new, the namespace is made
 * first and bound at NSFILE: one made ahead of its container (the engine's prepared-netns.ts), which lives
 * until NSFILE is unmounted and no process is in it. Netlink in-process: the same wiring with busybox `ip`
 * costs a dozen program starts, seconds under emulation. Exit 0 on success; errors on stderr (crun shows
 * them). */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>

typedef struct {
	struct nlmsghdr h;
	char buf[2048];
} nlmsg_t;

static unsigned g_nlseq;

static void nl_init(nlmsg_t *m, int type, int flags, const void *hdr, size_t hdrlen)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_type = (unsigned short)type;
	m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_len = (unsigned)NLMSG_LENGTH(hdrlen);
	memcpy(NLMSG_DATA(&m->h), hdr, hdrlen);
}

static struct rtattr *nl_attr(nlmsg_t *m, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)&m->h + NLMSG_ALIGN(m->h.nlmsg_len));
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_end(nlmsg_t *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)&m->h + m->h.nlmsg_len - (char *)nest);
}

/* Sends one request on a fresh socket (a socket belongs to the namespace it was made in); 0 or -errno. */
static int nl_talk(nlmsg_t *m)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	m->h.nlmsg_seq = ++g_nlseq;
	int r = -EIO;
	if (send(fd, &m->h, m->h.nlmsg_len, 0) == (ssize_t)m->h.nlmsg_len) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)NLMSG_HDRLEN && NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR)
			r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	close(fd);
	return r;
}

static int link_up(const char *ifname, unsigned master)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	ifi.ifi_index = (int)if_nametoindex(ifname);
	if (!ifi.ifi_index)
		return -ENODEV;
	nlmsg_t m;
	nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	if (master)
		nl_attr(&m, IFLA_MASTER, &master, sizeof master);
	return nl_talk(&m);
}

static int net_attach_fail(const char *what, int err)
{
	fprintf(stderr, "layerlab-net-attach: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* A new network namespace bound at `path` (created empty first), this process back in its own after. */
static int new_netns(const char *path)
{
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return net_attach_fail("/proc/self/ns/net", errno);
	int fd = mkparents(path) ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return net_attach_fail(path, errno);
	close(fd);
	if (unshare(CLONE_NEWNET) || mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL)) {
		int e = errno;
		unlink(path);
		return net_attach_fail("a new network namespace", e);
	}
	if (setns(own, CLONE_NEWNET))
		return net_attach_fail("back to the VM's network namespace", errno);
	close(own);
	return 0;
}

int net_attach_main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--new")) {
		if (argc < 7 || argv[2][0] != '/') {
			fprintf(stderr, "usage: layerlab-net-attach --new NSFILE BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]\n");
			return 2;
		}
		if (new_netns(argv[2]))
			return 1;
		argv++;
		argc--;
		int r = net_attach_main(argc, argv);
		if (r) {
			umount2(argv[1], MNT_DETACH);
			unlink(argv[1]);
		}
		return r;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: layerlab-net-attach [--new] PID|-|NSFILE BRIDGE IFNAME ADDR/PREFIX MAC [GATEWAY]\n");
		return 2;
	}
	long pid = 0;
	const char *nsfile = argv[1][0] == '/' ? argv[1] : NULL;
	if (nsfile) {
		/* named by the file: no process */
	} else if (!strcmp(argv[1], "-")) {
		static char state[65536];
		size_t n = fread(state, 1, sizeof state - 1, stdin);
		state[n] = 0;
		const char *p = strstr(state, "\"pid\"");
		if (p && (p = strchr(p, ':')))
			pid = strtol(p + 1, NULL, 10);
	} else {
		pid = strtol(argv[1], NULL, 10);
	}
	if (!nsfile && pid <= 0) {
		fprintf(stderr, "layerlab-net-attach: no process id (argument or OCI state on stdin)\n");
		return 2;
	}
	char ns[PATH_MAX];
	if (nsfile)
		snprintf(ns, sizeof ns, "%s", nsfile);
	else
		snprintf(ns, sizeof ns, "/proc/%ld/ns/net", pid);
	int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return net_attach_fail(ns, errno);
	const char *bridge = argv[2], *ifname = argv[3], *mac_text = argv[5], *gw_text = argc > 6 ? argv[6] : NULL;
	char addr_text[64];
	snprintf(addr_text, sizeof addr_text, "%s", argv[4]);
	char *slash = strchr(addr_text, '/');
	int prefix = slash ? atoi(slash + 1) : 32;
	if (slash)
		*slash = 0;
	struct in_addr addr, gw;
	unsigned char mac[6];
	if (inet_pton(AF_INET, addr_text, &addr) != 1 || prefix < 1 || prefix > 32)
		return net_attach_fail(argv[4], EINVAL);
	if (gw_text && inet_pton(AF_INET, gw_text, &gw) != 1)
		return net_attach_fail(gw_text, EINVAL);
	if (sscanf(mac_text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		return net_attach_fail(mac_text, EINVAL);
	unsigned master = if_nametoindex(bridge);
	if (!master)
		return net_attach_fail(bridge, ENODEV);

	/* The host end's name: unique while the process (or the namespace file) lives (IFNAMSIZ allows 15
	 * characters). A namespace file's name is its last path component. */
	char host_if[64], owner[32];
	if (nsfile)
		snprintf(owner, sizeof owner, "%s", strrchr(nsfile, '/') + 1);
	else
		snprintf(owner, sizeof owner, "%ld", pid);
	snprintf(host_if, sizeof host_if, "veth%s%s", owner, ifname + strcspn(ifname, "0123456789"));
	host_if[IFNAMSIZ - 1] = 0;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	nlmsg_t m;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr(&m, IFLA_IFNAME, host_if, strlen(host_if) + 1);
	struct rtattr *linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, "veth", 4);
	struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = nl_attr(&m, VETH_INFO_PEER, &ifi, sizeof ifi);
	nl_attr(&m, IFLA_IFNAME, ifname, strlen(ifname) + 1);
	nl_attr(&m, IFLA_ADDRESS, mac, sizeof mac);
	unsigned ns_ref = (unsigned)nsfd;
	nl_attr(&m, IFLA_NET_NS_FD, &ns_ref, sizeof ns_ref);
	nl_end(&m, peer);
	nl_end(&m, data);
	nl_end(&m, linkinfo);
	int r = nl_talk(&m);
	if (r)
		return net_attach_fail("creating the veth pair", r);
	if ((r = link_up(host_if, master)))
		return net_attach_fail(host_if, r);

	if (setns(nsfd, CLONE_NEWNET))
		return net_attach_fail(ns, errno);
	close(nsfd);
	if ((r = link_up("lo", 0)) || (r = link_up(ifname, 0)))
		return net_attach_fail("bringing the container's interfaces up", r);
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = if_nametoindex(ifname)};
	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	nl_attr(&m, IFA_LOCAL, &addr, sizeof addr);
	nl_attr(&m, IFA_ADDRESS, &addr, sizeof addr);
	struct in_addr brd = {.s_addr = addr.s_addr | htonl(prefix == 32 ? 0 : 0xffffffffu >> prefix)};
	nl_attr(&m, IFA_BROADCAST, &brd, sizeof brd);
	if ((r = nl_talk(&m)))
		return net_attach_fail(argv[4], r);
	if (gw_text) {
		struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
		nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
		nl_attr(&m, RTA_GATEWAY, &gw, sizeof gw);
		unsigned oif = ifa.ifa_index;
		nl_attr(&m, RTA_OIF, &oif, sizeof oif);
		if ((r = nl_talk(&m)))
			return net_attach_fail("the default route", r);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* clock, link: settings after a restore, without a program start       */
/* ------------------------------------------------------------------ */

int op_clock(const jnode *req, sbuf *res)
{
	(void)res;
	long long ms;
	if (p_int(req, "ms", 1, &ms, 0))
		return -1;
	if (ms < 0)
		return fail("parameter \"ms\" must not be negative");
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
	if (clock_settime(CLOCK_REALTIME, &ts))
		return fail_errno("clock_settime");
	return 0;
}

int op_link(const jnode *req, sbuf *res)
{
	(void)res;
	const char *name;
	if (p_str(req, "name", 1, &name))
		return -1;
	const jnode *up = jget(req, "up");
	if (!up || up->t != J_BOOL)
		return fail("parameter \"up\" must be a boolean");
	if (!*name || strlen(name) >= IFNAMSIZ)
		return fail("%s: not an interface name", name);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, name);
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		if (up->b)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(fd);
	if (r) {
		errno = e;
		return fail_errno("%s: set link %s", name, up->b ? "up" : "down");
	}
	return 0;
}
