#!/usr/bin/env bash
# Builds the Layerlab guest (kernel, initramfs, BIOS, base image layers) from the pinned
# Debian i386 packages in vm/packages.lock. See vm/README.md for the steps and outputs.
#
#   vm/build.sh            build into public/vm/ unless it is up to date
#   vm/build.sh --force    rebuild even if the recorded input hash matches
#   vm/build.sh --update   re-resolve packages.txt to the newest versions, rewrite the lock
#   vm/build.sh --out DIR  write somewhere else (default: public/vm)
#   vm/build.sh --no-snapshot  stop after the image files (no saved VM state; for tests)
#   LAYERLAB_BUILD_TRACE=FILE vm/build.sh ...  a build that runs does so under `strace -f` (log in FILE) and
#       keeps its scratch tree; FILE.done names both (for vm/build.test.ts, which checks the trace)
#
# Needs root on Debian (apt-get, dpkg --add-architecture, chroot). The host never executes an i386
# program itself: the steps that must run guest binaries do so under qemu-i386-static, explicitly.
set -euo pipefail
export LC_ALL=C

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$VM_DIR")
OUT="$ROOT/public/vm"
CACHE="$VM_DIR/.cache"
FORCE=0
UPDATE=0
SNAPSHOT=1
INITRD_COMPRESS=${INITRD_COMPRESS:-xz} # xz | gzip | zstd (the kernel has RD_XZ, RD_GZIP, RD_ZSTD)
ARGS=("$@")

while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1 ;;
	--update) UPDATE=1 FORCE=1 ;;
	--out) OUT=$(realpath -m "$2"); shift ;;
	--no-snapshot) SNAPSHOT=0 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "vm/build.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

log() { printf 'vm: %s\n' "$*" >&2; }
die() { printf 'vm/build.sh: error: %s\n' "$*" >&2; exit 1; }

PKG_LIST="$VM_DIR/packages.txt"
LOCK="$VM_DIR/packages.lock"
AGENT_DIR=${LAYERLAB_AGENT_DIR:-$VM_DIR/agent} # override only for testing
# the agent's sources: every .c file there but the libFuzzer harness (agent.h holds their contracts)
mapfile -t AGENT_SRCS < <(find "$AGENT_DIR" -maxdepth 1 -name '*.c' ! -name fuzz.c | sort)
KERNEL_FRAGMENT="$VM_DIR/kernel.config" # the guest kernel's configuration (merged onto allnoconfig)

[ -f "$AGENT_DIR/main.c" ] || die "$AGENT_DIR/main.c is missing: the guest agent must be written before the VM can be built (see vm/agent/PROTOCOL.md)"

# ---------------------------------------------------------------------------------------------
# Input hash: every file that influences the outputs. Equal hash => nothing to do.
input_hash() {
	(
		cd "$VM_DIR"
		{
			printf '%s\n' build.sh packages.txt packages.lock cmdline.txt kernel.config
			for f in "${AGENT_SRCS[@]}" "$AGENT_DIR/agent.h"; do printf '%s\n' "${f#"$VM_DIR"/}"; done
			find rootfs base -type f 2>/dev/null
			find agent -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null
			find shims -type f 2>/dev/null
		} | sort -u | while read -r f; do
			[ -e "$f" ] || continue
			# modes matter too (executable bits end up in the initramfs)
			printf '%s %s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %a "$f")" "$f"
		done
		printf 'INITRD_COMPRESS=%s\n' "$INITRD_COMPRESS"
	) | sha256sum | cut -d' ' -f1
}

# The saved VM state (vm/snapshot.ts boots the build once under Node and saves it). It depends on the
# image build and on the host-side boot code, so it has its own input hash.
snapshot_hash() {
	(
		cat "$OUT/build-inputs.sha256"
		cd "$VM_DIR/.."
		sha256sum vm/snapshot.ts vm/base-images.ts src/machine/machine.ts src/machine/node.ts src/machine/agent-client.ts \
			src/engine/network/networks.ts
	) | sha256sum | cut -d' ' -f1
}
ensure_snapshot() {
	[ "$SNAPSHOT" = 1 ] || return 0
	if [ "$FORCE" = 0 ] && [ -f "$OUT/state.bin.zst" ] && [ -f "$OUT/state-inputs.sha256" ] &&
		[ "$(cat "$OUT/state-inputs.sha256")" = "$(snapshot_hash)" ]; then
		return 0
	fi
	command -v zstd >/dev/null || { apt-get install -y -q zstd >/dev/null || die "zstd is needed to compress the VM state"; }
	log "9. boot once under Node and save the VM state"
	(cd "$VM_DIR/.." && npx tsx vm/snapshot.ts "$OUT") || die "saving the VM state failed (see above)"
	snapshot_hash >"$OUT/state-inputs.sha256"
}

# Each base layer's file list ("files" in base/images.json; vm/layer-files.ts), made from the layer tars on
# every run (a second or two), so it follows the listing code as well as the tars.
ensure_layer_files() {
	(cd "$VM_DIR/.." && npx tsx vm/layer-files.ts "$OUT" >/dev/null) || die "listing the base layers' files failed (vm/layer-files.ts)"
}

if [ "$FORCE" = 0 ] && [ -f "$OUT/build-inputs.sha256" ] &&
	[ "$(cat "$OUT/build-inputs.sha256")" = "$(input_hash)" ]; then
	ensure_layer_files
	ensure_snapshot
	echo "vm: up to date ($OUT)"
	exit 0
fi

# The build that runs now, traced: every program any process executes is in the log, and the scratch tree
# stays so the checker can read the files the log names (vm/build-trace.ts has the same strace options).
if [ -n "${LAYERLAB_BUILD_TRACE:-}" ] && [ -z "${LAYERLAB_BUILD_TRACING:-}" ]; then
	command -v strace >/dev/null || die "LAYERLAB_BUILD_TRACE needs strace (apt-get install strace)"
	rm -f "$LAYERLAB_BUILD_TRACE.done"
	LAYERLAB_BUILD_TRACING=1 exec strace --seccomp-bpf -f -qq -s 256 -e trace=execve,chroot,clone,clone3,fork,vfork -e signal=none \
		-o "$LAYERLAB_BUILD_TRACE" bash "$VM_DIR/build.sh" ${ARGS[@]+"${ARGS[@]}"}
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "must run as root (apt-get, dpkg --add-architecture, chroot)"
	SUDO="sudo"
fi

# ---------------------------------------------------------------------------------------------
log "1. host tools"
need_pkgs=()
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v mksquashfs >/dev/null || need_pkgs+=(squashfs-tools)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v readelf >/dev/null || need_pkgs+=(binutils)
command -v dpkg-deb >/dev/null || die "dpkg-deb not found: this build needs a Debian host"
tar --version 2>/dev/null | grep -q 'GNU tar' || need_pkgs+=(tar)
dpkg -s gcc-multilib >/dev/null 2>&1 || need_pkgs+=(gcc-multilib)
dpkg -s libc6-dev-i386 >/dev/null 2>&1 || need_pkgs+=(libc6-dev-i386)
command -v qemu-i386-static >/dev/null || need_pkgs+=(qemu-user-static)
# building the busybox image's busybox from Debian's source package
command -v dpkg-source >/dev/null || need_pkgs+=(dpkg-dev)
command -v make >/dev/null || need_pkgs+=(make)
command -v bzip2 >/dev/null || need_pkgs+=(bzip2)
# building the guest kernel from Debian's linux-source (scripts/kconfig needs flex and bison; bc and perl
# generate headers; libelf-dev for the build's ELF tools)
command -v flex >/dev/null || need_pkgs+=(flex)
command -v bison >/dev/null || need_pkgs+=(bison)
command -v bc >/dev/null || need_pkgs+=(bc)
command -v perl >/dev/null || need_pkgs+=(perl)
dpkg -s libelf-dev >/dev/null 2>&1 || need_pkgs+=(libelf-dev)

APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	APT_UPDATED=1
	log "apt-get update"
	# One mirror index failing ("Mirror sync in progress") must not stop the build: retry once,
	# then carry on with whatever indexes we have; missing packages are reported later.
	if ! $SUDO apt-get update -q; then
		log "apt-get update failed; retrying in 10 s"
		sleep 10
		$SUDO apt-get update -q || log "warning: apt-get update failed again; continuing with the current index"
	fi
}

if ! dpkg --print-foreign-architectures | grep -qx i386 && [ "$(dpkg --print-architecture)" != i386 ]; then
	log "dpkg --add-architecture i386"
	$SUDO dpkg --add-architecture i386
	APT_UPDATED=0
	apt_update
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing host tools: ${need_pkgs[*]}"
	$SUDO apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" || {
		apt_update
		$SUDO apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
	}
fi

# ---------------------------------------------------------------------------------------------
log "2. packages (lock: ${LOCK#"$ROOT"/})"

# `name:arch` -> the name apt understands ("all" packages are addressed without an arch)
apt_name() { case "$1" in *:all) echo "${1%:all}" ;; *) echo "$1" ;; esac; }

# packages.txt entries: "name:arch" or "name:arch @meta"
mapfile -t PKG_LINES < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$PKG_LIST")
PKG_LIST_HASH=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$PKG_LIST" | sha256sum | cut -d' ' -f1)

candidate() { # name:arch -> candidate version (empty if unknown)
	apt-cache policy "$(apt_name "$1")" 2>/dev/null | awk '/^  Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

resolve_lock() { # writes $LOCK from packages.txt using the current apt index
	local line name arch dep v out=() kernel_sources=()
	for line in "${PKG_LINES[@]}"; do
		read -r name flag <<<"$line"
		arch=${name##*:}
		[ "$arch" != "$name" ] || die "packages.txt: '$name' needs an explicit :arch"
		if [ "${flag:-}" = "@kernel-source" ]; then
			kernel_sources+=("$name") # resolved below, once the kernel image's version is known
		elif [ "${flag:-}" = "@meta" ]; then
			local deps
			deps=$(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
				--no-replaces --no-enhances "$(apt_name "$name")" 2>/dev/null |
				awk '$1 == "Depends:" || $1 == "PreDepends:" { print $2 }')
			[ -n "$deps" ] || die "cannot resolve meta-package $name (apt index missing? try: apt-get update)"
			for dep in $deps; do
				case "$dep" in *:*) ;; *) dep="$dep:$arch" ;; esac
				v=$(candidate "$dep")
				[ -n "$v" ] || die "no candidate for $dep (dependency of $name)"
				out+=("$dep=$v")
			done
		else
			v=$(candidate "$name")
			[ -n "$v" ] || die "no candidate version for $name (apt index missing? is i386 enabled?)"
			out+=("$name=$v")
		fi
	done
	local kv
	kv=$(printf '%s\n' "${out[@]}" | sed -n 's/^linux-image-[0-9][^=]*=//p' | head -1)
	for name in ${kernel_sources[@]+"${kernel_sources[@]}"}; do
		[ -n "$kv" ] || die "packages.txt: $name is @kernel-source but no linux-image-<version> package was resolved"
		apt-cache show "$(apt_name "$name")=$kv" >/dev/null 2>&1 ||
			die "$name=$kv (the version of the kernel image) is not in the apt index: the source and the image must match"
		out+=("$name=$kv")
	done
	{
		echo "# Generated by vm/build.sh from packages.txt. Exact Debian packages the guest is built from."
		echo "# Bump: vm/build.sh --update (or delete this file). Format: name:arch=version"
		echo "# packages.txt-sha256: $PKG_LIST_HASH"
		printf '%s\n' "${out[@]}" | sort -u
	} >"$LOCK.new"
}

DEBS="$CACHE/debs"
mkdir -p "$DEBS"
deb_file() { # name:arch=version -> cached .deb path (apt-get download's naming: ':' -> %3a)
	local na=${1%%=*} v=${1#*=}
	echo "$DEBS/${na%%:*}_${v//:/%3a}_${na##*:}.deb"
}
lock_entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$LOCK"; }
lock_usable() { # every locked package is cached or downloadable, and the lock matches packages.txt
	[ -f "$LOCK" ] || return 1
	grep -qx "# packages.txt-sha256: $PKG_LIST_HASH" "$LOCK" || { log "packages.txt changed since the lock was written"; return 1; }
	local e
	for e in $(lock_entries); do
		[ -f "$(deb_file "$e")" ] && continue
		apt-cache show "$(apt_name "${e%%=*}")=${e#*=}" >/dev/null 2>&1 || { log "locked $e is not downloadable"; return 1; }
	done
}

if [ "$UPDATE" = 1 ]; then
	apt_update
	USE_LOCK=0
elif lock_usable; then
	USE_LOCK=1
else
	apt_update # the index may just be stale
	if lock_usable; then USE_LOCK=1; else USE_LOCK=0; fi
fi
if [ "$USE_LOCK" = 0 ]; then
	resolve_lock
	if [ -f "$LOCK" ] && ! diff -q <(lock_entries) <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$LOCK.new") >/dev/null; then
		echo "vm: NOTICE: Debian moved on (or packages.txt changed); packages.lock updated:" >&2
		diff <(lock_entries) <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$LOCK.new") | sed -n 's/^[<>]/  &/p' >&2 || true
		echo "vm: NOTICE: review and commit vm/packages.lock" >&2
	elif [ ! -f "$LOCK" ]; then
		echo "vm: NOTICE: wrote new vm/packages.lock; commit it" >&2
	fi
	mv "$LOCK.new" "$LOCK"
fi

missing=()
for e in $(lock_entries); do
	[ -f "$(deb_file "$e")" ] || missing+=("$(apt_name "${e%%=*}")=${e#*=}")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "downloading ${#missing[@]} packages"
	# APT::Sandbox::User=root: the cache dir is not readable by the _apt user everywhere
	(cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}")
fi
for e in $(lock_entries); do
	[ -f "$(deb_file "$e")" ] || die "download of $e did not produce $(deb_file "$e")"
done

# ---------------------------------------------------------------------------------------------
log "3. extract"
# scratch tree: one per output dir, so a test build into a throwaway --out never touches another build's
if [ "$OUT" = "$ROOT/public/vm" ]; then WORK="$CACHE/work"; else WORK="$CACHE/work-$(printf %s "$OUT" | sha256sum | cut -c1-12)"; fi
rm -rf "$WORK"
mkdir -p "$WORK/x"
declare -A PKGDIR # package name -> extracted tree
for e in $(lock_entries); do
	n=${e%%:*}
	case "$n" in linux-image-* | linux-source-*) continue ;; esac # the kernel is built from source (step 4)
	dpkg-deb -x "$(deb_file "$e")" "$WORK/x/$n"
	PKGDIR[$n]="$WORK/x/$n"
done
pkgdir() { [ -n "${PKGDIR[$1]:-}" ] || die "package $1 is not in the lock"; echo "${PKGDIR[$1]}"; }

# ---------------------------------------------------------------------------------------------
# The guest kernel: Debian's linux-source of the locked kernel image's version, configured by
# vm/kernel.config merged onto `make allnoconfig` (everything built in, no modules), for i386 with the
# host's gcc. Cached in .cache/kernel/<key>/ by source version, fragment, compiler and this recipe; the
# unpacked source and its object tree stay in .cache/kernel/{src,build}-<version>/, so a changed fragment
# rebuilds only what it touches.
KIMG=$(lock_entries | grep -m1 '^linux-image-[0-9]') || die "no linux-image-<version> package in the lock"
KSRC=$(lock_entries | grep -m1 '^linux-source-') ||
	die "no linux-source-<series> package in the lock (packages.txt needs linux-source-6.1:all @kernel-source)"
[ "${KSRC#*=}" = "${KIMG#*=}" ] || die "packages.lock: $KSRC does not match the kernel image $KIMG (run vm/build.sh --update)"
KERNEL_MAKE=(ARCH=i386 KBUILD_BUILD_USER=layerlab KBUILD_BUILD_HOST=layerlab KBUILD_BUILD_VERSION=1
	"KBUILD_BUILD_TIMESTAMP=Debian ${KSRC#*=}")
build_kernel() { # prints the directory holding bzImage and config
	local v=${KSRC#*=} series=${KSRC%%:*} key dir src build started
	key=$(printf '%s\n' "$KSRC" "$(sha256sum <"$KERNEL_FRAGMENT")" "$(gcc --version | head -1)" "${KERNEL_MAKE[*]}" \
		"allnoconfig + merge_config.sh, bzImage" | sha256sum | cut -c1-16)
	dir="$CACHE/kernel/$key"
	if [ -f "$dir/bzImage" ]; then echo "$dir"; return 0; fi
	src="$CACHE/kernel/src-$v"
	build="$CACHE/kernel/build-$v"
	started=$(date +%s)
	if [ ! -f "$src/.unpacked" ]; then
		log "kernel: unpacking $series $v"
		# one version's source and objects at a time (about 1.5 GB)
		rm -rf "$CACHE/kernel/src-"* "$CACHE/kernel/build-"* && mkdir -p "$src"
		dpkg-deb --fsys-tarfile "$(deb_file "$KSRC")" | tar -xO "./usr/src/$series.tar.xz" | tar -xJ -C "$src" --strip-components=1 ||
			die "unpacking $series $v failed"
		touch "$src/.unpacked"
	fi
	mkdir -p "$build"
	log "kernel: configuring (allnoconfig + vm/kernel.config)"
	(cd "$src" && env "${KERNEL_MAKE[@]}" scripts/kconfig/merge_config.sh -n -O "$build" "$KERNEL_FRAGMENT") >"$build/merge.log" 2>&1 ||
		{ tail -20 "$build/merge.log" >&2; die "configuring the kernel failed (see above)"; }
	# a fragment line that Kconfig did not keep (a typo, an unmet dependency) is an error, not a silent loss
	if grep -q '^Value requested for' "$build/merge.log"; then
		grep -A2 '^Value requested for' "$build/merge.log" >&2
		die "vm/kernel.config asks for values the kernel's Kconfig did not keep (above): fix the fragment"
	fi
	log "kernel: make bzImage (-j$(nproc))"
	make -C "$src" O="$build" "${KERNEL_MAKE[@]}" -j"$(nproc)" bzImage >"$build/make.log" 2>&1 ||
		{ tail -40 "$build/make.log" >&2; die "building the kernel failed (see above; full log $build/make.log)"; }
	rm -rf "$dir.new" && mkdir -p "$dir.new" && cp "$build/arch/x86/boot/bzImage" "$dir.new/bzImage" &&
		cp "$build/.config" "$dir.new/config" && rm -rf "$dir" && mv "$dir.new" "$dir" ||
		die "storing the built kernel in $dir failed"
	log "kernel: built in $(($(date +%s) - started)) s"
	echo "$dir"
}

# ---------------------------------------------------------------------------------------------
log "4. kernel (${KSRC%%:*} ${KSRC#*=}, vm/kernel.config)"
STAGE="$WORK/out"
mkdir -p "$STAGE/base"
KBUILT=$(build_kernel) || exit 1
KCONFIG="$KBUILT/config"
cp "$KBUILT/bzImage" "$STAGE/bzImage"
case "$INITRD_COMPRESS" in
xz) grep -qx CONFIG_RD_XZ=y "$KCONFIG" || { log "kernel lacks RD_XZ; using gzip"; INITRD_COMPRESS=gzip; } ;;
zstd) grep -qx CONFIG_RD_ZSTD=y "$KCONFIG" || { log "kernel lacks RD_ZSTD; using gzip"; INITRD_COMPRESS=gzip; } ;;
gzip) ;;
*) die "INITRD_COMPRESS must be xz, zstd or gzip" ;;
esac

# ---------------------------------------------------------------------------------------------
log "5. agent"
AGENT="$WORK/agent"
gcc -m32 -static -Os -o "$AGENT" "${AGENT_SRCS[@]}" ||
	die "compiling the agent in $AGENT_DIR failed (gcc -m32 -static -Os)"
strip "$AGENT"
# crun's libsystemd: the symbols it links against, each failing as without systemd (vm/shims/libsystemd.c)
SD_SHIM="$WORK/libsystemd.so.0"
gcc -m32 -shared -fPIC -Os -nostdlib -Wl,-soname,libsystemd.so.0 -Wl,--version-script="$VM_DIR/shims/libsystemd.map" \
	-o "$SD_SHIM" "$VM_DIR/shims/libsystemd.c" || die "compiling vm/shims/libsystemd.c failed (gcc -m32 -shared)"
strip "$SD_SHIM"

# ---------------------------------------------------------------------------------------------
# helpers for assembling trees
# Guest (i386) programs run only under qemu-user, invoked explicitly: kernels without IA32 emulation
# cannot execute them, and binfmt_misc registrations differ between hosts.
QEMU=$(command -v qemu-i386-static) || die "qemu-i386-static not found (apt-get install qemu-user-static)"
i386_run() { "$QEMU" "$@"; } # a static i386 program
i386_chroot() { # ROOT PROGRAM ARGS...: a program inside an i386 tree (its own loader and libraries)
	local root=$1; shift
	cp "$QEMU" "$root/.qemu-i386-static"
	local rc=0
	chroot "$root" /.qemu-i386-static "$@" || rc=$?
	rm -f "$root/.qemu-i386-static"
	return $rc
}
# ---------------------------------------------------------------------------------------------
# The busybox image's busybox: Docker Hub's is upstream's default configuration (all applets: adduser,
# addgroup, deluser...), which Debian's busybox-static is not. Built from Debian's source package of the
# locked version (its patches applied), `make defconfig` + static, for i386; cached by input hash.
# The VM's own shell (the learner's terminal) uses it too, so the two behave alike: Debian's build lacks
# FEATURE_WGET_TIMEOUT, and its `wget -T` writes through a null pointer (a segfault).
busybox_source_version() { # the source package version of the locked busybox-static (binNMU suffix dropped)
	local bin_v
	bin_v=$(lock_entries | sed -n 's/^busybox-static:[^=]*=\(.*\)/\1/p')
	apt-cache show "busybox-static=$bin_v" 2>/dev/null | sed -n 's/^Source: busybox (\(.*\))$/\1/p' | head -1 | grep . ||
		echo "${bin_v%+b[0-9]*}"
}
build_image_busybox() { # prints the path of the built binary
	local srcv key dir apt_dir
	srcv=$(busybox_source_version)
	key=$(printf '%s\n' "busybox=$srcv" "defconfig CONFIG_STATIC=y" "gcc -m32" "$(gcc --version | head -1)" | sha256sum | cut -c1-16)
	dir="$CACHE/busybox/$key"
	if [ -x "$dir/busybox" ]; then echo "$dir/busybox"; return 0; fi
	log "busybox $srcv: fetching Debian's source package (deb-src entries in a private apt list)"
	apt_dir="$CACHE/apt-src"
	rm -rf "$apt_dir" && mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir.tmp"
	# the host's Debian entries, as deb-src (deb822 .sources and one-line .list files)
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' "$f"
	done >"$apt_dir/parts/layerlab-src.list"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -qi 'debian' "$f" && sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt_dir/parts/$(basename "$f")"
	done
	local apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
	apt-get "${apt_opts[@]}" update -q >&2 || { sleep 10; apt-get "${apt_opts[@]}" update -q >&2; } ||
		log "warning: apt-get update (deb-src) failed; trying with what was fetched"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	(cd "$dir.tmp" && apt-get "${apt_opts[@]}" source -q --download-only "busybox=$srcv" >&2) ||
		die "cannot download Debian's source package busybox=$srcv (apt-get source; is deb.debian.org reachable?)"
	(cd "$dir.tmp" && dpkg-source -x busybox_*.dsc src >&2) || die "unpacking the busybox source package failed"
	log "busybox $srcv: make defconfig, static, gcc -m32"
	(cd "$dir.tmp/src" && make -s defconfig >/dev/null &&
		sed -i 's/^# CONFIG_STATIC is not set$/CONFIG_STATIC=y/' .config && grep -qx CONFIG_STATIC=y .config &&
		make -s -j"$(nproc)" CC="gcc -m32" HOSTCC=gcc busybox >"$dir.tmp/make.log" 2>&1) ||
		{ tail -40 "$dir.tmp/make.log" >&2; die "building busybox $srcv from source failed (see above)"; }
	[ "$(od -An -tx1 -j4 -N1 "$dir.tmp/src/busybox" | tr -d ' ')" = 01 ] || die "the built busybox is not a 32-bit ELF"
	rm -rf "$dir.new" && mkdir -p "$dir.new" && cp "$dir.tmp/src/busybox" "$dir.new/busybox" &&
		strip "$dir.new/busybox" && cp "$dir.tmp/src/.config" "$dir.new/config" &&
		rm -rf "$dir.tmp" "$dir" && mv "$dir.new" "$dir" || die "storing the built busybox in $dir failed"
	echo "$dir/busybox"
}

BB=$(build_image_busybox) || exit 1
i386_run "$BB" true || die "cannot run the i386 busybox under $QEMU"

# All library directories of the extracted packages, for resolving sonames.
LIBDIRS=()
for n in "${!PKGDIR[@]}"; do
	for d in lib/i386-linux-gnu usr/lib/i386-linux-gnu; do
		[ -d "${PKGDIR[$n]}/$d" ] && LIBDIRS+=("${PKGDIR[$n]}/$d")
	done
done
# Libraries built here instead of taken from a package.
declare -A OWN_LIBS=([libsystemd.so.0]="$SD_SHIM")
find_lib() { # soname -> path of the file in an extracted package
	local d
	[ -n "${OWN_LIBS[$1]:-}" ] && { echo "${OWN_LIBS[$1]}"; return 0; }
	for d in "${LIBDIRS[@]}"; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done
	return 1
}
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# Copies the NEEDED closure of the given ELF files into <root>/lib/i386-linux-gnu.
install_libs() {
	local root=$1; shift
	local queue=("$@") seen=" " f so p
	mkdir -p "$root/lib/i386-linux-gnu"
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}; queue=("${queue[@]:1}")
		for so in $(needed "$f"); do
			case "$seen" in *" $so "*) continue ;; esac
			seen="$seen$so "
			p=$(find_lib "$so") || die "shared library $so (needed by $(basename "$f")) is in no locked package: add its package to vm/packages.txt"
			cp -L "$p" "$root/lib/i386-linux-gnu/$so"
			queue+=("$p")
		done
	done
	cp -L "$(pkgdir libc6)/lib/i386-linux-gnu/ld-linux.so.2" "$root/lib/i386-linux-gnu/ld-linux.so.2"
	ln -sfn i386-linux-gnu/ld-linux.so.2 "$root/lib/ld-linux.so.2"
}
# Normalises a tree for reproducible archives.
normalise_tree() { find "$1" -exec touch -h -d @0 {} +; }
# Deterministic OCI layer tar of a directory's contents (no leading ./, sorted, root-owned,
# mtime 0, pax headers without atime/ctime and with a fixed name).
layer_tar() {
	local dir=$1 out=$2
	normalise_tree "$dir"
	(cd "$dir" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$WORK/filelist"
	tar -C "$dir" --create --file "$out" --no-recursion --files-from "$WORK/filelist" \
		--format=posix --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
		--owner=0 --group=0 --numeric-owner --mtime=@0
}

# ---------------------------------------------------------------------------------------------
log "6. initramfs"
IR="$WORK/initramfs"
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,run,var/log,mnt/host,etc}
cp -a "$VM_DIR/rootfs/." "$IR/"
cp "$BB" "$IR/bin/busybox"
BB_APPLETS_FULL=$(i386_run "$BB" --list-full) || die "busybox --list-full failed"
for a in $BB_APPLETS_FULL; do
	[ -e "$IR/$a" ] || [ -L "$IR/$a" ] || ln -s "/bin/busybox" "$IR/$a"
done
cp "$(pkgdir crun)/usr/bin/crun" "$IR/usr/bin/crun"
install_libs "$IR" "$IR/usr/bin/crun"
cp "$(pkgdir nftables)/usr/sbin/nft" "$IR/usr/sbin/nft" # container networks: NAT, published ports
install_libs "$IR" "$IR/usr/sbin/nft"
cp "$AGENT" "$IR/usr/bin/layerlab-agent"
ln -sfn layerlab-agent "$IR/usr/bin/docker"
ln -sfn layerlab-agent "$IR/usr/bin/layerlab-net-attach" # container networks: the OCI hook (agent.c)
ln -sfn layerlab-agent "$IR/usr/bin/layerlab-cgroup-devices" # containers' device rules, attached at boot (devices.c)
chmod 1777 "$IR/tmp"
chmod 0700 "$IR/root"
# sanity: the dynamic loader resolves all of crun's libraries inside the tree (crun itself cannot
# run here: it re-executes itself through a memfd, which needs /proc)
CRUN_LIBS=$(i386_chroot "$IR" /lib/ld-linux.so.2 --list /usr/bin/crun) || die "ld.so --list /usr/bin/crun failed in the initramfs tree"
if grep -q 'not found' <<<"$CRUN_LIBS"; then
	die "crun has unresolved libraries in the initramfs: $(grep 'not found' <<<"$CRUN_LIBS" | tr -s '\n\t' ' ')"
fi
# The same userland for the benchmark's native comparison (bench/vm.ts runs this crun on the host).
if [ "$OUT" = "$ROOT/public/vm" ]; then rm -rf "$VM_DIR/.cache/native" && cp -a "$IR" "$VM_DIR/.cache/native"; fi
normalise_tree "$IR"
(cd "$IR" && find . | sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$WORK/initrd.cpio"
case "$INITRD_COMPRESS" in
xz) xz -9e --check=crc32 -T1 -c "$WORK/initrd.cpio" >"$STAGE/initrd.img" ;; # the kernel's xz needs crc32
zstd) zstd -19 -q -c "$WORK/initrd.cpio" >"$STAGE/initrd.img" ;;
gzip) gzip -9n -c "$WORK/initrd.cpio" >"$STAGE/initrd.img" ;;
esac
log "initramfs: $(du -sh --apparent-size "$IR" | cut -f1) unpacked, $(stat -c %s "$STAGE/initrd.img") bytes $INITRD_COMPRESS"

# ---------------------------------------------------------------------------------------------
log "7. base image layers"
# busybox: /bin/busybox + an applet symlink per command in /bin (as in Docker's busybox image)
BB_SRC_VERSION=$(busybox_source_version)
BB_UPSTREAM=${BB_SRC_VERSION#*:}
BB_UPSTREAM=${BB_UPSTREAM%%-*} # 1:1.35.0-4+deb12u1 -> 1.35.0
L1="$WORK/layer-busybox"
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,home,var,usr/bin,run}
cp "$BB" "$L1/bin/busybox"
BB_APPLETS=$(i386_run "$BB" --list) || die "busybox --list failed"
for a in adduser addgroup deluser; do grep -qx "$a" <<<"$BB_APPLETS" || die "the image's busybox lacks the $a applet"; done
for a in $BB_APPLETS; do
	[ "$a" = busybox ] || ln -s busybox "$L1/bin/$a"
done
cp -a "$VM_DIR/base/busybox/." "$L1/"
chmod 1777 "$L1/tmp"
chmod 0700 "$L1/root"
layer_tar "$L1" "$STAGE/base/busybox-rootfs.tar"

# python layer 2: glibc + python3.11 from the debs; no docs, man pages, locales, tests.
L2="$WORK/layer-python"
mkdir -p "$L2"
LIBC=$(pkgdir libc6)
mkdir -p "$L2/lib/i386-linux-gnu" "$L2/etc/ld.so.conf.d"
cp -a "$LIBC/lib/." "$L2/lib/"
cp -a "$LIBC/etc/ld.so.conf.d/." "$L2/etc/ld.so.conf.d/"
rm -f "$L2/lib/i386-linux-gnu/"{libnsl.so.1,libmemusage.so,libpcprofile.so,libc_malloc_debug.so.0,libthread_db.so.1,libBrokenLocale.so.1}
for n in python3-minimal python3.11-minimal libpython3.11-minimal libpython3.11-stdlib; do
	cp -a "$(pkgdir "$n")/." "$L2/"
done
PYLIB="$L2/usr/lib/python3.11"
rm -rf "$L2/usr/share" "$L2/usr/bin/"{py3clean,py3compile,py3versions,pydoc3.11,pygettext3.11} \
	"$PYLIB"/{test,idlelib,tkinter,turtledemo,turtle.py,ensurepip,lib2to3,pydoc_data,curses,__phello__} \
	"$PYLIB"/EXTERNALLY-MANAGED "$PYLIB"/LICENSE.txt \
	"$PYLIB"/*/test "$PYLIB"/*/tests "$PYLIB"/unittest/test "$L2/usr/lib/python3/dist-packages/"* 2>/dev/null || true
# pip and what it needs (Debian's python3-pip ships its libraries vendored), as Docker's python has it
for n in python3-pip python3-setuptools python3-pkg-resources python3-wheel python3-distutils python3-lib2to3; do
	cp -a "$(pkgdir "$n")/." "$L2/"
done
rm -rf "$L2/usr/share"
find "$L2" -name '__pycache__' -prune -exec rm -rf {} +
# extension modules whose libraries are not shipped (see packages.txt): dbm, curses, nis, ssl
for so in "$PYLIB"/lib-dynload/*.so; do
	case "$(basename "$so")" in
	_dbm.* | _curses* | nis.* | _ssl.* | _hashlib.* | _tkinter.* | _crypt.* | ossaudiodev.*) rm -f "$so" ;;
	_test* | _xxtestfuzz.* | xxlimited* | _ctypes_test.*) rm -f "$so" ;; # CPython's own test modules
	esac
done
# shared libraries: the NEEDED closure of python and its remaining extension modules
install_libs "$L2" "$L2/usr/bin/python3.11" "$PYLIB"/lib-dynload/*.so
# glibc dlopens libgcc_s for pthread_cancel / thread exit unwinding
cp -L "$(find_lib libgcc_s.so.1)" "$L2/lib/i386-linux-gnu/libgcc_s.so.1"
cp "$(pkgdir media-types)/etc/mime.types" "$L2/etc/mime.types"
mkdir -p "$L2/usr/local/bin" "$L2/usr/local/lib/python3.11/dist-packages"
ln -sfn python3 "$L2/usr/bin/python"
# Check it runs (the busybox layer below provides /bin/sh), then byte-compile, with the guest's
# own python (so .pyc paths are right), the modules that typical programs import: compiling them
# at import time costs seconds under emulation, while .pyc for the whole stdlib would add ~10 MB.
# unchecked-hash pycs are deterministic and never stat the source. Other modules compile on
# first import (into the container's writable layer, as in Docker's python images).
PYTEST="$WORK/pytest-root"
cp -a "$L1" "$PYTEST" && cp -a "$L2/." "$PYTEST/"
PY_HOT='import sys, os, site, json, http.server, urllib.request, sqlite3, argparse, logging, subprocess, csv, datetime, pathlib, dataclasses, typing, random, re, shutil, tempfile, collections, functools, itertools, time, threading, math, string, textwrap, traceback, base64, hashlib, socketserver, uuid, readline, rlcompleter, unittest, encodings.idna, encodings.latin_1, encodings.ascii'
i386_chroot "$PYTEST" /usr/bin/python3 -c "$PY_HOT"'; hashlib.sha256(b"x").hexdigest(); print("\n".join(sorted(m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py"))))' >"$PYTEST/tmp/pyc-list" ||
	die "python in the base layer does not run or misses modules"
echo /usr/lib/python3.11/ssl.py >>"$PYTEST/tmp/pyc-list" # http.client tries it (no _ssl here)
PIP_VERSION_OUT=$(i386_chroot "$PYTEST" /usr/bin/python3 -c 'import sys, runpy, io, contextlib
out = io.StringIO()
sys.argv = ["pip", "--version"]
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("pip", run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code not in (0, None): raise
print(out.getvalue().strip(), file=sys.stderr)
print("\n".join(sorted(m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py"))))' 2>&1 >>"$PYTEST/tmp/pyc-list") ||
	die "pip does not run in the python layer: $PIP_VERSION_OUT"
log "python: $PIP_VERSION_OUT"
sort -u -o "$PYTEST/tmp/pyc-list" "$PYTEST/tmp/pyc-list"
i386_chroot "$PYTEST" /usr/bin/python3 -m compileall -q --invalidation-mode unchecked-hash -i /tmp/pyc-list >/dev/null ||
	die "byte-compiling the python stdlib failed"
log "python: precompiled $(wc -l <"$PYTEST/tmp/pyc-list") modules"
for pydir in usr/lib/python3.11 usr/lib/python3/dist-packages; do
	(cd "$PYTEST/$pydir" && find . -name '__pycache__' -type d) | while read -r d; do
		mkdir -p "$L2/$pydir/$d" && cp -a "$PYTEST/$pydir/$d/." "$L2/$pydir/$d/"
	done
done
layer_tar "$L2" "$STAGE/base/python-3.11.tar"
# The same tree as a squashfs image: the guest mounts it as the layer's overlay lower dir on first use
# (a loop mount of a file in the 9p share) instead of unpacking 45 MB of tar under emulation. Owners and
# times as layer_tar writes them. Nothing compressed inside (the emulated kernel would decompress what
# python reads: its first run took 359 million guest instructions with zstd, 155 million with LZ4, 129
# million with none; the superblock names LZ4, which the guest kernel has); the file as a whole is gzipped
# for the download (14 MB) and the host decompresses it.
mksquashfs "$L2" "$STAGE/base/python-3.11.sqfs" -comp lz4 -noI -noD -noF -noX -all-root -all-time 0 -mkfs-time 0 \
	-noappend -no-xattrs -quiet -no-progress >/dev/null || die "mksquashfs of the python layer failed"
PY_IMAGE_SIZE=$(stat -c %s "$STAGE/base/python-3.11.sqfs")
gzip -9 -n -f "$STAGE/base/python-3.11.sqfs" || die "gzip of the python layer image failed"
PY_VERSION=$(lock_entries | sed -n 's/^python3\.11-minimal:[^=]*=\([0-9.]*\).*/\1/p')
PIP_DEB_VERSION=$(lock_entries | sed -n 's/^python3-pip:[^=]*=\(.*\)/\1/p')

sha() { sha256sum "$1" | cut -d' ' -f1; }
sz() { stat -c %s "$1"; }
B="$STAGE/base/busybox-rootfs.tar"
P="$STAGE/base/python-3.11.tar"
BB_MINOR=$(cut -d. -f1,2 <<<"$BB_UPSTREAM")
PY_MINOR=3.11
BB_LAYER_NOTE="busybox $BB_UPSTREAM built from Debian source $BB_SRC_VERSION (defconfig, static)"
cat >"$STAGE/base/images.json" <<EOF
[
  {
    "name": "busybox",
    "tag": "latest",
    "tags": ["latest", "$BB_MINOR", "$BB_UPSTREAM"],
    "architecture": "386",
    "os": "linux",
    "layers": [
      {"file": "busybox-rootfs.tar", "digest": "sha256:$(sha "$B")", "size": $(sz "$B"), "files": "busybox-rootfs.files.json",
       "created_by": "ADD busybox-rootfs.tar / # $BB_LAYER_NOTE"}
    ],
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
  },
  {
    "name": "python",
    "tag": "3.11",
    "tags": ["$PY_MINOR", "$PY_VERSION", "latest"],
    "architecture": "386",
    "os": "linux",
    "layers": [
      {"file": "busybox-rootfs.tar", "digest": "sha256:$(sha "$B")", "size": $(sz "$B"), "files": "busybox-rootfs.files.json",
       "created_by": "ADD busybox-rootfs.tar / # $BB_LAYER_NOTE"},
      {"file": "python-3.11.tar", "digest": "sha256:$(sha "$P")", "size": $(sz "$P"), "files": "python-3.11.files.json",
       "image": {"file": "python-3.11.sqfs.gz", "type": "squashfs", "size": $PY_IMAGE_SIZE},
       "created_by": "ADD python-3.11.tar / # Debian libc6 + python3.11-minimal + libpython3.11-stdlib $PY_VERSION + python3-pip $PIP_DEB_VERSION"}
    ],
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PYTHON_VERSION=$PY_VERSION"], "Cmd": ["python3"]}
  }
]
EOF
log "layers: busybox $(sz "$B") bytes, python $(sz "$P") bytes"

# ---------------------------------------------------------------------------------------------
log "8. firmware, cmdline, outputs"
SB=$(pkgdir seabios)/usr/share/seabios
cp "$SB/bios.bin" "$STAGE/bios.bin"
cp "$SB/vgabios-stdvga.bin" "$STAGE/vgabios.bin"
tr -s ' \n' ' ' <"$VM_DIR/cmdline.txt" | sed 's/ $//' >"$STAGE/cmdline.txt"
echo >>"$STAGE/cmdline.txt"

mkdir -p "$OUT"
rm -rf "$OUT/base"
for f in bios.bin vgabios.bin bzImage initrd.img cmdline.txt base; do
	rm -rf "${OUT:?}/$f"
	mv "$STAGE/$f" "$OUT/$f"
done
input_hash >"$OUT/build-inputs.sha256"
[ -n "${LAYERLAB_BUILD_TRACING:-}" ] || rm -rf "$WORK" # a traced build keeps it for the checker
ensure_layer_files
ensure_snapshot
[ -z "${LAYERLAB_BUILD_TRACING:-}" ] || printf 'out=%s\nwork=%s\n' "$OUT" "$WORK" >"$LAYERLAB_BUILD_TRACE.done"
log "done: $OUT ($(du -sh "$OUT" | cut -f1)); kernel ${KSRC%%:*} ${KSRC#*=} ($(sz "$OUT/bzImage") bytes)"
