/* Layerlab guest agent: Docker's device rules for every container, once. Contracts in agent.h. */
#include "agent.h"

/* ------------------------------------------------------------------ */
/* Container devices: `layerlab-cgroup-devices CGROUP`                 */
/* ------------------------------------------------------------------ */

/* Run once at boot (rcS): creates the cgroup v2 directory CGROUP, the parent of every container's cgroup
 * (spec.ts, CONTAINERS_CGROUP), delegates the cpu, memory and pids controllers to its children, and attaches
 * a BPF_PROG_TYPE_CGROUP_DEVICE program holding Docker's device rules to it. A program attached to a cgroup
 * applies to every cgroup below it, so containers need none of their own: crun, given device rules, loads and
 * attaches a program at each container start (~1.5 M guest instructions, a fifth of its work). Docker's rules,
 * with the ones crun adds to any list: creating any device node (mknod) is allowed; reading and writing only
 * null, zero, full, random, urandom (1:3 1:5 1:7 1:8 1:9), tty, console, ptmx (5:0 5:1 5:2) and the ptys
 * (136:*). Exit 0 once the program is attached; errors on stderr. */
#include <linux/bpf.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
/* r_dst = *(u32 *)(r_src + off) */
#define LOAD32(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ALU32_IMM(op, d, imm) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, imm)
/* if (r_dst OP imm) skip `off` instructions */
#define JUMP_IMM(op, d, imm, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, imm)
#define RETURN(v) INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, v), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* r1: struct bpf_cgroup_dev_ctx { access_type = access << 16 | type; major; minor }. Returns 1 to allow.
 * Jump offsets count from the next instruction. */
static const struct bpf_insn device_rules[] = {
	LOAD32(2, 1, 0),                               /* 0: r2 = access_type */
	ALU32_IMM(BPF_AND, 2, 0xffff),                 /* 1: r2 = type */
	LOAD32(3, 1, 0),                               /* 2 */
	ALU32_IMM(BPF_RSH, 3, 16),                     /* 3: r3 = access */
	LOAD32(4, 1, 4),                               /* 4: r4 = major */
	LOAD32(5, 1, 8),                               /* 5: r5 = minor */
	JUMP_IMM(BPF_JEQ, 3, BPF_DEVCG_ACC_MKNOD, 10), /* 6: mknod alone, any device: allow (17) */
	JUMP_IMM(BPF_JNE, 2, BPF_DEVCG_DEV_CHAR, 11),  /* 7: reading or writing a block device: deny (19) */
	JUMP_IMM(BPF_JEQ, 4, 136, 8),                  /* 8: a pty: allow */
	JUMP_IMM(BPF_JEQ, 4, 5, 6),                    /* 9: major 5: to 16 */
	JUMP_IMM(BPF_JNE, 4, 1, 8),                    /* 10: neither 1 nor 5: deny */
	JUMP_IMM(BPF_JEQ, 5, 3, 5),                    /* 11: 1:3 null: allow */
	JUMP_IMM(BPF_JEQ, 5, 5, 4),                    /* 12: 1:5 zero: allow */
	JUMP_IMM(BPF_JLT, 5, 7, 5),                    /* 13: other 1:x below 7: deny */
	JUMP_IMM(BPF_JGT, 5, 9, 4),                    /* 14: 1:x above 9: deny */
	INSN(BPF_JMP | BPF_JA, 0, 0, 1, 0),            /* 15: 1:7 full, 1:8 random, 1:9 urandom: allow */
	JUMP_IMM(BPF_JGT, 5, 2, 2),                    /* 16: 5:0 tty, 5:1 console, 5:2 ptmx allowed, other 5:x denied */
	RETURN(1),                                     /* 17, 18: allow */
	RETURN(0),                                     /* 19, 20: deny */
};

static int devices_fail(const char *what, const char *path)
{
	fprintf(stderr, "layerlab-cgroup-devices: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return devices_fail("open", path);
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : devices_fail("write", path);
}

int cgroup_devices_main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: layerlab-cgroup-devices /sys/fs/cgroup/NAME\n");
		return 2;
	}
	const char *cgroup = argv[1];
	if (mkdir(cgroup, 0755) < 0 && errno != EEXIST)
		return devices_fail("mkdir", cgroup);
	if (write_text(cgroup, "cgroup.subtree_control", "+cpu +memory +pids"))
		return 1;

	char log[4096] = "";
	union bpf_attr load;
	memset(&load, 0, sizeof load);
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)device_rules;
	load.insn_cnt = sizeof device_rules / sizeof device_rules[0];
	load.license = (uint64_t)(uintptr_t) "GPL";
	load.log_buf = (uint64_t)(uintptr_t)log;
	load.log_size = sizeof log;
	load.log_level = 1;
	int prog = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &load, sizeof load);
	if (prog < 0) {
		fprintf(stderr, "layerlab-cgroup-devices: load the device program: %s\n%s", strerror(errno), log);
		return 1;
	}
	int dir = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return devices_fail("open", cgroup);
	union bpf_attr attach;
	memset(&attach, 0, sizeof attach);
	attach.target_fd = (uint32_t)dir;
	attach.attach_bpf_fd = (uint32_t)prog;
	attach.attach_type = BPF_CGROUP_DEVICE;
	/* Containers' own programs (crun's, for a config that lists devices) run too: each must allow. */
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(__NR_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) < 0)
		return devices_fail("attach the device program to", cgroup);
	/* The attachment holds the program: it outlives this process and its descriptors. */
	return 0;
}
