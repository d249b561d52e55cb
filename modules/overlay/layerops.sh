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

# The upper directory becomes LAYERDIR/NAME.sqsh (a temp name, sync, rename, sync).
lop_step_squash() {
	lop_done squash && return 0
	_tmp=$LOP_DIR/.$LOP_NAME.sqsh.tmp
	rm -f "$_tmp"
	mkdir -p "$LOP_TOP/upper/upper"
	command -v mksquashfs > /dev/null || { lop_rollback "this initramfs has no mksquashfs"; return 1; }
	mksquashfs "$LOP_TOP/upper/upper" "$_tmp" -noappend -quiet -no-progress > /dev/null ||
		{ lop_rollback "mksquashfs failed (disk full?)"; return 1; }
	sync
	mv -f "$_tmp" "$LOP_DIR/$LOP_NAME.sqsh" || { lop_rollback "cannot rename $_tmp"; return 1; }
	sync
	lop_reached "$LOP_OP-squash-written"
	lop_record squash
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

# finish_layer_op TOP: TOP is the root device's mount point, read-write.
finish_layer_op() {
	LOP_TOP=$1
	LOP_J=$1/ruckusrd.journal
	lop_field op && LOP_OP=$REPLY || LOP_OP=
	lop_field name && LOP_NAME=$REPLY || LOP_NAME=
	LOP_DIR=$1
	if lop_field layerdir && [ -n "$REPLY" ]; then
		param_valid relpath "$REPLY" && LOP_DIR=$1/$REPLY || LOP_OP=invalid
	fi
	if [ "$LOP_OP" != commit ] || ! is_name "$LOP_NAME"; then
		warn "layer-op: ruckusrd.journal names no operation /init can finish; left for mkruckus layers"
		return 0
	fi
	msg "finishing layer operation: $LOP_OP $LOP_NAME"
	lop_step_squash && lop_step_conf && lop_step_clean && lop_close "done" && lop_reached "$LOP_OP-finished"
	return 0
}
