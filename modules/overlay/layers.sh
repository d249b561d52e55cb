# SPDX-License-Identifier: GPL-2.0-or-later
# Layered root (SPEC §2): read-only squashfs/erofs layers + an upper, assembled with OverlayFS.
# While assembling, mounts live at the top of the initramfs; 95-move-layer-mounts.sh moves them
# to their places under /mnt in the new root.

RD_TRUE=/root-true
RD_LAYERDEV=/sqsh_layerdev
RD_LOWER=
RD_LAYER_NAMES=
RD_UPPER=
RD_LAYER_TYPES=

# layer_fstype FILE: sets REPLY to squashfs or erofs, by magic (never by name).
layer_fstype() {
	REPLY=$(head -c 4 "$1" 2>/dev/null)
	[ "$REPLY" = hsqs ] && REPLY=squashfs && return 0
	REPLY=$(dd if="$1" bs=1 skip=1024 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[ "$REPLY" = e2e1f5e0 ] && REPLY=erofs && return 0
	return 1
}

# find_layer NAME: sets REPLY to the layer file; the root device first, then sqsh_layerdev.
find_layer() {
	read_param sqsh_layerdir
	_rel=${REPLY:+$REPLY/}$1.sqsh
	for _top in "$RD_TRUE" "$RD_LAYERDEV"; do
		[ -f "$_top/$_rel" ] && REPLY=$_top/$_rel && return 0
	done
	_where="the root device"
	has_param sqsh_layerdev && _where="$_where or sqsh_layerdev"
	fatal "layer $1 not found: no $_rel on $_where"
}

# mount_layer NAME FILE: mounts one read-only layer (through dm-verity when it has a trusted root
# hash, else loop-mounted) and records it.
mount_layer() {
	layer_fstype "$2" || fatal "layer $1: $2 is neither squashfs nor erofs"
	_ltype=$REPLY
	case " $RD_LAYER_TYPES " in
	*" $_ltype "*) ;;
	*) modprobe -q "$_ltype"; RD_LAYER_TYPES="$RD_LAYER_TYPES $_ltype" ;;
	esac
	verity_layer "$1" "$2"
	_lopts=ro
	[ "$REPLY" = "$2" ] && _lopts=ro,loop
	mkdir -p "/sqsh_layer-$1"
	mount -t "$_ltype" -o "$_lopts" "$REPLY" "/sqsh_layer-$1" || fatal "cannot mount layer $1 ($REPLY, $_ltype)"
	RD_LOWER=${RD_LOWER:+$RD_LOWER:}/sqsh_layer-$1
	RD_LAYER_NAMES="$RD_LAYER_NAMES $1"
	state_layer "$1" "$2" "$_ltype"
}

# Verified layers (dm-verity). A layer's trusted root hash comes from the image (/etc/ruckusrd/verity,
# `trust NAME HASH` lines from --trust-layer) or else from sqsh_verity_roots=NAME=HASH,... on the
# command line (never from ruckusrd.conf, which lies on the disk being checked); its hash tree is the
# file NAME.sqsh.verity beside it. sqsh_verity=off|auto|require: auto verifies the layers that have
# a trusted hash, require refuses any other; the command line cannot go below the build's require.
RD_VERITY_CONF=/etc/ruckusrd/verity
RD_VERITY=auto

# verity_policy: sets RD_VERITY from the build's policy line and sqsh_verity=.
verity_policy() {
	_vp_build=auto
	[ -f "$RD_VERITY_CONF" ] && grep -qx 'policy=require' "$RD_VERITY_CONF" && _vp_build=require
	read_param sqsh_verity "$_vp_build"
	case $_vp_build:$REPLY in
	require:*) RD_VERITY=require ;;
	auto:off | auto:auto | auto:require) RD_VERITY=$REPLY ;;
	*) fatal "sqsh_verity=$REPLY: expected off, auto or require" ;;
	esac
}

# verity_root NAME: sets REPLY to the trusted root hash of layer NAME, or fails.
verity_root() {
	if [ -f "$RD_VERITY_CONF" ]; then
		while read -r _vk _vn _vh; do
			[ "$_vk" = trust ] && [ "$_vn" = "$1" ] && REPLY=$_vh && return 0
		done < "$RD_VERITY_CONF"
	fi
	read_param sqsh_verity_roots || return 1
	_vr_found=
	_vr_ifs=$IFS
	IFS=,
	for _vr in $REPLY; do
		case $_vr in "$1="?*) _vr_found=${_vr#*=}; break ;; esac
	done
	IFS=$_vr_ifs
	[ -n "$_vr_found" ] && REPLY=$_vr_found
}

# verity_layer NAME FILE: sets REPLY to what to mount: FILE, or the dm-verity device over it. A
# layer whose data or hash tree does not match its trusted root hash fails to open or to mount.
verity_layer() {
	REPLY=$2
	[ "$RD_VERITY" = off ] && return 0
	if ! verity_root "$1"; then
		[ "$RD_VERITY" = require ] && fatal "layer $1 has no trusted root hash (sqsh_verity=require)"
		REPLY=$2
		return 0
	fi
	_vroot=$REPLY
	case $_vroot in '' | *[!0-9a-f]*) fatal "layer $1: the trusted root hash is not lower-case hex: $_vroot" ;; esac
	[ -f "$2.verity" ] || fatal "layer $1: no hash tree $2.verity for its trusted root hash"
	command -v veritysetup >/dev/null || fatal "layer $1 has a trusted root hash but the image has no veritysetup (--add verity)"
	modprobe -q dm-verity
	veritysetup open "$2" "ruckus-layer-$1" "$2.verity" "$_vroot" ||
		fatal "layer $1: dm-verity refuses $2 (it or its hash tree does not match the trusted root hash)"
	REPLY=/dev/mapper/ruckus-layer-$1
	echo "verity=$1 $_vroot" >> "$RD_RUN/state"
}

# state_layer NAME FILE FSTYPE: the file as the running system will see it.
state_layer() {
	case $2 in
	"$RD_TRUE"/*) _seen=/mnt/root-true${2#"$RD_TRUE"} ;;
	"$RD_LAYERDEV"/*) _seen=/mnt/sqsh_layerdev${2#"$RD_LAYERDEV"} ;;
	*) _seen=$2 ;;
	esac
	printf 'layer=%s %s %s /mnt/sqsh_layer-%s\n' "$1" "$3" "$_seen" "$1" >> "$RD_RUN/state"
}

# The root device holds the upper layer (read-write) unless ram_layer (read-only, or
# read-write with root_true_rw).
prepare_root_true() {
	mkdir -p "$RD_TRUE"
	mount --move "$NEWROOT" "$RD_TRUE" || fatal "cannot move the root device to $RD_TRUE"
	_mode=rw
	has_param ram_layer && ! has_param root_true_rw && _mode=ro
	mount -o "remount,$_mode" "$RD_TRUE" || fatal "cannot remount the root device $_mode"
}

mount_layerdev() {
	read_param sqsh_layerdev || return 0
	_spec=$REPLY
	read_param sqshfstype
	mount_device "$_spec" "$RD_LAYERDEV" "$REPLY" ro
	echo "layerdev=$_spec $_dev" >> "$RD_RUN/state"
}

# to_ram: the layer files (or the legacy /squashfs.img) are copied into a tmpfs that takes the
# place of sqsh_layerdev, so nothing keeps the root device busy once the root is assembled.
copy_layers_to_ram() {
	mkdir -p "$RD_LAYERDEV"
	mount -t tmpfs -o mode=0755 to_ram "$RD_LAYERDEV" || fatal "cannot mount a tmpfs for to_ram"
	if [ "$RD_MODE" = legacy ]; then
		cp "$RD_TRUE/squashfs.img" "$RD_LAYERDEV/squashfs.img" || fatal "to_ram: cannot copy /squashfs.img into RAM"
		if [ -f "$RD_TRUE/squashfs.img.verity" ]; then
			cp "$RD_TRUE/squashfs.img.verity" "$RD_LAYERDEV/squashfs.img.verity" || fatal "to_ram: cannot copy /squashfs.img.verity into RAM"
		fi
	fi
	for _name in $1; do
		find_layer "$_name"
		cp "$REPLY" "$RD_LAYERDEV/$_name.sqsh" || fatal "to_ram: cannot copy $REPLY into RAM"
		if [ -f "$REPLY.verity" ]; then
			cp "$REPLY.verity" "$RD_LAYERDEV/$_name.sqsh.verity" || fatal "to_ram: cannot copy $REPLY.verity into RAM"
		fi
	done
	msg "to_ram: copied layers into RAM"
}

# With ram_layer, a persistent upper left on the root device becomes the topmost read-only layer.
mount_ram_upper() {
	mkdir -p /upper
	mount -t tmpfs -o "size=$1,mode=0755" ram_layer /upper || fatal "cannot mount ram_layer of size $1"
	mkdir -p /upper/upper /upper/work
	RD_UPPER=/upper
	[ -d "$RD_TRUE/upper/upper" ] || return 0
	_src=$RD_TRUE/upper/upper
	if has_param to_ram; then
		cp -a "$_src" "$RD_LAYERDEV/upper" || fatal "to_ram: cannot copy the persistent upper into RAM"
		_src=$RD_LAYERDEV/upper
	fi
	mkdir -p /sqsh_layer-upper
	{ mount --bind "$_src" /sqsh_layer-upper && mount -o remount,bind,ro /sqsh_layer-upper; } ||
		fatal "cannot mount the persistent upper as a read-only layer"
	RD_LOWER=/sqsh_layer-upper
	RD_LAYER_NAMES=upper
	printf 'layer=upper dir %s /mnt/sqsh_layer-upper\n' "${_src#"$RD_TRUE"}" >> "$RD_RUN/state"
}

# check_layer_names NAMES (blank-separated, validated names): refused before anything is mounted:
# a name given twice (its mount point would be mounted over), more layers than OverlayFS stacks,
# and `upper` while a persistent upper takes that place (with ram_layer it is /sqsh_layer-upper).
check_layer_names() {
	# validated names: no blanks, no glob characters; builtins only (no sort | uniq pipeline)
	_seen=' '
	for _dup in $1; do
		case $_seen in *" $_dup "*) fatal "layer $_dup is named twice in sqsh_layers" ;; esac
		_seen="$_seen$_dup "
	done
	# shellcheck disable=SC2086
	set -- $1
	[ "$#" -le 500 ] || fatal "sqsh_layers names $# layers; OverlayFS stacks at most 500"
	case " $* " in
	*" upper "*) has_param ram_layer && [ -d "$NEWROOT/upper/upper" ] &&
		fatal "layer upper: the name is taken by the persistent upper (upper/upper) on the root device" ;;
	esac
	return 0
}

# check_overlayflags: extra options may tune the overlay but never name its layers: a lowerdir=,
# upperdir=, workdir= or datadir= (or lowerdir+=, datadir+=) there would replace the root's (the
# last one wins). The value was validated as options: no blanks and no glob characters.
check_overlayflags() {
	read_param overlayflags || return 0
	_of_bad=
	_of_ifs=$IFS
	IFS=,
	for _o in $REPLY; do
		case ${_o%%=*} in lowerdir | lowerdir+ | upperdir | workdir | datadir | datadir+) _of_bad=${_o%%=*} ;; esac
	done
	IFS=$_of_ifs
	[ -z "$_of_bad" ] || fatal "overlayflags may not set $_of_bad: the layers are sqsh_layers and the upper"
}

mount_overlay_root() {
	_opts=lowerdir=$RD_LOWER,upperdir=$RD_UPPER/upper,workdir=$RD_UPPER/work
	read_param overlayflags && _opts=$_opts,$REPLY
	mount -t overlay -o "$_opts" overlay "$NEWROOT" || fatal "cannot mount the overlay root ($_opts)"
}
