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
# partitions by their entry. The GUID's printed form (pt_want) is kept from the tries made while
# drivers were loading, so the try after the disk appears only reads.
PT_WANT=''
pt_by_partuuid() {
	if [ "$PT_WANT" != "$BI_ORDER $1" ]; then
		pt_want "$1"
		PT_WANT="$BI_ORDER $1"
	fi
	for _pu_d in "$PT_SYS"/block/*; do
		_pu_n=${_pu_d##*/}
		case $_pu_n in *[0-9]) _pu_x=${_pu_n}p ;; *) _pu_x=$_pu_n ;; esac
		for _pu_x in "$_pu_d/$_pu_x"[0-9]*; do break; done
		[ -e "$_pu_x/partition" ] || continue
		pt_partuuid_on "$_pu_d" && return 0
	done
	# Never a disk's node left behind: find_device_once takes any block device in REPLY.
	REPLY=
	return 1
}

# pt_want UUID: _pu_want (lowercase hex), and for a GPT GUID its printed form in the GPT read
# (_pu_g: the 4 words of an entry's bytes 16-31), the header's signature (PT_SIG) and the usual
# header's words (PT_STD: entries from LBA 2, 128 of 128 bytes) as patterns.
pt_want() {
	bi_order
	bi_lower "$1"
	_pu_want=$REPLY
	_pu_g=
	[ ${#_pu_want} -eq 32 ] || return 0
	pt_gpt_guid "$_pu_want"
	bi_glob 16 "$REPLY"; _pu_g=$REPLY
	bi_glob 0 4546492050415254; PT_SIG=$REPLY
	bi_glob 72 02000000000000008000000080000000
	PT_STD="$PT_SIG ???????? ???????? ???????? ???????? $REPLY"
}

# The GPT read: the first 2 sectors and 128 entries of 128 bytes in one hexdump, each 128-byte
# block printed as `@OFFSET`, 4-byte words (blockid.sh's word dump) of bytes 0-7 (the header's
# signature), 16-31 (an entry's unique GUID) and 72-87 (the header's entries LBA, count and entry
# size), and ` ;`, all on one line. The shell finds the GUID's block by a bisection of `case`
# matches on the offsets (each one pass of fnmatch over the line): no grep, so one fork less
# (~10 ms under TCG; ${x%%...} would cost more, being quadratic in ash).
PT_WFMT='"@%_ad " 2/4 "%08x " " " 1/8 "%.0s" 4/4 "%08x " " " 1/40 "%.0s" 4/4 "%08x " " " 1/40 "%.0s" ";"'
# A whole block's ten words (a block cut short is padded with spaces, which `?` would match).
PT_HEX='[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
PT_REC="$PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX $PT_HEX ;"

# pt_partuuid_on SYSDIR: the partition of this disk whose PARTUUID is _pu_want (pt_want).
pt_partuuid_on() {
	_po_sys=$1
	read -r _po_ss 2>/dev/null < "$1/queue/logical_block_size" || _po_ss=512
	pt_node "$1" || return 1
	_po_dev=$REPLY
	if [ ${#_pu_want} -eq 10 ]; then pt_mbr_on "$_po_dev" "$_pu_want"; return; fi
	[ -n "$_pu_g" ] || return 1
	_po_len=$((2 * _po_ss + 16384))
	_po_x=$(hexdump -v -n "$_po_len" -e "$PT_WFMT" "$_po_dev" 2>/dev/null)
	# shellcheck disable=SC2254,SC2027 # the usual header's words as a pattern
	case $_po_x in
	*"@$_po_ss "$PT_STD" ;"*) _po_lba=2 _po_cnt=128 _po_esz=128 ;;
	*) pt_gpt_header || return 1 ;;
	esac
	[ "$_po_esz" -ge 32 ] && [ "$_po_cnt" -le 1024 ] || return 1
	_po_e=$((_po_lba * _po_ss / 128))
	if [ "$_po_esz" -eq 128 ] && [ $((_po_lba * _po_ss + _po_cnt * 128)) -le "$_po_len" ]; then
		case $_po_x in *"$_pu_g"*) ;; *) return 1 ;; esac
		pt_bisect
		_po_n=$((REPLY - _po_e + 1))
		# The first block holding the words has them where an entry keeps its GUID.
		case $_po_x in *"@$((REPLY * 128)) "????????" "????????" $_pu_g "*) _po_ok=1 ;; *) _po_ok=0 ;; esac
	else
		_po_ok=0
	fi
	if [ "$_po_ok" = 0 ]; then
		# Entries elsewhere or of another size (or the words elsewhere first): read the
		# entries' GUIDs where the header says.
		pt_gpt_guid "$_pu_want"
		_po_n=$(bi_fields "$_po_esz" 16:16 -s $((_po_lba * _po_ss)) -n $((_po_cnt * _po_esz)) "$_po_dev" 2>/dev/null |
			grep -n -x -F -e "$REPLY ")
		_po_n=${_po_n%%:*}
	fi
	[ -n "$_po_n" ] && [ "$_po_n" -ge 1 ] && [ "$_po_n" -le "$_po_cnt" ] || return 1
	pt_part_node "$_po_sys" "$_po_n"
}

# pt_bisect: sets REPLY to the first block of the GPT read (_po_x, of _po_len bytes) that holds
# _pu_g: the last block whose `@OFFSET` comes before every match.
pt_bisect() {
	_pb_lo=0
	_pb_hi=$((_po_len / 128))
	while [ $((_pb_hi - _pb_lo)) -gt 1 ]; do
		_pb_m=$(((_pb_lo + _pb_hi) / 2))
		case $_po_x in *"$_pu_g"*"@$((_pb_m * 128)) "*) _pb_hi=$_pb_m ;; *) _pb_lo=$_pb_m ;; esac
	done
	REPLY=$_pb_lo
}

# pt_gpt_header: _po_lba, _po_cnt and _po_esz from the GPT header's words in the read (_po_x), for
# a header other than the usual one; fails when there is none or it is cut short (a disk smaller
# than the read: never an unset word under set -u).
pt_gpt_header() {
	case $_po_x in *"@$_po_ss $PT_SIG "*) ;; *) return 1 ;; esac
	_ph=${_po_x#*"@$_po_ss "}
	# shellcheck disable=SC2254 # ten words and the block's end
	case $_ph in $PT_REC*) ;; *) return 1 ;; esac
	_ph=${_ph%%;*}
	set -f
	# shellcheck disable=SC2086 # the header's words
	set -- $_ph
	set +f
	[ "$8" = 00000000 ] || return 1
	bi_wval "$7"; _po_lba=$REPLY
	bi_wval "$9"; _po_cnt=$REPLY
	bi_wval "${10}"; _po_esz=$REPLY
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

# pt_part_node SYSDIR N: sets REPLY to partition N of the disk: its usual names first, then every
# entry (the glob of the disk's ~70 sysfs entries is expanded only when those miss).
pt_part_node() {
	_pn_d=${1##*/}
	for _pn in "$1/$_pn_d$2" "$1/${_pn_d}p$2"; do
		pt_part_is "$_pn" "$2" && return 0
	done
	for _pn in "$1"/*/partition; do
		pt_part_is "${_pn%/partition}" "$2" && return 0
	done
	return 1
}

# pt_part_is SYSDIR N: SYSDIR is partition N; sets REPLY to its node.
pt_part_is() {
	[ -f "$1/partition" ] || return 1
	read -r _pn_n < "$1/partition" || return 1
	[ "$_pn_n" = "$2" ] || return 1
	pt_node "$1"
}
