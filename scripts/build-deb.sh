#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds dist/mkruckus_VERSION_ARCH.deb from the compiled binary with dpkg-deb alone (no debhelper,
# no network): the binary and its `ruckusrd` name, the kernel hooks, /etc/mkruckus.conf as a
# conffile, the man pages and the bash and zsh completions. Like Debian's dracut it provides
# linux-initramfs-tool and conflicts with the other generators, so exactly one tool owns
# /boot/initrd.img-*.
#   scripts/build-deb.sh [OUT.deb]     (runs `bun run build` first unless NO_BUILD=1)
#   DEB_ARCH=arm64 scripts/build-deb.sh [OUT.deb]
#       a package for another Debian architecture with the binary cross-compiled for it
#       (scripts/build-binary.ts --target; BINARY=FILE to give one already built)
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD

ARCH=${DEB_ARCH:-$(dpkg --print-architecture)}
if [ -z "${DEB_ARCH:-}" ]; then
	BINARY=${BINARY:-dist/mkruckus}
	[ "${NO_BUILD:-0}" = 1 ] || bun run build >/dev/null
else
	case $ARCH in
	amd64) TARGET=bun-linux-x64-baseline ;;
	arm64) TARGET=bun-linux-arm64 ;;
	*) echo "build-deb: no Bun target for Debian architecture $ARCH (amd64, arm64)" >&2; exit 1 ;;
	esac
	if [ -z "${BINARY:-}" ]; then
		BINARY=dist/mkruckus-linux-$ARCH
		[ "${NO_BUILD:-0}" = 1 ] || { bun run docs >/dev/null && bun scripts/build-binary.ts --target "$TARGET" >/dev/null; }
	fi
fi
for f in "$BINARY" dist/mkruckus.8 dist/ruckusrd.conf.5 dist/mkruckus.bash dist/_mkruckus; do
	[ -f "$f" ] || { echo "build-deb: $f is missing (bun run build)" >&2; exit 1; }
done

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
OUT=${1:-$ROOT/dist/mkruckus_${VERSION}_${ARCH}.deb}
# Every file's time: the last commit's, so two builds of one commit give the same package.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/mkruckus-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
P=$STAGE/pkg
DOC=$P/usr/share/doc/mkruckus

install -D -m 0755 "$BINARY" "$P/usr/bin/mkruckus"
ln -s mkruckus "$P/usr/bin/ruckusrd"
install -D -m 0755 packaging/kernel/postinst.d/zz-mkruckus "$P/etc/kernel/postinst.d/zz-mkruckus"
install -D -m 0755 packaging/kernel/postrm.d/zz-mkruckus "$P/etc/kernel/postrm.d/zz-mkruckus"
install -D -m 0755 packaging/kernel/install.d/50-mkruckus.install "$P/usr/lib/kernel/install.d/50-mkruckus.install"
install -D -m 0644 packaging/mkruckus.conf "$P/etc/mkruckus.conf"
install -D -m 0644 dist/mkruckus.8 "$P/usr/share/man/man8/mkruckus.8"
gzip -9n "$P/usr/share/man/man8/mkruckus.8"
ln -s mkruckus.8.gz "$P/usr/share/man/man8/ruckusrd.8.gz"
install -D -m 0644 dist/ruckusrd.conf.5 "$P/usr/share/man/man5/ruckusrd.conf.5"
gzip -9n "$P/usr/share/man/man5/ruckusrd.conf.5"
install -D -m 0644 dist/mkruckus.bash "$P/usr/share/bash-completion/completions/mkruckus"
ln -s mkruckus "$P/usr/share/bash-completion/completions/ruckusrd"
# Debian's zsh reads vendor completions from here (its #compdef line names both commands).
install -D -m 0644 dist/_mkruckus "$P/usr/share/zsh/vendor-completions/_mkruckus"
install -D -m 0644 packaging/debian/copyright "$DOC/copyright"
install -D -m 0644 README.md "$DOC/README.md"
# A Bun executable carries its program after the ELF image: stripping it would cut that off.
install -D -m 0644 packaging/debian/lintian-overrides "$P/usr/share/lintian/overrides/mkruckus"
sed "s/@VERSION@/$VERSION/; s/@DATE@/$(date -u -R -d "@$SOURCE_DATE_EPOCH")/" packaging/debian/changelog >"$DOC/changelog"
gzip -9n "$DOC/changelog"

mkdir -p "$P/DEBIAN"
for f in preinst postinst triggers; do install -m 0644 "packaging/debian/$f" "$P/DEBIAN/$f"; done
chmod 0755 "$P/DEBIAN/preinst" "$P/DEBIAN/postinst"
(cd "$P" && find etc -type f | sed 's|^|/|' | sort) >"$P/DEBIAN/conffiles"
(cd "$P" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) >"$P/DEBIAN/md5sums"
SIZE=$(du -k -s --exclude=DEBIAN "$P" | cut -f1)
sed "s/@VERSION@/$VERSION/; s/@ARCH@/$ARCH/; s/@SIZE@/$SIZE/" packaging/debian/control >"$P/DEBIAN/control"

find "$P" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$(dirname "$OUT")"
# gzip: xz over a 100 MB binary takes minutes on a small machine, for little gain.
dpkg-deb --root-owner-group -Zgzip --build "$P" "$OUT" >/dev/null
echo "$OUT"
