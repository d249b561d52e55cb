# SPDX-License-Identifier: GPL-2.0-or-later
# LVM at boot, without udev (lvm.conf in the image: no udev sync; libdevmapper makes the
# /dev/mapper nodes and lvm the /dev/VG/LV links). lvm_step, one step of the device handler
# (templates/lib/device.sh), activates what is wanted: rd.lvm.lv= (VG/LV) and rd.lvm.vg= when
# given; else the LVs that root=, resume= and sqsh_layerdev= name (/dev/VG/LV, /dev/mapper/VG-LV),
# as Debian's initramfs-tools does; else every LV (dracut's default), which is what a root=UUID=
# inside an LV needs. Under TCG each lvm run costs a second or more, so lvm runs only when a
# device with an LVM2 label (storage_scan) is new since its last run: never on a root without LVM.

# The PVs (device nodes) of the last lvm run.
LVM_SEEN=

lvm_plan() {
	is_off rd.lvm && return 0
	DM_DISABLE_UDEV=1
	export DM_DISABLE_UDEV
	RD_DEVICE_STEPS="$RD_DEVICE_STEPS lvm_step"
}

lvm_step() {
	storage_scan
	[ -n "$ST_LVM" ] && [ "$ST_LVM" != "$LVM_SEEN" ] || return 0
	[ -n "$LVM_SEEN" ] || { mkdir -p /run/lock/lvm /run/lvm; st_load dm_mod; }
	LVM_SEEN=$ST_LVM
	if [ -f "$RD_RUN/params/rd.lvm.lv" ]; then
		lvm_activate_lvs "$(cat "$RD_RUN/params/rd.lvm.lv")"
	elif [ -f "$RD_RUN/params/rd.lvm.vg" ]; then
		# shellcheck disable=SC2046 # VG names (validated as names) one per line
		lvm vgchange -ay --sysinit $(cat "$RD_RUN/params/rd.lvm.vg") >/dev/null 2>&1 && lvm_record
	else
		# A named path that is no LV (root=/dev/mapper/luks-UUID: LUKS on LVM) falls back to all.
		lvm_named_lvs
		[ -n "$REPLY" ] && lvm_activate_lvs "$REPLY" && return 0
		lvm vgchange -ay --sysinit >/dev/null 2>&1 && lvm_record
	fi
	return 0
}

# lvm_activate_lvs "VG/LV ...": those not active yet, in one lvm run; fails when one is not found.
lvm_activate_lvs() {
	_todo=
	for _lv in $1; do [ -e "/dev/$_lv" ] || _todo="$_todo $_lv"; done
	[ -n "$_todo" ] || return 0
	# shellcheck disable=SC2086 # VG/LV words, validated
	lvm lvchange -ay --sysinit $_todo >/dev/null 2>&1 || return 1
	for _lv in $_todo; do [ -e "/dev/$_lv" ] && state_once "lvm=$_lv"; done
	return 0
}

# lvm_record: one state line per active LV (after activating everything).
lvm_record() {
	for _a in $(lvm lvs --noheadings -o lv_full_name -S lv_active=active 2>/dev/null); do state_once "lvm=$_a"; done
}

# lvm_named_lvs: REPLY is the VG/LV list of the LVs root=, resume= and sqsh_layerdev= name by path.
lvm_named_lvs() {
	_named=
	for _p in root resume sqsh_layerdev; do
		read_param "$_p" && lvm_lv_of "$REPLY" && _named="$_named $REPLY"
	done
	REPLY=$_named
}

# lvm_lv_of PATH: REPLY=VG/LV for /dev/mapper/VG-LV (a `-` inside a name is doubled there) and
# /dev/VG/LV; fails for anything else. Decoded by hand: no lvm run is needed to know the name.
lvm_lv_of() {
	case $1 in
	/dev/mapper/control) return 1 ;;
	/dev/mapper/*-*)
		# `/` cannot be in a VG or LV name: it stands for the doubled dashes while splitting.
		_m=$(printf '%s\n' "${1#/dev/mapper/}" | sed 's/--/\//g')
		case $_m in *-*) ;; *) return 1 ;; esac
		_vg=$(printf '%s\n' "${_m%%-*}" | tr / -)
		_lvn=$(printf '%s\n' "${_m#*-}" | tr / -)
		;;
	/dev/*/*/* | /dev/disk/* | /dev/mapper/* | /dev/md/* | /dev/block/*) return 1 ;;
	/dev/*/*) _vg=${1#/dev/}; _lvn=${_vg#*/}; _vg=${_vg%%/*} ;;
	*) return 1 ;;
	esac
	[ -n "$_vg" ] && [ -n "$_lvn" ] && is_name "$_vg" && is_name "$_lvn" || return 1
	REPLY=$_vg/$_lvn
}
