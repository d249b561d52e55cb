# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the storage modules (crypt, lvm, mdraid, resume), each of which installs it.

# is_off KEY: the parameter is given as 0/no/off/false (rd.luks=0, rd.lvm=0, rd.md=0).
is_off() {
	read_param "$1" || return 1
	case $REPLY in 0 | no | off | false) return 0 ;; esac
	return 1
}

# state_once LINE: appends LINE to the state file unless it is there already.
state_once() {
	grep -qxF "$1" "$RD_RUN/state" 2>/dev/null || echo "$1" >> "$RD_RUN/state"
}

# st_load MODULE...: the kernel modules a step needs, loaded only once the step has something to
# do (load_module: kmod.sh's table, else modprobe): a plain root never loads dm or md.
st_load() {
	for _sl; do load_module "$_sl" || warn "cannot load kernel module $_sl"; done
}

# Which devices hold what the steps handle, so that cryptsetup, lvm and mdadm (a second or more
# each under TCG) run only where they have something to do. Read from each device, as
# blockid.sh reads superblocks: LUKS magic at 0, LVM2's LABELONE at the start of sectors 0-3, the
# md superblock magic at 0 (1.1) and 4096 (1.2); with ST_TAIL=1 (mdraid) also the last 128 KiB
# (0.90 and 1.0 superblocks, IMSM and DDF anchors). One stream for every device, cut into
# 512-byte blocks: hexdump prints each block's offset and first 8 bytes, sed keeps the magic ones
# and the last (its offset says whether every read was whole). Read again only when the set of
# block devices changed (RD_BLOCK_SEEN, device.sh). Results: ST_LUKS, ST_LVM, ST_MD (nodes).
ST_LUKS=
ST_LVM=
ST_MD=
ST_TAIL=0
ST_SCANNED=-
ST_HEAD=8192
ST_END=131072
ST_DEV=/dev
ST_PARTITIONS=/proc/partitions
ST_MAGIC='4c554b53babe000[12]\|4c4142454c4f4e45\|fc4e2ba9\|496e74656c205261\|de11de11'

# st_candidates: REPLY is every node of at least 128 KiB, CDs and floppies left out (a drive
# without a medium fails its read), in /proc/partitions order (read once: `read` takes a byte per
# system call).
st_candidates() {
	REPLY=
	_sn_all=$(cat "$ST_PARTITIONS" 2>/dev/null) || return 0
	set -f
	# shellcheck disable=SC2086 # major minor KiB name, four words a line after the heading
	set -- $_sn_all
	set +f
	while [ $# -ge 4 ]; do
		case $1$4 in
		major* | *sr[0-9]* | *fd[0-9]*) ;;
		*) [ "$3" -ge $((ST_END / 1024)) ] 2>/dev/null && REPLY="$REPLY $ST_DEV/$4" ;;
		esac
		shift 4
	done
}

# st_read DEV...: the offset and first 8 bytes (hex) of each magic 512-byte block, then the last.
st_read() {
	{
		head -q -c "$ST_HEAD" "$@"
		[ "$ST_TAIL" = 1 ] && tail -q -c "$ST_END" "$@"
	} 2>/dev/null | hexdump -v -e '"%_ad " 8/1 "%02x" 1/504 "%.0s" "\n"' | sed -n "/ \\($ST_MAGIC\\)/p;\$p"
}

storage_scan() {
	[ "$ST_SCANNED" = "$RD_BLOCK_SEEN" ] && return 0
	ST_SCANNED=$RD_BLOCK_SEEN
	ST_LUKS='' ST_LVM='' ST_MD=''
	st_candidates
	_sc_devs=$REPLY
	set -f
	# shellcheck disable=SC2086 # device nodes, one word each
	set -- $_sc_devs
	set +f
	[ $# -gt 0 ] || return 0
	_sc_heads=$(($# * ST_HEAD))
	_sc_size=$_sc_heads
	[ "$ST_TAIL" = 1 ] && _sc_size=$((_sc_size + $# * ST_END))
	_sc_out=$(st_read "$@")
	_sc_last=-1
	while read -r _sc_off _sc_w; do
		st_classify "$_sc_off" "$_sc_w"
		_sc_last=$_sc_off
	done <<EOT
$_sc_out
EOT
	# A read that fell short shifts every device after it: then every device may hold anything.
	[ "$_sc_last" = $((_sc_size - 512)) ] || { ST_LUKS=$_sc_devs ST_LVM=$_sc_devs ST_MD=$_sc_devs; }
	return 0
}

# st_classify OFFSET WORD: adds the device whose block this is to the list its magic names.
st_classify() {
	case $2 in 4c554b53babe000[12] | 4c4142454c4f4e45 | fc4e2ba9* | 496e74656c205261 | de11de11*) ;; *) return 0 ;; esac
	if [ "$1" -lt "$_sc_heads" ]; then
		_st_i=$(($1 / ST_HEAD + 1))
		_st_p=$(($1 % ST_HEAD))
		case $_st_p:$2 in
		0:4c554b53babe*) st_add LUKS "$_st_i" ;;
		0:4c4142454c4f4e45 | 512:4c4142454c4f4e45 | 1024:4c4142454c4f4e45 | 1536:4c4142454c4f4e45) st_add LVM "$_st_i" ;;
		0:fc4e2ba9* | 4096:fc4e2ba9*) st_add MD "$_st_i" ;;
		esac
	else
		case $2 in 4c*) return 0 ;; esac
		st_add MD $((($1 - _sc_heads) / ST_END + 1))
	fi
}

# st_add LUKS|LVM|MD N: the Nth candidate (of _sc_devs) joins ST_<kind>, once.
st_add() {
	set -f
	# shellcheck disable=SC2086 # device nodes, one word each
	set -- "$1" "$2" $_sc_devs
	set +f
	_sa_kind=$1
	_sa_n=$2
	shift 2
	shift $((_sa_n - 1))
	case $_sa_kind in
	LUKS) case " $ST_LUKS " in *" $1 "*) ;; *) ST_LUKS="$ST_LUKS $1" ;; esac ;;
	LVM) case " $ST_LVM " in *" $1 "*) ;; *) ST_LVM="$ST_LVM $1" ;; esac ;;
	MD) case " $ST_MD " in *" $1 "*) ;; *) ST_MD="$ST_MD $1" ;; esac ;;
	esac
}
