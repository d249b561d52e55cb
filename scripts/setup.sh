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
[ -x node_modules/.bin/bun ] && [ -d node_modules/yargs ] || npm ci --no-audit --no-fund
PATH="$PWD/node_modules/.bin:$PATH" bun run build
