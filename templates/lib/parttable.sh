# SPDX-License-Identifier: GPL-2.0-or-later
# Partitions by name and by UUID from what the kernel read already (issue 11): PARTLABEL is the
# uevent's PARTNAME (one grep over every uevent file); PARTUUID comes from one read of each
# partitioned disk's table (GPT entries or the MBR signature), never from probing the partitions.
# Uses blockid.sh (bi_fields, bi_rev, bi_lower, BI_DEV, PT_SYS).

# pt_devname SYSDIR: sets REPLY to the node of a /sys/class/block entry (its uevent's DEVNAME).
pt_devname() {
	REPLY=
	while IFS='=' read -r _bn_k _bn_v; do
		[ "$_bn_k" = DEVNAME ] && REPLY=$BI_DEV/$_bn_v
	done < "$1/uevent"
	[ -n "$REPLY" ]
}

# pt_by_partlabel NAME: the kernel names GPT partitions itself (uevent PARTNAME=, read by one grep
# over every uevent file); sets REPLY to the node of the first.
pt_by_partlabel() {
	_bp=$(grep -l -x -F -e "PARTNAME=$1" "$PT_SYS"/class/block/*/uevent 2>/dev/null) || return 1
	pt_devname "${_bp%%/uevent*}"
}

# pt_by_partuuid UUID: sets REPLY to the partition with this PARTUUID: a GPT entry's unique GUID,
# or an MBR disk's signature and partition number (SSSSSSSS-NN). One partition-table read per disk
# that has partitions; the kernel numbers GPT partitions by their entry.
pt_by_partuuid() {
	bi_lower "$1"
	_pu_want=$REPLY
	_pu_seen=
	for _pu_p in "$PT_SYS"/block/*/*/partition; do
		[ -e "$_pu_p" ] || continue
		_pu_d=${_pu_p%/*/partition}
		case "$_pu_seen " in *" $_pu_d "*) continue ;; esac
		_pu_seen="$_pu_seen $_pu_d"
		pt_partuuid_on "$_pu_d" "$_pu_want" && return 0
	done
	return 1
}

# pt_partuuid_on SYSDIR WANT: the partition of this disk whose PARTUUID (lowercase, no dashes) is WANT.
pt_partuuid_on() {
	_po_sys=$1
	read -r _po_ss < "$1/queue/logical_block_size" 2>/dev/null || _po_ss=512
	pt_devname "$1" || return 1
	_po_dev=$REPLY
	# MBR signature, boot signature; GPT header: signature, entries' LBA, count, size.
	_po_h=$(bi_fields $((2 * _po_ss)) "440:4 510:2 $_po_ss:8 $((_po_ss + 72)):8 $((_po_ss + 80)):4 $((_po_ss + 84)):4" \
		-n $((2 * _po_ss)) "$_po_dev" 2>/dev/null) || return 1
	# shellcheck disable=SC2086 # six hex fields
	set -- $_po_h
	[ $# -eq 6 ] || return 1

	if [ "$3" = 4546492050415254 ]; then
		[ ${#_pu_want} -eq 32 ] || return 1
		bi_rev "$4"; _po_lba=$((0x$REPLY))
		bi_rev "$5"; _po_cnt=$((0x$REPLY))
		bi_rev "$6"; _po_esz=$((0x$REPLY))
		[ "$_po_esz" -ge 32 ] && [ "$_po_cnt" -le 1024 ] || return 1
		pt_gpt_guid "$_pu_want"
		_po_n=$(bi_fields "$_po_esz" 16:16 -s $((_po_lba * _po_ss)) -n $((_po_cnt * _po_esz)) "$_po_dev" 2>/dev/null |
			grep -n -x -F -e "$REPLY ")
		_po_n=${_po_n%%:*}
	elif [ "$2" = 55aa ]; then
		[ ${#_pu_want} -eq 10 ] || return 1
		bi_rev "$1"
		[ "$REPLY" = "${_pu_want%??}" ] || return 1
		_po_n=$((0x${_pu_want#????????}))
	else
		return 1
	fi
	[ -n "$_po_n" ] && pt_part_node "$_po_sys" "$_po_n"
}

# pt_gpt_guid HEX: REPLY is the GUID as GPT stores it (the first three groups little-endian).
pt_gpt_guid() {
	_bg=$1
	bi_rev "${_bg%????????????????????????}"; _bg_a=$REPLY
	_bg=${_bg#????????}
	bi_rev "${_bg%????????????????????}"; _bg_b=$REPLY
	_bg=${_bg#????}
	bi_rev "${_bg%????????????????}"
	REPLY=$_bg_a$_bg_b$REPLY${_bg#????}
}

# pt_part_node SYSDIR N: sets REPLY to partition N of the disk (its usual names first).
pt_part_node() {
	_pn_d=${1##*/}
	for _pn in "$1/$_pn_d$2" "$1/${_pn_d}p$2" "$1"/*/partition; do
		_pn=${_pn%/partition}
		[ -f "$_pn/partition" ] || continue
		read -r _pn_n < "$_pn/partition" || continue
		[ "$_pn_n" = "$2" ] && { pt_devname "$_pn"; return; }
	done
	return 1
}
