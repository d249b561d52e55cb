# SPDX-License-Identifier: GPL-2.0-or-later
# Who a block device is, without probing every device (issue 11): PARTLABEL from the kernel's
# uevent (PARTNAME), PARTUUID from the parent disk's partition table (one read), LABEL/UUID/TYPE
# from one read of every candidate's first 1160 bytes printed by hexdump as 4-byte words (bi_by_fs),
# and the full 4 KiB of one device (bi_dump) for its type or where the words cannot tell. Under
# QEMU TCG a fork costs ~6 ms, a shell loop ~0.5 ms a line and hexdump a printf per field, so each
# lookup is a fixed handful of processes, never one per device nor a loop over devices. Types not
# read here (btrfs, iso9660, f2fs, ...) fall back to findfs/blkid in device.sh. Fields are compared
# as lowercase hex, so labels may hold any byte but NUL.

# The full read: the first BI_BLOCK bytes; fields as OFFSET:LENGTH, printed as hex in this order:
# magic(0) luks2-label luks-uuid xfs-uuid xfs-label fat16-serial fat16-label fat16-type
# fat32-serial fat32-label fat32-type bootsig erofs-magic erofs-uuid erofs-name swap-uuid
# swap-label ext-magic ext-compat ext-incompat ext-rocompat ext-uuid ext-label swap-magic(4 KiB pages).
BI_BLOCK=4096
# Where nodes and sysfs are (tests point them at files).
BI_DEV=/dev
PT_SYS=/sys
# The last answers: parsed fields (bi_parse) and "DEV TYPE" of the last device found (bi_by_fs).
BI_TYPE=''
BI_LABEL=''
BI_UUID=''
BI_FOUND=''
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
	bi_rev "$1"; _be_c=$((0x$REPLY))
	bi_rev "$2"; _be_i=$((0x$REPLY))
	bi_rev "$3"
	bi_ext_type "$_be_c" "$_be_i" $((0x$REPLY))
}

# bi_ext_type COMPAT INCOMPAT ROCOMPAT (numbers): sets BI_TYPE.
bi_ext_type() {
	# incompat journal_dev: an external journal, never a root.
	if [ $(($2 & 8)) -ne 0 ]; then BI_TYPE=jbd
	elif [ $(($3 & ~7)) -ne 0 ] || [ $(($2 & ~0x16)) -ne 0 ]; then BI_TYPE=ext4
	elif [ $(($1 & 4)) -ne 0 ]; then BI_TYPE=ext3
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
		# A UUID's characters directly (the text of a LUKS UUID: 36 of them on every first try).
		case $_bh_c in
		[0-9]) REPLY=${REPLY}3$_bh_c; continue ;;
		-) REPLY=${REPLY}2d; continue ;;
		a) REPLY=${REPLY}61; continue ;; b) REPLY=${REPLY}62; continue ;; c) REPLY=${REPLY}63; continue ;;
		d) REPLY=${REPLY}64; continue ;; e) REPLY=${REPLY}65; continue ;; f) REPLY=${REPLY}66; continue ;;
		esac
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
	# Already lowercase (as blkid prints it): the dashes dropped by one split, not a loop per character.
	case $1 in *[!0-9a-f-]*) ;; *)
		REPLY=$1
		[ -n "${2-}" ] && return 0
		_bl_ifs=$IFS
		IFS=-
		# shellcheck disable=SC2086 # split at the dashes; hex digits hold no glob character
		set -- $1
		IFS=$_bl_ifs
		REPLY=
		for _bl_s; do REPLY=$REPLY$_bl_s; done
		return 0 ;;
	esac
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

# bi_candidates: sets REPLY to the nodes worth reading for a filesystem, one word each,
# from globs of sysfs and /dev (no fork, no file read per partition: /proc/partitions costs a fork and
# a shell loop of ~0.5 ms a line under TCG): every partition, and every whole disk without
# partitions (its first blocks are not a partition table) of at least 4 KiB (not an unused loop
# device), not a CD or floppy drive (no medium: a failed read would shift every line after it), not an
# extended partition's 1 KiB stub (read: a short read would shift them too). The kernel names a
# disk's partitions NAME1.. or, when NAME ends in a digit, NAMEp1.. Disks in name order (dm-*, md*
# before the disks they are made of), a disk's partitions in name order (vda1 vda10 vda11 .. vda2).
bi_candidates() {
	set --
	for _bc_d in "$PT_SYS"/block/*; do
		_bc_n=${_bc_d##*/}
		case $_bc_n in sr[0-9]* | fd[0-9]* | '*') continue ;; *[0-9]) _bc_p=${_bc_n}p ;; *) _bc_p=$_bc_n ;; esac
		for _bc_x in "$_bc_d/$_bc_p"[0-9]*; do break; done
		if [ -e "$_bc_x" ]; then
			# No node yet (a disk being added): left to the next try (a glob that matched
			# nothing stays a pattern).
			for _bc_x in "$BI_DEV/$_bc_p"[0-9]*; do break; done
			[ -e "$_bc_x" ] || continue
			bi_stubs "$_bc_d" "$_bc_p"
			if [ -z "$REPLY" ]; then set -- "$@" "$BI_DEV/$_bc_p"[0-9]*; continue; fi
			for _bc_x in "$BI_DEV/$_bc_p"[0-9]*; do
				case " $REPLY " in *" $_bc_x "*) ;; *) set -- "$@" "$_bc_x" ;; esac
			done
		elif [ -e "$BI_DEV/$_bc_n" ] && read -r _bc_s 2>/dev/null < "$_bc_d/size" && [ "$_bc_s" -ge 8 ] 2>/dev/null; then
			set -- "$@" "$BI_DEV/$_bc_n"
		fi
	done
	REPLY=$*
}

# bi_stubs SYSDIR PREFIX: sets REPLY to the nodes of the disk's partitions 1-4 under 4 KiB (an MBR
# extended partition is a 1 KiB stub; logical partitions are numbered from 5).
bi_stubs() {
	REPLY=
	for _bs_n in 1 2 3 4; do
		read -r _bs_s 2>/dev/null < "$1/$2$_bs_n/size" || continue
		[ "$_bs_s" -ge 8 ] 2>/dev/null || REPLY="$REPLY $BI_DEV/$2$_bs_n"
	done
}

# The bulk read: the first BI_HEAD bytes of each candidate, printed as 4-byte words (hexdump's %08x
# in the CPU's byte order: one printf per word, not per byte, which is what costs under TCG) of
# only the fields the lookup compares: hexdump's time is one printf per word or skipped run, so
# a LABEL= dump leaves out the UUIDs and a UUID= dump the labels (39 and 34 words a device, not 75).
# Swap's magic (at 4086) and the FAT boot sector are checked by the full read (bi_dump) of the
# one device whose words hold the value there.
BI_HEAD=1160
# (hexdump leaves out the space after the last of N/4 words: one more after each group.)
# LABEL=: bytes 0-7 (w1-2), 24-91 (w3-19: LUKS2 label, both FAT labels), 108-119 (w20-22: xfs
# label), 1024 (w23: erofs magic), 1052-1067 (w24-27: swap label), 1080 (w28: ext magic),
# 1088-1103 (w29-32: erofs name), 1116-1127 (w33-35: ext features), 1144-1159 (w36-39: ext label).
BI_WFMT_LABEL='2/4 "%08x " " " 1/16 "%.0s" 17/4 "%08x " " " 1/16 "%.0s" 3/4 "%08x " " " 1/904 "%.0s" 1/4 "%08x " 1/24 "%.0s" 4/4 "%08x " " " 1/12 "%.0s" 1/4 "%08x " 1/4 "%.0s" 4/4 "%08x " " " 1/12 "%.0s" 3/4 "%08x " " " 1/16 "%.0s" 4/4 "%08x " "\n"'
# UUID=: bytes 0-7 (w1-2), 32-47 (w3-6: xfs UUID, FAT16 serial), 64-71 (w7-8: FAT32 serial),
# 168-207 (w9-18: LUKS UUID text), 1024 (w19: erofs magic), 1036-1051 (w20-23: swap UUID),
# 1072-1087 (w24-27: erofs UUID, w26 the ext magic), 1116-1143 (w28-30: ext features, w31-34: ext UUID).
BI_WFMT_UUID='2/4 "%08x " " " 1/24 "%.0s" 4/4 "%08x " " " 1/16 "%.0s" 2/4 "%08x " " " 1/96 "%.0s" 10/4 "%08x " " " 1/816 "%.0s" 1/4 "%08x " 1/8 "%.0s" 4/4 "%08x " " " 1/20 "%.0s" 4/4 "%08x " " " 1/28 "%.0s" 7/4 "%08x " " " 1/16 "%.0s" "\n"'
BI_ORDER=''

# bi_order: BI_ORDER (little or big, as the kernel says) and the magics as the word dump prints them.
bi_order() {
	[ -n "$BI_ORDER" ] && return 0
	read -r BI_ORDER 2>/dev/null < "$PT_SYS/kernel/cpu_byteorder" || BI_ORDER=little
	bi_glob 0 4c554b53babe0001; BI_M_LUKS1=$REPLY
	bi_glob 0 4c554b53babe0002; BI_M_LUKS2=$REPLY
	bi_glob 0 58465342; BI_M_XFS=$REPLY
	bi_glob 0 68737173; BI_M_SQUASHFS=$REPLY
	bi_glob 0 e2e1f5e0; BI_M_EROFS=$REPLY
	bi_glob 0 53ef; BI_M_EXT=$REPLY
}

# bi_glob OFFSET HEX: sets REPLY to how the word dump prints the words that hold HEX (bytes in disk
# order) at OFFSET: `??` for their other bytes, a space between words; a pattern for `case`.
bi_glob() {
	REPLY=
	_bg_w=
	_bg_i=0
	_bg_h=$2
	while [ "$_bg_i" -lt $(($1 % 4)) ]; do bi_glob_byte '??'; done
	# Whole words four bytes at a time (fewer shell steps than a byte at a time).
	while [ $((_bg_i % 4)) -eq 0 ] && [ ${#_bg_h} -ge 8 ]; do
		_bg_r=${_bg_h#????????}
		_bg_x=${_bg_h%"$_bg_r"}
		_bg_h=$_bg_r
		_bg_i=$((_bg_i + 4))
		[ "$BI_ORDER" = big ] && { REPLY="$REPLY $_bg_x"; continue; }
		_bg_a=${_bg_x%??????}
		_bg_x=${_bg_x#??}
		_bg_b=${_bg_x%????}
		_bg_x=${_bg_x#??}
		REPLY="$REPLY ${_bg_x#??}${_bg_x%??}$_bg_b$_bg_a"
	done
	while [ ${#_bg_h} -ge 2 ]; do
		bi_glob_byte "${_bg_h%"${_bg_h#??}"}"
		_bg_h=${_bg_h#??}
	done
	while [ $((_bg_i % 4)) -ne 0 ]; do bi_glob_byte '??'; done
	REPLY=${REPLY# }
}

bi_glob_byte() {
	if [ "$BI_ORDER" = big ]; then _bg_w=$_bg_w$1; else _bg_w=$1$_bg_w; fi
	_bg_i=$((_bg_i + 1))
	[ $((_bg_i % 4)) -ne 0 ] && return 0
	REPLY="$REPLY $_bg_w"
	_bg_w=
}

# bi_pad HEX BYTES PAD: sets REPLY to HEX padded with PAD bytes to BYTES; fails when longer.
bi_pad() {
	REPLY=$1
	[ ${#REPLY} -le $(($2 * 2)) ] || return 1
	while [ ${#REPLY} -lt $(($2 * 2)) ]; do REPLY=$REPLY$3; done
}

# bi_wfield OFFSET BYTES PAD WANT TEXT: the field printed as TEXT (words) holds WANT padded with PAD.
bi_wfield() {
	bi_pad "$4" "$2" "$3" || return 1
	bi_glob "$1" "$REPLY"
	# shellcheck disable=SC2254 # the printed form as a pattern: ?? for the words' other bytes
	case $5 in $REPLY) return 0 ;; esac
	return 1
}

# bi_wval WORD: sets REPLY to the number a printed word holds as a little-endian 32-bit field.
bi_wval() {
	if [ "$BI_ORDER" = big ]; then bi_rev "$1"; REPLY=$((0x$REPLY)); else REPLY=$((0x$1)); fi
}

# bi_wmatch LABEL|UUID WORD...: one line of the word dump (BI_WFMT_LABEL or BI_WFMT_UUID) has the
# wanted value (_bf_want, and _bf_text for a LUKS UUID) in the field its type keeps it in; sets
# BI_TYPE. Returns 1 when not, 2 when a swap or FAT field holds it: only the full read (swap's magic
# is at 4086) can tell.
bi_wmatch() {
	_wm_k=$1
	shift
	BI_TYPE=
	# shellcheck disable=SC2254 # magics as patterns
	case "$1 $2" in
	$BI_M_LUKS1 | $BI_M_LUKS2) BI_TYPE=crypto_LUKS ;;
	$BI_M_XFS\ *) BI_TYPE=xfs ;;
	$BI_M_SQUASHFS\ *) return 1 ;;
	esac
	if [ "$_wm_k" = UUID ]; then bi_wmatch_uuid "$@"; else bi_wmatch_label "$@"; fi
}

# bi_wmatch_label WORD...: bi_wmatch on a BI_WFMT_LABEL line (39 words).
bi_wmatch_label() {
	[ $# -eq 39 ] || return 1
	case $BI_TYPE in
	crypto_LUKS)
		# shellcheck disable=SC2254
		case "$1 $2" in $BI_M_LUKS1) return 1 ;; esac
		bi_wfield 24 48 00 "$_bf_want" "$3 $4 $5 $6 $7 $8 $9 ${10} ${11} ${12} ${13} ${14}"
		return ;;
	xfs) bi_wfield 108 12 00 "$_bf_want" "${20} ${21} ${22}"; return ;;
	esac
	# shellcheck disable=SC2254 # the ext magic word has ?? for s_state
	case ${28} in $BI_M_EXT)
		bi_wext "${33}" "${34}" "${35}"
		bi_wfield 1144 16 00 "$_bf_want" "${36} ${37} ${38} ${39}"
		return ;;
	esac
	if [ "${23}" = "$BI_M_EROFS" ]; then
		BI_TYPE=erofs
		bi_wfield 1088 16 00 "$_bf_want" "${29} ${30} ${31} ${32}"
		return
	fi
	bi_wfield 1052 16 00 "$_bf_want" "${24} ${25} ${26} ${27}" && return 2
	bi_wfield 43 11 20 "$_bf_want" "$7 $8 $9 ${10}" || bi_wfield 71 11 20 "$_bf_want" "${14} ${15} ${16} ${17}" || return 1
	return 2
}

# bi_wmatch_uuid WORD...: bi_wmatch on a BI_WFMT_UUID line (34 words).
bi_wmatch_uuid() {
	[ $# -eq 34 ] || return 1
	case $BI_TYPE in
	crypto_LUKS) bi_wfield 168 40 00 "$_bf_text" "$9 ${10} ${11} ${12} ${13} ${14} ${15} ${16} ${17} ${18}"; return ;;
	xfs) bi_wfield 32 16 00 "$_bf_want" "$3 $4 $5 $6"; return ;;
	esac
	# shellcheck disable=SC2254 # the ext magic word has ?? for s_state
	case ${26} in $BI_M_EXT)
		bi_wext "${28}" "${29}" "${30}"
		bi_wfield 1128 16 00 "$_bf_want" "${31} ${32} ${33} ${34}"
		return ;;
	esac
	if [ "${19}" = "$BI_M_EROFS" ]; then
		BI_TYPE=erofs
		bi_wfield 1072 16 00 "$_bf_want" "${24} ${25} ${26} ${27}"
		return
	fi
	bi_wfield 1036 16 00 "$_bf_want" "${20} ${21} ${22} ${23}" && return 2
	bi_rev "$_bf_want"
	_wm_s=$REPLY
	bi_wfield 39 4 00 "$_wm_s" "$4 $5" || bi_wfield 67 4 00 "$_wm_s" "$7 $8" || return 1
	return 2
}

# bi_wext COMPAT INCOMPAT ROCOMPAT (printed words): sets BI_TYPE to ext2, ext3, ext4 or jbd.
bi_wext() {
	bi_wval "$1"; _wm_c=$REPLY
	bi_wval "$2"; _wm_i=$REPLY
	bi_wval "$3"
	bi_ext_type "$_wm_c" "$_wm_i" "$REPLY"
}

# bi_literal PATTERN: sets REPLY to the longest part of a printed form without `?` (what grep -F
# looks for).
bi_literal() {
	REPLY=
	_bl_p=$1
	while [ -n "$_bl_p" ]; do
		_bl_r=${_bl_p%%\?*}
		[ ${#_bl_r} -gt ${#REPLY} ] && REPLY=$_bl_r
		_bl_p=${_bl_p#"$_bl_r"}
		_bl_p=${_bl_p#\?}
	done
}

# bi_want LABEL=X|UUID=X: the value as the word dump prints it: _bf_key, _bf_want (hex), _bf_text
# (a LUKS UUID's text as hex) and the literals grep looks for (_bf_c1, _bf_c2). Fails for no value.
bi_want() {
	_bf_key=${1%%=*}
	bi_order
	if [ "$_bf_key" = LABEL ]; then
		bi_hex "${1#LABEL=}"; _bf_want=$REPLY; _bf_text=
		# How an aligned, NUL-padded label field starts, and a FAT label (at 43 and 71: 3 mod 4).
		bi_pad "$_bf_want" $(((${#_bf_want} / 2 + 3) / 4 * 4)) 00 && bi_glob 0 "$REPLY"
		_bf_c1=$REPLY
		_bf_c2=$REPLY
		bi_pad "$_bf_want" 11 20 && bi_glob 43 "$REPLY" && _bf_c2=$REPLY
	else
		bi_lower "${1#UUID=}"; _bf_want=$REPLY
		# LUKS keeps the UUID as text: its bytes, as hex.
		bi_lower "${1#UUID=}" keep; bi_hex "$REPLY"; _bf_text=$REPLY
		# An all-zero UUID is no UUID (blkid shows none).
		case $_bf_want in *[!0]*) ;; *) return 1 ;; esac
		bi_glob 0 "$_bf_want"; _bf_c1=$REPLY
		bi_glob 0 "$_bf_text"; _bf_c2=$REPLY
		# A FAT serial (XXXX-XXXX) is stored little-endian, at 39 and 67.
		[ ${#_bf_want} -eq 8 ] && bi_rev "$_bf_want" && bi_glob 39 "$REPLY" && _bf_c1=$REPLY
	fi
	[ -n "$_bf_want" ] || return 1
	bi_literal "$_bf_c1"; _bf_c1=$REPLY
	bi_literal "$_bf_c2"; _bf_c2=$REPLY
	[ -n "$_bf_c1" ] || _bf_c1=$_bf_c2
}

# bi_by_fs LABEL=X|UUID=X [DEV...]: sets REPLY to the first device whose filesystem has it, and
# BI_FOUND to "DEV TYPE". Returns 1 when no device has it, 2 when the answer is unsure (a read fell
# short); both leave the slower full probe to the caller. One head, one hexdump (the word dump) and
# one grep (the lines that hold the value, and the bytes read) for all devices, then the full read
# (bi_dump) of one device only where the words cannot tell (swap, vfat). The printed form of the
# value (bi_want, ~10 ms of shell for a UUID under TCG) is kept from the tries made while drivers
# were loading, so the try after the disk appears only reads.
BI_WANT=''
bi_by_fs() {
	REPLY=''
	BI_FOUND=''
	if [ "$BI_WANT" != "$BI_ORDER $1" ]; then
		BI_WANT=
		bi_want "$1" || return 1
		BI_WANT="$BI_ORDER $1"
	fi
	shift
	# shellcheck disable=SC2086 # device nodes, one word each
	if [ $# -eq 0 ]; then bi_candidates; set -f; set -- $REPLY; set +f; fi
	[ $# -gt 0 ] || return 1
	_bf_count=$#
	_bf_devs=$*
	if [ "$_bf_key" = UUID ]; then _bf_fmt=$BI_WFMT_UUID; else _bf_fmt=$BI_WFMT_LABEL; fi
	_bf_out=$(head -q -c "$BI_HEAD" "$@" 2>/dev/null | hexdump -v -e "$_bf_fmt" -e '"total %_Ad\n"' |
		grep -n -F -e "$_bf_c1" -e "$_bf_c2" -e total)
	set -f
	_bf_ifs=$IFS
	IFS=$BI_NL
	# shellcheck disable=SC2086 # N:LINE for the lines that hold the value, then N:total BYTES
	set -- $_bf_out
	IFS=$_bf_ifs
	_bf_hit=0
	_bf_n=0
	_bf_l=
	for _bf_l; do
		_bf_n=${_bf_l%%:*}
		_bf_l=${_bf_l#*:}
		case $_bf_l in total\ *) break ;; esac
		[ "$_bf_hit" = 0 ] || continue
		# shellcheck disable=SC2086 # one line of words
		bi_wmatch "$_bf_key" $_bf_l
		case $? in
		0) _bf_hit=$_bf_n _bf_type=$BI_TYPE ;;
		2)
			# shellcheck disable=SC2086 # device nodes, one word each
			bi_nth "$_bf_n" $_bf_devs
			_bf_one=$(bi_dump "$REPLY")
			# shellcheck disable=SC2086 # one line of hex fields
			bi_parse $_bf_one && bi_matches "$_bf_key" "$_bf_want" "$_bf_text" && _bf_hit=$_bf_n _bf_type=$BI_TYPE ;;
		esac
	done
	set +f
	# A read that fell short shifts every line after it: the bytes read tell.
	[ "$_bf_n:$_bf_l" = "$((_bf_count + 1)):total $((_bf_count * BI_HEAD))" ] || { REPLY=''; return 2; }
	[ "$_bf_hit" -gt 0 ] || { REPLY=''; return 1; }
	# shellcheck disable=SC2086 # device nodes, one word each
	bi_nth "$_bf_hit" $_bf_devs
	BI_FOUND="$REPLY $_bf_type"
	return 0
}

# bi_matches LABEL|UUID WANT WANT_TEXT: the parsed device (bi_parse) has it.
bi_matches() {
	[ -n "$BI_TYPE" ] || return 1
	if [ "$1" = LABEL ]; then [ "$BI_LABEL" = "$2" ]; return; fi
	[ "$BI_TYPE" = crypto_LUKS ] && { [ "$BI_UUID" = "$3" ]; return; }
	[ "$BI_UUID" = "$2" ]
}

# bi_nth N WORD...: sets REPLY to the Nth word (empty when there are fewer: `shift` past the end
# would end the shell).
bi_nth() {
	REPLY=
	[ "$1" -ge 1 ] 2>/dev/null && [ "$1" -lt $# ] || return 1
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
