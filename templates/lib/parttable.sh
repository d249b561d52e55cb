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
# that has partitions (disks by one glob each, no loop over partitions); the kernel numbers GPT
# partitions by their entry.
pt_by_partuuid() {
	bi_lower "$1"
	_pu_want=$REPLY
	for _pu_d in "$PT_SYS"/block/*; do
		_pu_n=${_pu_d##*/}
		case $_pu_n in *[0-9]) _pu_x=${_pu_n}p ;; *) _pu_x=$_pu_n ;; esac
		for _pu_x in "$_pu_d/$_pu_x"[0-9]*; do break; done
		[ -e "$_pu_x/partition" ] || continue
		pt_partuuid_on "$_pu_d" "$_pu_want" && return 0
	done
	return 1
}

# The GPT read: the first 2 sectors and 128 entries of 128 bytes in one hexdump, each 128-byte
# block printed as 4-byte words (blockid.sh's word dump): bytes 0-7 (the header's signature), 16-31
# (an entry's unique GUID) and 72-87 (the header's entries LBA, count and entry size).
PT_WFMT='2/4 "%08x " " " 1/8 "%.0s" 4/4 "%08x " " " 1/40 "%.0s" 4/4 "%08x " " " 1/40 "%.0s" "\n"'

# pt_partuuid_on SYSDIR WANT: the partition of this disk whose PARTUUID (lowercase, no dashes) is WANT.
pt_partuuid_on() {
	_po_sys=$1
	read -r _po_ss 2>/dev/null < "$1/queue/logical_block_size" || _po_ss=512
	pt_node "$1" || return 1
	_po_dev=$REPLY
	if [ ${#_pu_want} -eq 10 ]; then pt_mbr_on "$_po_dev" "$_pu_want"; return; fi
	[ ${#_pu_want} -eq 32 ] || return 1
	bi_order
	pt_gpt_guid "$_pu_want"
	bi_glob 16 "$REPLY"; _po_g=$REPLY
	bi_glob 0 4546492050415254; _po_sig=$REPLY
	# The lines holding the header's signature or the GUID (as N:WORDS), from one read.
	_po_out=$(hexdump -v -n $((2 * _po_ss + 16384)) -e "$PT_WFMT" "$_po_dev" 2>/dev/null |
		grep -n -F -e "$_po_sig" -e "$_po_g")
	_po_hdr=
	_po_n=
	set -f
	_po_ifs=$IFS
	IFS=$BI_NL
	# shellcheck disable=SC2086 # N:WORDS lines
	set -- $_po_out
	IFS=$_po_ifs
	set +f
	for _po_l; do
		_po_w=${_po_l#*:}
		case $_po_l in "$((_po_ss / 128 + 1)):$_po_sig "*) _po_hdr=$_po_w; continue ;; esac
		[ -z "$_po_n" ] || continue
		# The GUID where an entry keeps it (bytes 16-31 of its block).
		case $_po_w in ????????\ ????????\ "$_po_g"\ *) _po_n=${_po_l%%:*} ;; esac
	done
	[ -n "$_po_hdr" ] || return 1
	# shellcheck disable=SC2086 # the header's words
	set -- $_po_hdr
	# A block cut short (a disk smaller than the read) has fewer: never an unset word under set -u.
	[ $# -eq 10 ] || return 1
	bi_wval "$7"; _po_lba=$REPLY
	bi_wval "$9"; _po_cnt=$REPLY
	bi_wval "${10}"; _po_esz=$REPLY
	[ "$8" = 00000000 ] && [ "$_po_esz" -ge 32 ] && [ "$_po_cnt" -le 1024 ] || return 1
	if [ "$_po_esz" -ne 128 ] || [ $((_po_lba * _po_ss + _po_cnt * 128)) -gt $((2 * _po_ss + 16384)) ]; then
		# Entries elsewhere or of another size: read them where the header says.
		pt_gpt_guid "$_pu_want"
		_po_n=$(bi_fields "$_po_esz" 16:16 -s $((_po_lba * _po_ss)) -n $((_po_cnt * _po_esz)) "$_po_dev" 2>/dev/null |
			grep -n -x -F -e "$REPLY ")
		_po_n=${_po_n%%:*}
	else
		[ -n "$_po_n" ] && _po_n=$((_po_n - _po_lba * _po_ss / 128))
		[ -n "$_po_n" ] && [ "$_po_n" -ge 1 ] && [ "$_po_n" -le "$_po_cnt" ] || return 1
	fi
	[ -n "$_po_n" ] && pt_part_node "$_po_sys" "$_po_n"
}

# pt_mbr_on DEV WANT: an MBR disk's partition by signature and number (SSSSSSSSNN).
pt_mbr_on() {
	_pm=$(bi_fields 512 "440:4 510:2" -n 512 "$1" 2>/dev/null) || return 1
	# shellcheck disable=SC2086 # two hex fields
	set -- $_pm "$2"
	[ $# -eq 3 ] && [ "$2" = 55aa ] || return 1
	bi_rev "$1"
	[ "$REPLY" = "${3%??}" ] || return 1
	pt_part_node "$_po_sys" $((0x${3#????????}))
}

# pt_node SYSDIR: sets REPLY to the node of a /sys/block entry: /dev/NAME, unless its name has a `!`
# (cciss!c0d0 is /dev/cciss/c0d0: the uevent's DEVNAME says).
pt_node() {
	case ${1##*/} in *!*) pt_devname "$1"; return ;; esac
	REPLY=$BI_DEV/${1##*/}
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
		[ "$_pn_n" = "$2" ] && { pt_node "$_pn"; return; }
	done
	return 1
}
