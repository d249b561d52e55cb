# SPDX-License-Identifier: GPL-2.0-or-later
# Who a block device is, without probing every device (issue 11): PARTLABEL from the kernel's
# uevent (PARTNAME), PARTUUID from the parent disk's partition table (one read), LABEL/UUID/TYPE
# from one read of every candidate's first 4 KiB, cut by hexdump to the superblock fields of the
# types below. A fork costs ~7 ms under QEMU TCG, so each lookup is a fixed handful of processes,
# never one per device. Types not read here (btrfs, iso9660, f2fs, ...) fall back to findfs/blkid
# in device.sh. Fields are compared as lowercase hex, so labels may hold any byte but NUL.

# The first BI_BLOCK bytes of each device; fields as OFFSET:LENGTH, printed as hex in this order:
# magic(0) luks2-label luks-uuid xfs-uuid xfs-label fat16-serial fat16-label fat16-type
# fat32-serial fat32-label fat32-type bootsig erofs-magic erofs-uuid erofs-name swap-uuid
# swap-label ext-magic ext-compat ext-incompat ext-rocompat ext-uuid ext-label swap-magic(4 KiB pages).
BI_BLOCK=4096
# Where nodes and sysfs are (tests point them at files).
BI_DEV=/dev
BI_PARTITIONS=/proc/partitions
PT_SYS=/sys
# The last answers: parsed fields (bi_parse) and "DEV TYPE" of the last device found (bi_by_fs).
BI_TYPE=''
BI_LABEL=''
BI_UUID=''
BI_FOUND=''
BI_COUNT=0
BI_FIELDS='0:8 24:48 168:40 32:16 108:12 39:4 43:11 54:8 67:4 71:11 82:8 510:2 1024:4 1072:16 1088:16 1036:16 1052:16 1080:2 1116:4 1120:4 1124:4 1128:16 1144:16 4086:10'

# bi_fields BLOCK FIELDS ARG...: hexdump ARG... (options, then files; none: stdin) printing FIELDS
# (OFFSET:LENGTH, as hex) of each BLOCK-byte block on one line. Each -e format starts at the
# block's start: skip (%.0s eats bytes, prints nothing), print the field, skip the rest.
bi_fields() {
	_bd_b=$1
	_bd_fields=$2
	shift 2
	_bd_args=$*
	set --
	for _bd_f in $_bd_fields; do
		_bd_o=${_bd_f%:*}
		_bd_n=${_bd_f#*:}
		_bd_r=$((_bd_b - _bd_o - _bd_n))
		_bd_e="$_bd_n/1 \"%02x\""
		[ "$_bd_o" -gt 0 ] && _bd_e="1/$_bd_o \"%.0s\" $_bd_e"
		[ "$_bd_r" -gt 0 ] && _bd_e="$_bd_e 1/$_bd_r \"%.0s\""
		set -- "$@" -e "$_bd_e \" \""
	done
	# shellcheck disable=SC2086 # options and device nodes, one word each
	hexdump -v "$@" -e "1/$_bd_b \"%.0s\" \"\\n\"" $_bd_args
}

# bi_dump DEV...: one line of BI_FIELDS per device, in order: one head and one hexdump for all.
bi_dump() {
	# shellcheck disable=SC2086 # device nodes, one word each
	head -q -c "$BI_BLOCK" "$@" 2>/dev/null | bi_fields "$BI_BLOCK" "$BI_FIELDS"
}

# bi_trim HEX PAD: HEX without trailing PAD bytes (00 or 20).
bi_trim() {
	REPLY=$1
	while :; do
		case $REPLY in *"$2") REPLY=${REPLY%??} ;; *) return 0 ;; esac
	done
}

# bi_parse FIELD...: sets BI_TYPE, BI_LABEL and BI_UUID (hex, lowercase, empty when none) from one
# bi_dump line; BI_TYPE is empty for a type not read here.
bi_parse() {
	BI_TYPE=''
	BI_LABEL=''
	BI_UUID=''
	[ $# -ge 24 ] || return 1
	case $1 in
	4c554b53babe0001*) BI_TYPE=crypto_LUKS; BI_UUID=$3 ;;
	4c554b53babe0002*) BI_TYPE=crypto_LUKS; BI_UUID=$3; bi_trim "$2" 00; BI_LABEL=$REPLY ;;
	58465342*) BI_TYPE=xfs; BI_UUID=$4; bi_trim "$5" 00; BI_LABEL=$REPLY ;;
	68737173*) BI_TYPE=squashfs ;;
	esac
	# LUKS holds its UUID as text: BI_UUID is the hex of that text, without its NUL padding.
	if [ "$BI_TYPE" = crypto_LUKS ]; then bi_trim "$BI_UUID" 00; BI_UUID=$REPLY; return 0; fi
	[ -n "$BI_TYPE" ] && { bi_zero_uuid; return 0; }
	if [ "${18}" = 53ef ]; then
		bi_ext "${19}" "${20}" "${21}"
		BI_UUID=${22}
		bi_trim "${23}" 00
		BI_LABEL=$REPLY
	elif [ "${13}" = e2e1f5e0 ]; then
		BI_TYPE=erofs BI_UUID=${14}
		bi_trim "${15}" 00
		BI_LABEL=$REPLY
	elif [ "${24}" = 53574150535041434532 ] || [ "${24}" = 535741502d5350414345 ]; then
		BI_TYPE=swap BI_UUID=${16}
		bi_trim "${17}" 00
		BI_LABEL=$REPLY
	elif [ "${12}" = 55aa ] && [ "${11}" = 4641543332202020 ]; then
		bi_fat "$9" "${10}"
	elif [ "${12}" = 55aa ]; then
		case $8 in 4641543132202020 | 4641543136202020 | 4641542020202020) bi_fat "$6" "$7" ;; esac
	fi
	bi_zero_uuid
	return 0
}

# An all-zero UUID is no UUID (blkid shows none).
bi_zero_uuid() {
	case $BI_UUID in *[!0]*) ;; *) BI_UUID= ;; esac
}

# bi_ext COMPAT INCOMPAT ROCOMPAT (little-endian hex): ext2, ext3 or ext4 as blkid names them.
bi_ext() {
	_be_c=$((0x$1 >> 24 & 0xff))
	_be_i=$((0x$2 >> 24 & 0xff | (0x$2 >> 8 & 0xff00) | (0x$2 << 8 & 0xff0000)))
	_be_r=$((0x$3 >> 24 & 0xff | (0x$3 >> 8 & 0xff00) | (0x$3 << 8 & 0xff0000)))
	# incompat journal_dev: an external journal, never a root.
	if [ $((_be_i & 8)) -ne 0 ]; then BI_TYPE=jbd
	elif [ $((_be_r & ~7)) -ne 0 ] || [ $((_be_i & ~0x16)) -ne 0 ]; then BI_TYPE=ext4
	elif [ $((_be_c & 4)) -ne 0 ]; then BI_TYPE=ext3
	else BI_TYPE=ext2
	fi
}

# bi_fat SERIAL LABEL: the volume serial (little-endian) is the UUID, the boot sector's label
# without its space padding; "NO NAME" is none.
bi_fat() {
	BI_TYPE=vfat
	bi_rev "$1"
	BI_UUID=$REPLY
	bi_trim "$2" 20
	BI_LABEL=$REPLY
	[ "$BI_LABEL" = 4e4f204e414d45 ] && BI_LABEL=
	return 0
}

# Printable ASCII from 0x20, for bi_hex without a fork per character.
BI_ASCII=' !"#$%&'"'"'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
BI_NL='
'

# bi_hex TEXT: sets REPLY to the hex of TEXT's bytes (a fork only for bytes outside printable ASCII).
bi_hex() {
	case $1 in *[!\ -~]*)
		REPLY=$(printf %s "$1" | hexdump -v -e '1/1 "%02x"')
		return 0 ;;
	esac
	REPLY=
	_bh_s=$1
	while [ -n "$_bh_s" ]; do
		_bh_c=${_bh_s%"${_bh_s#?}"}
		_bh_s=${_bh_s#?}
		_bh_p=${BI_ASCII%%"$_bh_c"*}
		_bh_n=$((${#_bh_p} + 32))
		bi_nibble $((_bh_n / 16))
		_bh_h=$REPLY_NIB
		bi_nibble $((_bh_n % 16))
		REPLY=$REPLY$_bh_h$REPLY_NIB
	done
	return 0
}

bi_nibble() {
	case $1 in 10) REPLY_NIB=a ;; 11) REPLY_NIB=b ;; 12) REPLY_NIB=c ;; 13) REPLY_NIB=d ;; 14) REPLY_NIB=e ;; 15) REPLY_NIB=f ;; *) REPLY_NIB=$1 ;; esac
}

# bi_lower TEXT [keep]: sets REPLY to TEXT with A-F in lowercase and without dashes (a UUID as
# hex), or with them (`keep`: the text of a LUKS UUID).
bi_lower() {
	REPLY=
	_bl_s=$1
	while [ -n "$_bl_s" ]; do
		_bl_c=${_bl_s%"${_bl_s#?}"}
		_bl_s=${_bl_s#?}
		case $_bl_c in
		A) _bl_c=a ;; B) _bl_c=b ;; C) _bl_c=c ;; D) _bl_c=d ;; E) _bl_c=e ;; F) _bl_c=f ;; -) [ -n "${2-}" ] || _bl_c= ;;
		esac
		REPLY=$REPLY$_bl_c
	done
}

# bi_candidates: sets REPLY to the nodes worth reading for a filesystem, in /proc/partitions order
# (one read: `read` would take it a byte per system call): at least 4 KiB (not an unused loop device
# or an extended partition's stub), not a CD or floppy drive (no medium: a failed read would shift
# every line after it), not a whole disk whose partitions the kernel lists right after it (its first
# blocks are the partition table). The kernel names a disk's partitions NAME1.. or, when NAME ends
# in a digit, NAMEp1..
bi_candidates() {
	REPLY=''
	BI_COUNT=0
	_bc_all=$(cat "$BI_PARTITIONS" 2>/dev/null) || return 0
	set -f
	# shellcheck disable=SC2086 # major minor KiB name, four words a line after the heading
	set -- $_bc_all
	set +f
	_bc_disk=
	while [ $# -ge 4 ]; do
		case $1$4 in
		major* | *sr[0-9]* | *fd[0-9]*) ;;
		*)
			if bi_part_of "$_bc_disk" "$4"; then
				# The disk is the last word when its first partition comes (if it was taken at all).
				_bc_was=$REPLY
				REPLY=${REPLY% "$BI_DEV/$_bc_disk"}
				[ "$REPLY" = "$_bc_was" ] || BI_COUNT=$((BI_COUNT - 1))
			else
				_bc_disk=$4
			fi
			if [ "$3" -ge 4 ] 2>/dev/null; then REPLY="$REPLY $BI_DEV/$4"; BI_COUNT=$((BI_COUNT + 1)); fi ;;
		esac
		shift 4
	done
}

# bi_part_of DISK NAME: NAME is how the kernel names a partition of DISK.
bi_part_of() {
	[ -n "$1" ] || return 1
	case $1 in
	*[0-9]) case $2 in "$1"p[0-9]*) return 0 ;; esac ;;
	*) case $2 in "$1"[0-9]*) return 0 ;; esac ;;
	esac
	return 1
}

# bi_by_fs LABEL=X|UUID=X [DEV...]: sets REPLY to the first device whose filesystem has it, and
# BI_FOUND to "DEV TYPE". Returns 1 when no device has it, 2 when the answer is unsure (a read fell
# short); both leave the slower full probe to the caller.
bi_by_fs() {
	REPLY=''
	BI_FOUND=''
	_bf_key=${1%%=*}
	if [ "$_bf_key" = LABEL ]; then
		bi_hex "${1#LABEL=}"; _bf_want=$REPLY; _bf_text=
	else
		bi_lower "${1#UUID=}"; _bf_want=$REPLY
		# LUKS keeps the UUID as text: its bytes, as hex.
		bi_lower "${1#UUID=}" keep; bi_hex "$REPLY"; _bf_text=$REPLY
	fi
	[ -n "$_bf_want" ] || { REPLY=''; return 1; }
	# A FAT serial (XXXX-XXXX) is stored little-endian.
	_bf_alt=$_bf_want
	[ ${#_bf_want} -eq 8 ] && bi_rev "$_bf_want" && _bf_alt=$REPLY
	shift
	# shellcheck disable=SC2086 # device nodes, one word each
	if [ $# -eq 0 ]; then bi_candidates; set -f; set -- $REPLY; set +f; fi
	[ $# -gt 0 ] || return 1
	_bf_count=$#
	_bf_devs=$*
	_bf_out=$(bi_dump "$@")
	set -f
	_bf_ifs=$IFS
	IFS=$BI_NL
	# shellcheck disable=SC2086 # one line per device
	set -- $_bf_out
	IFS=$_bf_ifs
	_bf_n=0
	_bf_hit=0
	for _bf_l; do
		_bf_n=$((_bf_n + 1))
		[ "$_bf_hit" = 0 ] || continue
		# Parsed only where the value occurs: a line is ~40 words and most lines are other devices.
		case $_bf_l in *"$_bf_want"* | *"${_bf_text:-$_bf_want}"* | *"$_bf_alt"*) ;; *) continue ;; esac
		# shellcheck disable=SC2086 # one line of hex fields
		bi_parse $_bf_l && bi_matches "$_bf_key" "$_bf_want" "$_bf_text" && _bf_hit=$_bf_n && _bf_type=$BI_TYPE
	done
	# A read that fell short shifts every line after it: fewer lines, or a last one cut short.
	# shellcheck disable=SC2086 # one line of hex fields
	if [ "$_bf_n" -ne "$_bf_count" ] || ! bi_parse ${_bf_l-}; then
		set +f
		REPLY=''
		return 2
	fi
	[ "$_bf_hit" -gt 0 ] || { set +f; REPLY=''; return 1; }
	# shellcheck disable=SC2086 # device nodes, one word each
	bi_nth "$_bf_hit" $_bf_devs
	BI_FOUND="$REPLY $_bf_type"
	set +f
	return 0
}

# bi_matches LABEL|UUID WANT WANT_TEXT: the parsed device (bi_parse) has it.
bi_matches() {
	[ -n "$BI_TYPE" ] || return 1
	if [ "$1" = LABEL ]; then [ "$BI_LABEL" = "$2" ]; return; fi
	[ "$BI_TYPE" = crypto_LUKS ] && { [ "$BI_UUID" = "$3" ]; return; }
	[ "$BI_UUID" = "$2" ]
}

# bi_nth N WORD...: sets REPLY to the Nth word.
bi_nth() {
	shift "$1"
	REPLY=$1
}

# bi_fs_type DEV: sets REPLY to DEV's type when it is one read here (else empty), in one read.
bi_fs_type() {
	REPLY=
	case $BI_FOUND in "$1 "*) REPLY=${BI_FOUND#* }; return 0 ;; esac
	_bt=$(bi_dump "$1")
	# shellcheck disable=SC2086 # one line of hex fields
	bi_parse $_bt && REPLY=$BI_TYPE
	return 0
}

# bi_rev HEX: sets REPLY to HEX's bytes in reverse order (a little-endian number, most significant first).
bi_rev() {
	_br_h=$1
	REPLY=
	while [ -n "$_br_h" ]; do
		REPLY=${_br_h%"${_br_h#??}"}$REPLY
		_br_h=${_br_h#??}
	done
}
