# SPDX-License-Identifier: GPL-2.0-or-later
# Two-stage images: the second stage (erofs or squashfs) is loop-mounted read-only and laid over
# the first stage's top-level directories with a tmpfs upper; before switch_root it is all
# detached so nothing of the initramfs stays mounted. Its size and sha256 were fixed at build
# time (/etc/ruckusrd/stage2.conf) and a file that does not match is refused.

S2=/.stage2
S2_TYPE=
S2_PLACEMENT=
S2_IMAGE=
S2_DEV=
S2_PATH=
S2_SIZE=
S2_SHA256=
S2_DIRS=

read_stage2_conf() {
	[ -f /etc/ruckusrd/stage2.conf ] || return 1
	while IFS='=' read -r _k _v; do
		case $_k in
		type) S2_TYPE=$_v ;;
		placement) S2_PLACEMENT=$_v ;;
		image) S2_IMAGE=$_v ;;
		dev) S2_DEV=$_v ;;
		path) S2_PATH=$_v ;;
		size) S2_SIZE=$_v ;;
		sha256) S2_SHA256=$_v ;;
		dirs) S2_DIRS=$_v ;;
		esac
	done < /etc/ruckusrd/stage2.conf
}

# verify_stage2 FILE WHERE: the size and sha256 recorded at build time, or fatal.
verify_stage2() {
	[ -f "$1" ] || fatal "second stage $2 is missing"
	_size=$(stat -c %s "$1")
	[ "$_size" = "$S2_SIZE" ] || fatal "second stage $2 has $_size bytes, expected $S2_SIZE (truncated or replaced)"
	_sum=$(sha256sum "$1")
	[ "${_sum%% *}" = "$S2_SHA256" ] || fatal "second stage $2 fails its sha256 check (altered)"
}

# mount_stage2 FILE: loop-mounts the image and overlays each of its top-level directories.
mount_stage2() {
	modprobe -q -a loop "$S2_TYPE" overlay
	mkdir -p "$S2/image" "$S2/rw"
	mount -t "$S2_TYPE" -o ro,loop "$1" "$S2/image" || fatal "cannot mount the second stage $1 ($S2_TYPE)"
	mount -t tmpfs -o mode=0755 stage2-rw "$S2/rw" || fatal "cannot mount a tmpfs for the second stage"
	for _d in $S2_DIRS; do
		mkdir -p "/$_d" "$S2/rw/$_d.upper" "$S2/rw/$_d.work"
		mount -t overlay -o "lowerdir=$S2/image/$_d:/$_d,upperdir=$S2/rw/$_d.upper,workdir=$S2/rw/$_d.work" stage2 "/$_d" ||
			fatal "cannot lay the second stage over /$_d"
	done
	echo "stage2=$S2_TYPE $S2_PLACEMENT $1" >> "$RD_RUN/state"
}

# Detaches everything of the second stage. Lazily: this shell's own children run from the
# overlays, and the last reference goes with the exec of switch_root (the loop device clears).
release_stage2() {
	cd / || return 0
	for _d in $S2_DIRS; do umount -l "/$_d" || warn "cannot detach /$_d"; done
	for _m in image rw boot; do
		grep -q " $S2/$_m " /proc/mounts && { umount -l "$S2/$_m" || warn "cannot detach $S2/$_m"; }
	done
	return 0
}
