# SPDX-License-Identifier: GPL-2.0-or-later
# Finishes a layer operation recorded on the root device (STYLE "Layer operations as explicit
# state"): `sqsh-commit` writes ruckusrd.journal (op, name, layer dir) and ruckusrd.conf.next
# (validated by mkruckus); /init runs the steps not yet recorded as `done=STEP`, before the
# overlay is assembled, while nothing has the upper mounted. Each step is complete or has no
# effect, and is recorded (appended + sync) only once durable; a power cut anywhere leaves a stack
# that boots with the upper's data in the upper or in the new layer, never in neither.
# The journal is data: lines are matched, never evaluated.

LOP_J=
LOP_TOP=
LOP_W=
LOP_TAR=

# lop_reached MARKER: a console line per step (the power-cut boot test kills QEMU on it). The
# shell tests of this file simulate a power cut at MARKER with $RD_RUN/layerop-cut (a file the
# kernel command line cannot create); /init never has one.
lop_reached() {
	echo "ruckusrd: layer-op: $1"
	[ -f "$RD_RUN/layerop-cut" ] || return 0
	read -r _cut < "$RD_RUN/layerop-cut"
	[ "$_cut" = "$1" ] && exit 137
	return 0
}

# lop_field KEY: REPLY = the journal's last KEY= value; fails when absent.
lop_field() {
	REPLY=
	_found=1
	while IFS= read -r _l || [ -n "$_l" ]; do
		case $_l in "$1="*) REPLY=${_l#*=}; _found=0 ;; esac
	done < "$LOP_J"
	return "$_found"
}

lop_done() {
	grep -qx "done=$1" "$LOP_J"
}

lop_record() {
	echo "done=$1" >> "$LOP_J" && sync
	lop_reached "$LOP_OP-$1"
}

# lop_close RESULT: the journal becomes ruckusrd.last (what `layers` reports).
lop_close() {
	echo "result=$1" >> "$LOP_J"
	sync
	mv -f "$LOP_J" "$LOP_TOP/ruckusrd.last" && rm -f "$LOP_TOP/ruckusrd.conf.next" "$LOP_TOP/.ruckusrd.conf.tmp"
	sync
}

# lop_rollback WHY: only before the conf step, so the old stack and the upper are untouched.
lop_rollback() {
	warn "layer-op: $LOP_OP $LOP_NAME rolled back: $1"
	rm -f "$LOP_DIR/.$LOP_NAME.sqsh.tmp"
	lop_close "rolled back: $1"
	return 1
}

# The upper directory (or, with `sources=`, the merged tree) becomes LAYERDIR/NAME.sqsh (a temp
# name, sync, rename, sync).
lop_step_squash() {
	lop_done squash && return 0
	_tmp=$LOP_DIR/.$LOP_NAME.sqsh.tmp
	rm -f "$_tmp"
	mkdir -p "$LOP_TOP/upper/upper"
	command -v mksquashfs > /dev/null || { lop_rollback "this initramfs has no mksquashfs"; return 1; }
	_from=$LOP_TOP/upper/upper
	if lop_field sources && [ -n "$REPLY" ]; then
		lop_gnu_tar || { lop_rollback "this initramfs has no GNU tar (sqsh-commit --merge)"; return 1; }
		if ! lop_merge_tree; then
			lop_merge_unmount
			lop_rollback "merging the upper with its lower layers failed"
			return 1
		fi
		_from=$LOP_W/r
	fi
	mksquashfs "$_from" "$_tmp" -noappend -quiet -no-progress > /dev/null ||
		{ lop_rollback "mksquashfs failed (disk full?)"; return 1; }
	sync
	mv -f "$_tmp" "$LOP_DIR/$LOP_NAME.sqsh" || { lop_rollback "cannot rename $_tmp"; return 1; }
	sync
	lop_reached "$LOP_OP-squash-written"
	lop_record squash
}

# sqsh-commit --merge=N: the upper and the top N lower layers (journal `sources=upper:L1:…:LN`)
# become one layer. It is built as the upper directory ($LOP_W/r) of a scratch overlay whose lower
# layers are the ones below the merged ones: replaying each source onto it, bottom first, makes
# the kernel write exactly the whiteouts and opaque directories that still hide something below
# (squashing a mounted view of the sources would lose them). Layers are mounted raw, read-only.
lop_merge_tree() {
	rm -rf "$LOP_W" && mkdir -p "$LOP_W/r" "$LOP_W/w" "$LOP_W/v" "$LOP_W/empty" "$LOP_W/m" || return 1
	lop_field sources || return 1
	_order=
	_n=0
	for _s in $(echo "$REPLY" | tr ':' ' '); do
		[ "$_s" = upper ] && continue
		lop_mount_layer "$_s" || return 1
		_order="$_s $_order"
		_n=$((_n + 1))
	done
	lop_field before || return 1
	_below=
	for _s in $(echo "$REPLY" | tr ':' ' '); do
		[ "$_n" -gt 0 ] && _n=$((_n - 1)) && continue
		lop_mount_layer "$_s" || return 1
		_below=${_below:+$_below:}$LOP_W/m/$_s
	done
	mount -t overlay overlay -o "lowerdir=${_below:-$LOP_W/empty},upperdir=$LOP_W/r,workdir=$LOP_W/w" "$LOP_W/v" || return 1
	for _s in $_order; do
		lop_replay "$LOP_W/m/$_s" || return 1
	done
	lop_replay "$LOP_TOP/upper/upper" || return 1
	lop_merge_unmount
}

# lop_gnu_tar: LOP_TAR = GNU tar, by its path (busybox's shell runs its own tar applet for `tar`).
lop_gnu_tar() {
	for LOP_TAR in /usr/bin/tar /bin/tar; do
		[ -x "$LOP_TAR" ] && "$LOP_TAR" --version 2> /dev/null | grep -q GNU && return 0
	done
	return 1
}

# lop_mount_layer NAME: LAYERDIR/NAME.sqsh read-only on $LOP_W/m/NAME.
lop_mount_layer() {
	is_name "$1" && layer_fstype "$LOP_DIR/$1.sqsh" || return 1
	mkdir -p "$LOP_W/m/$1" && mount -t "$REPLY" -o loop,ro "$LOP_DIR/$1.sqsh" "$LOP_W/m/$1"
}

lop_merge_unmount() {
	umount "$LOP_W/pv" 2> /dev/null
	umount "$LOP_W/v" 2> /dev/null
	for _m in "$LOP_W"/m/*; do
		[ -d "$_m" ] && umount "$_m" 2> /dev/null
	done
	return 0
}

# lop_replay SRC: one layer's changes onto the scratch overlay: its whiteouts and opaque directories
# remove what they hide, a non-directory replaces a directory, then GNU tar copies the rest (owners,
# modes, times, hard links, devices, xattrs other than overlayfs's own).
lop_replay() {
	( cd "$1" && find . -mindepth 1 ) > "$LOP_W/list" || return 1
	: > "$LOP_W/whiteouts"
	while IFS= read -r _p; do
		if [ -c "$1/$_p" ] && [ "$(stat -c %t:%T "$1/$_p")" = 0:0 ]; then
			rm -rf "${LOP_W:?}/v/$_p"
			echo "$_p" >> "$LOP_W/whiteouts"
		elif [ -L "$1/$_p" ] || [ ! -d "$1/$_p" ]; then
			if [ -d "$LOP_W/v/$_p" ] && [ ! -L "$LOP_W/v/$_p" ]; then rm -rf "${LOP_W:?}/v/$_p"; fi
		fi
	done < "$LOP_W/list"
	lop_opaque_dirs "$1" || return 1
	"$LOP_TAR" -C "$1" -cf - --numeric-owner --xattrs --xattrs-include='*' --xattrs-exclude='trusted.overlay.*' \
		--no-wildcards --anchored --exclude-from="$LOP_W/whiteouts" . |
		"$LOP_TAR" -C "$LOP_W/v" -xf - --numeric-owner -p --xattrs --xattrs-include='*' --xattrs-exclude='trusted.overlay.*'
}

# lop_opaque_dirs SRC: busybox reads no xattrs, so opaque directories are found by the kernel: SRC
# over a tree with a probe file in each of its directories; where the probe is not seen, SRC hides
# what is below (an opaque directory, or inside one), and the scratch overlay's copy goes (the
# directory tar then makes again is opaque where something below still needs hiding).
lop_opaque_dirs() {
	( cd "$1" && find . -mindepth 1 -type d ! -type l ) > "$LOP_W/dirs" || return 1
	[ -s "$LOP_W/dirs" ] || return 0
	rm -rf "$LOP_W/probe" && mkdir -p "$LOP_W/probe" "$LOP_W/pv" || return 1
	while IFS= read -r _d; do
		mkdir -p "$LOP_W/probe/$_d" && : > "$LOP_W/probe/$_d/.ruckusrd-probe" || return 1
	done < "$LOP_W/dirs"
	mount -t overlay overlay -o "lowerdir=$1:$LOP_W/probe" "$LOP_W/pv" || return 1
	while IFS= read -r _d; do
		[ -e "$LOP_W/pv/$_d/.ruckusrd-probe" ] || rm -rf "${LOP_W:?}/v/$_d"
	done < "$LOP_W/dirs"
	umount "$LOP_W/pv"
}

# ruckusrd.conf.next (validated by mkruckus when it planned the operation) replaces the conf.
lop_step_conf() {
	lop_done conf && return 0
	[ -f "$LOP_TOP/ruckusrd.conf.next" ] || { lop_rollback "ruckusrd.conf.next is missing"; return 1; }
	if ! { cp "$LOP_TOP/ruckusrd.conf.next" "$LOP_TOP/.ruckusrd.conf.tmp" && sync &&
		mv -f "$LOP_TOP/.ruckusrd.conf.tmp" "$LOP_TOP/ruckusrd.conf"; }; then
		lop_rollback "cannot replace ruckusrd.conf"
		return 1
	fi
	sync
	lop_reached "$LOP_OP-conf-written"
	lop_record conf
}

# Only now that the new stack is durable: the upper is emptied (one rename, then removal).
lop_step_clean() {
	lop_done clean && return 0
	_u=$LOP_TOP/upper
	rm -rf "$_u/.committed"
	[ -d "$_u/upper" ] && mv "$_u/upper" "$_u/.committed"
	mkdir -p "$_u/upper" && rm -rf "$_u/work" && mkdir -p "$_u/work" && sync
	lop_reached "$LOP_OP-clean-renamed"
	rm -rf "$_u/.committed"
	sync
	lop_record clean
}

# Only now that the new stack is durable: the layer files the operation replaced go (never one the
# new stack still names), and the scratch tree and a committed upper moved aside.
lop_step_sweep() {
	lop_done sweep && return 0
	rm -rf "$LOP_DIR/.$LOP_NAME.merge" "$LOP_TOP/upper/.committed"
	_after=::
	lop_field after && _after=:$REPLY:
	if lop_field sources; then
		for _s in $(echo "$REPLY" | tr ':' ' '); do
			is_name "$_s" || continue
			case $_after in *":$_s:"*) continue ;; esac
			rm -f "$LOP_DIR/$_s.sqsh" "$LOP_DIR/$_s.sqsh.verity"
		done
	fi
	sync
	lop_record sweep
}

# finish_layer_op TOP: TOP is the root device's mount point, read-write. A commit is finished
# whole; of a merge (written live by mkruckus) only the sweep, once its conf step is done.
finish_layer_op() {
	LOP_TOP=$1
	LOP_J=$1/ruckusrd.journal
	lop_field op && LOP_OP=$REPLY || LOP_OP=
	lop_field name && LOP_NAME=$REPLY || LOP_NAME=
	LOP_DIR=$1
	if lop_field layerdir && [ -n "$REPLY" ]; then
		param_valid relpath "$REPLY" && LOP_DIR=$1/$REPLY || LOP_OP=invalid
	fi
	LOP_W=$LOP_DIR/.$LOP_NAME.merge
	if [ "$LOP_OP" = merge ] && is_name "$LOP_NAME" && lop_done conf; then
		msg "finishing layer operation: $LOP_OP $LOP_NAME (sweep)"
		lop_step_sweep && lop_close "done" && lop_reached "$LOP_OP-finished"
		return 0
	fi
	if [ "$LOP_OP" != commit ] || ! is_name "$LOP_NAME"; then
		warn "layer-op: ruckusrd.journal names no operation /init can finish; left for mkruckus layers"
		return 0
	fi
	msg "finishing layer operation: $LOP_OP $LOP_NAME"
	lop_step_squash && lop_step_conf && lop_step_clean && lop_step_sweep && lop_close "done" && lop_reached "$LOP_OP-finished"
	return 0
}
