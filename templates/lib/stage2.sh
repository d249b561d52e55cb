# SPDX-License-Identifier: GPL-2.0-or-later
# Two-stage images: the second stage (erofs or squashfs) is loop-mounted read-only and laid over
# the first stage's top-level directories with a tmpfs upper; before switch_root it is all
# detached so nothing of the initramfs stays mounted. Its size and sha256 were fixed at build
# time (/etc/ruckusrd/stage2.conf) and a file that does not match is refused. A /boot second stage
# with a dm-verity root hash (verity_root=) is not read whole for its sha256: it is mounted through
# dm-verity, which checks each block against that root hash as it is read (an altered block is an
# I/O error, never data).

S2=/.stage2
S2_TYPE=
S2_PLACEMENT=
S2_IMAGE=
S2_DEV=
S2_PATH=
S2_SIZE=
S2_SHA256=
S2_DIRS=
S2_VERITY_ROOT=
S2_VERITY_SALT=
S2_VERITY_BLOCKS=
S2_DM=ruckus-stage2

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
		verity_root) S2_VERITY_ROOT=$_v ;;
		verity_salt) S2_VERITY_SALT=$_v ;;
		verity_blocks) S2_VERITY_BLOCKS=$_v ;;
		esac
	done < /etc/ruckusrd/stage2.conf
}

# verify_stage2 FILE WHERE: the size and sha256 recorded at build time, or fatal.
verify_stage2() {
	[ -f "$1" ] || fatal "second stage $2 is missing"
	_size=$(stat -c %s "$1")
	[ "$_size" = "$S2_SIZE" ] || fatal "second stage $2 has $_size bytes, expected $S2_SIZE (truncated or replaced)"
	# dm-verity checks the blocks as they are read (mount_stage2).
	[ -n "$S2_VERITY_ROOT" ] && return 0
	_sum=$(sha256sum "$1")
	[ "${_sum%% *}" = "$S2_SHA256" ] || fatal "second stage $2 fails its sha256 check (altered)"
}

# mount_stage2 FILE: loop-mounts the image and overlays each of its top-level directories.
mount_stage2() {
	modprobe -q -a loop "$S2_TYPE" overlay
	mkdir -p "$S2/image" "$S2/rw"
	if [ -n "$S2_VERITY_ROOT" ]; then
		open_verity_stage2 "$1"
		mount -t "$S2_TYPE" -o ro "/dev/mapper/$S2_DM" "$S2/image" ||
			fatal "cannot mount the second stage $1 through dm-verity: altered (its blocks do not match the recorded root hash) or not $S2_TYPE"
		echo "stage2_verity=$S2_VERITY_ROOT" >> "$RD_RUN/state"
	else
		mount -t "$S2_TYPE" -o ro,loop "$1" "$S2/image" || fatal "cannot mount the second stage $1 ($S2_TYPE)"
	fi
	mount -t tmpfs -o mode=0755 stage2-rw "$S2/rw" || fatal "cannot mount a tmpfs for the second stage"
	for _d in $S2_DIRS; do
		mkdir -p "/$_d" "$S2/rw/$_d.upper" "$S2/rw/$_d.work"
		mount -t overlay -o "lowerdir=$S2/image/$_d:/$_d,upperdir=$S2/rw/$_d.upper,workdir=$S2/rw/$_d.work" stage2 "/$_d" ||
			fatal "cannot lay the second stage over /$_d"
	done
	echo "stage2=$S2_TYPE $S2_PLACEMENT $1" >> "$RD_RUN/state"
}

# open_verity_stage2 FILE: /dev/mapper/$S2_DM, a dm-verity device over FILE's data blocks, its hash
# tree being the blocks after them in the same file (one read-only loop device for both).
open_verity_stage2() {
	case $S2_VERITY_BLOCKS in
	'' | 0* | *[!0-9]*) fatal "stage2.conf: verity_blocks=$S2_VERITY_BLOCKS is not a block count" ;;
	esac
	modprobe -q dm-verity
	command -v dmsetup >/dev/null || fatal "the second stage has a dm-verity root hash but this image has no dmsetup"
	_s2_loop=$(losetup -f) || fatal "no free loop device for the second stage"
	losetup -r "$_s2_loop" "$1" || fatal "cannot attach the second stage $1 to $_s2_loop"
	dmsetup create --readonly --noudevsync "$S2_DM" --table \
		"0 $((S2_VERITY_BLOCKS * 8)) verity 1 $_s2_loop $_s2_loop 4096 4096 $S2_VERITY_BLOCKS $S2_VERITY_BLOCKS sha256 $S2_VERITY_ROOT $S2_VERITY_SALT" ||
		fatal "dm-verity refuses the second stage $1 (no dm-verity in the kernel, or a bad table)"
	[ -b "/dev/mapper/$S2_DM" ] || dmsetup mknodes "$S2_DM"
	# The loop device goes when dm-verity lets go of it (detaching a busy one sets autoclear).
	losetup -d "$_s2_loop" 2>/dev/null
	return 0
}

# Detaches everything of the second stage. Lazily: this shell's own children run from the
# overlays, and the last reference goes with the exec of switch_root (the loop device clears).
release_stage2() {
	cd / || return 0
	for _d in $S2_DIRS; do umount -l "/$_d" || warn "cannot detach /$_d"; done
	for _m in image rw boot; do
		grep -q " $S2/$_m " /proc/mounts && { umount -l "$S2/$_m" || warn "cannot detach $S2/$_m"; }
	done
	# The dm-verity device goes with its last user (the lazily detached mount, at switch_root).
	if [ -n "$S2_VERITY_ROOT" ] && [ -b "/dev/mapper/$S2_DM" ]; then
		dmsetup remove --deferred "$S2_DM" || warn "cannot detach the dm-verity device $S2_DM"
	fi
	return 0
}
