#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs everything mkruckus needs on a fresh Debian 12 machine and builds dist/mkruckus.
set -eu
cd "$(dirname "$0")/.."
PKGS="busybox-static squashfs-tools squashfs-tools-ng erofs-utils cpio e2fsprogs xfsprogs qemu-system-x86 linux-image-amd64 kmod zstd xz-utils lz4 util-linux fdisk shellcheck dash strace binutils systemd-boot-efi sbsigntool ovmf dosfstools mtools file openssl mmdebstrap lintian man-db cryptsetup-bin lvm2 mdadm kbd console-setup qemu-system-arm zsh qemu-user"
[ "${WITH_PEERS:-0}" = 1 ] && PKGS="$PKGS dracut-core initramfs-tools tiny-initramfs-core"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
# The arm64 cross-build test (test/boot/arm64.boot.test.ts) fetches Debian's arm64 packages with apt-get download.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	$SUDO dpkg --add-architecture arm64
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
fi
if [ -n "$missing" ]; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # a word list
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
# A second kernel series (issue 10): Debian 12's 6.12 (.ko.xz modules) beside linux-image-amd64's 6.1.
# It is then the newest, so the boot tests build and boot it, and the suite proves it holds on any
# installed kernel set. The newest offered; none offered is said, not fatal (the suite needs one kernel).
if ! dpkg-query -W -f='${Status}\n' 'linux-image-6.12*-amd64-unsigned' 2>/dev/null | grep -q 'install ok installed'; then
	k612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | cut -d' ' -f1 | sort -V | tail -n 1)
	if [ -n "$k612" ]; then
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$k612"
	else
		echo "setup.sh: apt offers no linux-image-6.12*-amd64-unsigned: the suite runs with the 6.1 kernel only" >&2
	fi
fi
[ -x node_modules/.bin/bun ] && [ -d node_modules/yargs ] || npm ci --no-audit --no-fund
PATH="$PWD/node_modules/.bin:$PATH" bun run build
