# SPDX-License-Identifier: GPL-2.0-or-later
# Binaries a generic image rarely runs (cryptsetup, lvm, mdadm, mksquashfs, tar) and the libraries
# only they need are kept in one gzip'd archive: the kernel unpacks every file of an initramfs before
# /init, and these would cost every boot. Each binary's path holds a stub that sources this file,
# calls cold_unpack with its own path, then execs that path again, now the real binary.

COLD_ARCHIVE=/usr/lib/ruckusrd/cold.cpio.gz
COLD_LOCK=/run/ruckusrd/cold.lock
COLD_DONE=/run/ruckusrd/cold.done

# cold_unpack PATH: unpacks the archive over / once; a caller meanwhile waits for the first one.
# Fails when it cannot, or when PATH is still a stub after it (not in the archive: no loop).
cold_unpack() {
	if [ ! -e "$COLD_DONE" ]; then
		mkdir -p /run/ruckusrd
		if mkdir "$COLD_LOCK" 2>/dev/null; then
			# -u: each stub is replaced by its binary (a new inode: a running stub keeps reading its own)
			if (cd / && gunzip -c "$COLD_ARCHIVE" | cpio -i -d -m -u 2>/dev/null); then
				: > "$COLD_DONE"
			fi
			rmdir "$COLD_LOCK"
		else
			while [ -d "$COLD_LOCK" ]; do sleep 0.05; done
		fi
	fi
	[ -e "$COLD_DONE" ] || { echo "ruckusrd: cannot unpack $COLD_ARCHIVE for $1" >&2; return 1; }
	case $(head -c 64 "$1" 2>/dev/null) in
	*cold_unpack*) echo "ruckusrd: $1 is not in $COLD_ARCHIVE" >&2; return 1 ;;
	esac
	return 0
}
