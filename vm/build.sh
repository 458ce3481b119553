#!/usr/bin/env bash
# Builds the Layerlab guest (kernel, initramfs, BIOS, base image layers) from the pinned
# Debian i386 packages in vm/packages.lock. See vm/README.md for the steps and outputs.
#
#   vm/build.sh            build into public/vm/ unless it is up to date
#   vm/build.sh --force    rebuild even if the recorded input hash matches
#   vm/build.sh --update   re-resolve packages.txt to the newest versions, rewrite the lock
#   vm/build.sh --out DIR  write somewhere else (default: public/vm)
#
# Needs root on Debian (apt-get, dpkg --add-architecture, chroot for byte-compiling python).
set -euo pipefail
export LC_ALL=C

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$VM_DIR")
OUT="$ROOT/public/vm"
CACHE="$VM_DIR/.cache"
FORCE=0
UPDATE=0
INITRD_COMPRESS=${INITRD_COMPRESS:-xz} # xz | gzip | zstd (the kernel has RD_XZ, RD_GZIP, RD_ZSTD)

while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1 ;;
	--update) UPDATE=1 FORCE=1 ;;
	--out) OUT=$(realpath -m "$2"); shift ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "vm/build.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

log() { printf 'vm: %s\n' "$*" >&2; }
die() { printf 'vm/build.sh: error: %s\n' "$*" >&2; exit 1; }

PKG_LIST="$VM_DIR/packages.txt"
LOCK="$VM_DIR/packages.lock"
AGENT_SRC=${LAYERLAB_AGENT_SRC:-$VM_DIR/agent/agent.c} # override only for testing
MODULES=(virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console
	9pnet 9pnet_virtio netfs fscache 9p overlay)
MODULES+=(virtio_net) # the VM's own network interface (v86 virtio-net; the relay carries its TCP out)

[ -f "$AGENT_SRC" ] || die "$AGENT_SRC is missing: the guest agent must be written before the VM can be built (see vm/agent/PROTOCOL.md)"

# ---------------------------------------------------------------------------------------------
# Input hash: every file that influences the outputs. Equal hash => nothing to do.
input_hash() {
	(
		cd "$VM_DIR"
		{
			printf '%s\n' build.sh packages.txt packages.lock cmdline.txt "${AGENT_SRC#"$VM_DIR"/}"
			find rootfs base -type f 2>/dev/null
			find agent -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null
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
		sha256sum vm/snapshot.ts vm/base-images.ts src/vm/machine.ts src/vm/node.ts src/vm/agent-client.ts
	) | sha256sum | cut -d' ' -f1
}
ensure_snapshot() {
	if [ "$FORCE" = 0 ] && [ -f "$OUT/state.bin.zst" ] && [ -f "$OUT/state-inputs.sha256" ] &&
		[ "$(cat "$OUT/state-inputs.sha256")" = "$(snapshot_hash)" ]; then
		return 0
	fi
	command -v zstd >/dev/null || { apt-get install -y -q zstd >/dev/null || die "zstd is needed to compress the VM state"; }
	log "9. boot once under Node and save the VM state"
	(cd "$VM_DIR/.." && npx tsx vm/snapshot.ts "$OUT") || die "saving the VM state failed (see above)"
	snapshot_hash >"$OUT/state-inputs.sha256"
}

if [ "$FORCE" = 0 ] && [ -f "$OUT/build-inputs.sha256" ] &&
	[ "$(cat "$OUT/build-inputs.sha256")" = "$(input_hash)" ]; then
	ensure_snapshot
	echo "vm: up to date ($OUT)"
	exit 0
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
command -v modinfo >/dev/null || need_pkgs+=(kmod)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v readelf >/dev/null || need_pkgs+=(binutils)
command -v dpkg-deb >/dev/null || die "dpkg-deb not found: this build needs a Debian host"
tar --version 2>/dev/null | grep -q 'GNU tar' || need_pkgs+=(tar)
dpkg -s gcc-multilib >/dev/null 2>&1 || need_pkgs+=(gcc-multilib)
dpkg -s libc6-dev-i386 >/dev/null 2>&1 || need_pkgs+=(libc6-dev-i386)

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
	local line name arch dep v out=()
	for line in "${PKG_LINES[@]}"; do
		read -r name flag <<<"$line"
		arch=${name##*:}
		[ "$arch" != "$name" ] || die "packages.txt: '$name' needs an explicit :arch"
		if [ "${flag:-}" = "@meta" ]; then
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
WORK="$CACHE/work"
rm -rf "$WORK"
mkdir -p "$WORK/x"
declare -A PKGDIR # package name -> extracted tree
for e in $(lock_entries); do
	n=${e%%:*}
	dpkg-deb -x "$(deb_file "$e")" "$WORK/x/$n"
	PKGDIR[$n]="$WORK/x/$n"
done
pkgdir() { [ -n "${PKGDIR[$1]:-}" ] || die "package $1 is not in the lock"; echo "${PKGDIR[$1]}"; }

KPKG=$(lock_entries | sed -n 's/^\(linux-image-[0-9][^:]*\):.*/\1/p' | head -1)
[ -n "$KPKG" ] || die "no linux-image-<version> package in the lock"
KDIR=$(pkgdir "$KPKG")
KVER=$(ls "$KDIR/lib/modules" | head -1)
KCONFIG="$KDIR/boot/config-$KVER"

# ---------------------------------------------------------------------------------------------
log "4. kernel $KVER and modules"
STAGE="$WORK/out"
mkdir -p "$STAGE/base"
cp "$KDIR/boot/vmlinuz-$KVER" "$STAGE/bzImage"
case "$INITRD_COMPRESS" in
xz) grep -qx CONFIG_RD_XZ=y "$KCONFIG" || { log "kernel lacks RD_XZ; using gzip"; INITRD_COMPRESS=gzip; } ;;
zstd) grep -qx CONFIG_RD_ZSTD=y "$KCONFIG" || { log "kernel lacks RD_ZSTD; using gzip"; INITRD_COMPRESS=gzip; } ;;
gzip) ;;
*) die "INITRD_COMPRESS must be xz, zstd or gzip" ;;
esac

declare -A MODFILE
for m in "${MODULES[@]}"; do
	f=$(find "$KDIR/lib/modules/$KVER" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -1)
	if [ -z "$f" ]; then
		# built in? then there is nothing to load
		grep -q "/$m.ko\$" "$KDIR/lib/modules/$KVER/modules.builtin" 2>/dev/null && continue
		die "module $m not found in $KPKG"
	fi
	MODFILE[$m]=$f
done
MOD_ORDER=()
declare -A MOD_STATE
visit_module() { # depth-first: dependencies first (modinfo -F depends; there is no modules.dep)
	local m=$1 d
	[ "${MOD_STATE[$m]:-}" = done ] && return
	[ "${MOD_STATE[$m]:-}" = busy ] && die "module dependency cycle at $m"
	MOD_STATE[$m]=busy
	if [ -z "${MODFILE[$m]:-}" ]; then
		local f
		f=$(find "$KDIR/lib/modules/$KVER" -name "$m.ko*" | head -1)
		[ -n "$f" ] || die "module $m (a dependency) not found"
		MODFILE[$m]=$f
	fi
	for d in $(modinfo -F depends "${MODFILE[$m]}" | tr ',' ' '); do visit_module "$d"; done
	MOD_STATE[$m]=done
	MOD_ORDER+=("$m")
}
for m in "${MODULES[@]}"; do [ -n "${MODFILE[$m]:-}" ] && visit_module "$m"; done
log "module load order: ${MOD_ORDER[*]}"

# ---------------------------------------------------------------------------------------------
log "5. agent"
AGENT="$WORK/agent"
gcc -m32 -static -Os -o "$AGENT" "$AGENT_SRC" ||
	die "compiling $AGENT_SRC failed (gcc -m32 -static -Os)"
strip "$AGENT"

# ---------------------------------------------------------------------------------------------
# helpers for assembling trees
BB="$(pkgdir busybox-static)/bin/busybox"
"$BB" true 2>/dev/null || die "cannot run the i386 busybox on this host (needs a kernel with IA32 emulation)"

# All library directories of the extracted packages, for resolving sonames.
LIBDIRS=()
for n in "${!PKGDIR[@]}"; do
	for d in lib/i386-linux-gnu usr/lib/i386-linux-gnu; do
		[ -d "${PKGDIR[$n]}/$d" ] && LIBDIRS+=("${PKGDIR[$n]}/$d")
	done
done
find_lib() { # soname -> path of the file in an extracted package
	local d
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
for a in $("$BB" --list-full); do
	[ -e "$IR/$a" ] || [ -L "$IR/$a" ] || ln -s "/bin/busybox" "$IR/$a"
done
cp "$(pkgdir crun)/usr/bin/crun" "$IR/usr/bin/crun"
install_libs "$IR" "$IR/usr/bin/crun"
cp "$AGENT" "$IR/usr/bin/layerlab-agent"
ln -sfn layerlab-agent "$IR/usr/bin/docker"
mkdir -p "$IR/lib/modules/layerlab"
: >"$IR/lib/modules/layerlab/order"
for m in "${MOD_ORDER[@]}"; do
	f=${MODFILE[$m]}
	case "$f" in # busybox insmod does not decompress: store plain .ko
	*.ko) cp "$f" "$IR/lib/modules/layerlab/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$IR/lib/modules/layerlab/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$IR/lib/modules/layerlab/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$IR/lib/modules/layerlab/$m.ko" ;;
	esac
	echo "$m" >>"$IR/lib/modules/layerlab/order"
done
chmod 1777 "$IR/tmp"
chmod 0700 "$IR/root"
# sanity: crun runs with exactly these files (the host can execute i386)
# sanity: the dynamic loader resolves all of crun's libraries inside the tree (crun itself cannot
# run here: it re-executes itself through a memfd, which needs /proc)
if chroot "$IR" /lib/ld-linux.so.2 --list /usr/bin/crun | grep -q 'not found'; then
	die "crun has unresolved libraries in the initramfs: $(chroot "$IR" /lib/ld-linux.so.2 --list /usr/bin/crun | grep 'not found' | tr -s '\n\t' ' ')"
fi
# The same userland for the benchmark's native comparison (bench/vm.ts runs this crun on the host).
rm -rf "$VM_DIR/.cache/native" && cp -a "$IR" "$VM_DIR/.cache/native"
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
L1="$WORK/layer-busybox"
mkdir -p "$L1"/{bin,etc,proc,sys,dev,tmp,root,home,var,usr/bin,run}
cp "$BB" "$L1/bin/busybox"
for a in $("$BB" --list); do
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
chroot "$PYTEST" /usr/bin/python3 -c "$PY_HOT"'; hashlib.sha256(b"x").hexdigest(); print("\n".join(sorted(m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith(".py"))))' >"$PYTEST/tmp/pyc-list" ||
	die "python in the base layer does not run or misses modules"
echo /usr/lib/python3.11/ssl.py >>"$PYTEST/tmp/pyc-list" # http.client tries it (no _ssl here)
chroot "$PYTEST" /usr/bin/python3 -m compileall -q --invalidation-mode unchecked-hash -i /tmp/pyc-list >/dev/null ||
	die "byte-compiling the python stdlib failed"
log "python: precompiled $(wc -l <"$PYTEST/tmp/pyc-list") modules"
(cd "$PYTEST/usr/lib/python3.11" && find . -name '__pycache__' -type d) | while read -r d; do
	mkdir -p "$PYLIB/$d" && cp -a "$PYTEST/usr/lib/python3.11/$d/." "$PYLIB/$d/"
done
layer_tar "$L2" "$STAGE/base/python-3.11.tar"
PY_VERSION=$(lock_entries | sed -n 's/^python3\.11-minimal:[^=]*=\([0-9.]*\).*/\1/p')

sha() { sha256sum "$1" | cut -d' ' -f1; }
sz() { stat -c %s "$1"; }
B="$STAGE/base/busybox-rootfs.tar"
P="$STAGE/base/python-3.11.tar"
BB_VERSION=$(lock_entries | sed -n 's/^busybox-static:[^=]*=\(.*\)/\1/p')
cat >"$STAGE/base/images.json" <<EOF
[
  {
    "name": "busybox",
    "tag": "latest",
    "tags": ["latest"],
    "architecture": "386",
    "os": "linux",
    "layers": [
      {"file": "busybox-rootfs.tar", "digest": "sha256:$(sha "$B")", "size": $(sz "$B"),
       "created_by": "ADD busybox-rootfs.tar / # Debian busybox-static $BB_VERSION"}
    ],
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
  },
  {
    "name": "python",
    "tag": "3.11",
    "tags": ["3.11", "$PY_VERSION", "latest"],
    "architecture": "386",
    "os": "linux",
    "layers": [
      {"file": "busybox-rootfs.tar", "digest": "sha256:$(sha "$B")", "size": $(sz "$B"),
       "created_by": "ADD busybox-rootfs.tar / # Debian busybox-static $BB_VERSION"},
      {"file": "python-3.11.tar", "digest": "sha256:$(sha "$P")", "size": $(sz "$P"),
       "created_by": "ADD python-3.11.tar / # Debian libc6 + python3.11-minimal + libpython3.11-stdlib $PY_VERSION"}
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
rm -rf "$WORK"
ensure_snapshot
log "done: $OUT ($(du -sh "$OUT" | cut -f1)); kernel $KVER"
