# SPDX-License-Identifier: GPL-2.0-or-later
# Paths in the new root, resolved inside it. The new root's own absolute symlinks (lib -> /usr/lib,
# /sbin/init -> /lib/systemd/systemd) name its files, not the initramfs's: following them from
# /init would test or write the initramfs instead, so every lookup goes through root_path.

RD_NEWLINE='
'

# root_path ROOT PATH: sets REPLY to PATH with every symlink under ROOT resolved inside ROOT
# (absolute targets start again at ROOT, `..` stops at ROOT), as an absolute path below ROOT.
# Components that do not exist are kept as they are. Fails after 40 links (a loop).
root_path() {
	_rp_todo=$2
	_rp_done=
	_rp_links=0
	while [ -n "$_rp_todo" ]; do
		_rp_c=${_rp_todo%%/*}
		case $_rp_todo in */*) _rp_todo=${_rp_todo#*/} ;; *) _rp_todo= ;; esac
		case $_rp_c in
		'' | .) continue ;;
		..) _rp_done=${_rp_done%/*}; continue ;;
		esac
		if [ -L "$1$_rp_done/$_rp_c" ]; then
			_rp_links=$((_rp_links + 1))
			[ "$_rp_links" -le 40 ] || return 1
			_rp_t=$(readlink "$1$_rp_done/$_rp_c") || return 1
			case $_rp_t in /*) _rp_done= ;; esac
			_rp_todo=$_rp_t${_rp_todo:+/$_rp_todo}
		else
			_rp_done=$_rp_done/$_rp_c
		fi
	done
	REPLY=${_rp_done:-/}
}

# check_init ROOT PATH: PATH, resolved inside ROOT, is a regular executable file (a script: and so
# is its interpreter), or fatal. A directory, a dangling link, a non-executable or a missing
# interpreter would end PID 1 in switch_root (a kernel panic).
check_init() {
	if ! root_path "$1" "$2" || ! [ -e "$1$REPLY" ]; then fatal "init $2 not found on the root filesystem"; fi
	if ! [ -f "$1$REPLY" ] || ! [ -x "$1$REPLY" ]; then fatal "init $2 is not an executable file on the root filesystem"; fi
	# A script whose interpreter the root lacks fails in switch_root's exec just the same.
	# The first line, from the first 256 bytes only: a binary may hold no newline for megabytes.
	_ci_line=$(head -c 256 "$1$REPLY" 2>/dev/null)
	_ci_line=${_ci_line%%"$RD_NEWLINE"*}
	case $_ci_line in
	'#!'*)
		_ci_int=${_ci_line#??}
		_ci_int=${_ci_int#"${_ci_int%%[! 	]*}"}
		_ci_int=${_ci_int%%[ 	]*}
		if ! root_path "$1" "$_ci_int" || ! [ -f "$1$REPLY" ] || ! [ -x "$1$REPLY" ]; then
			fatal "init $2 is a script for $_ci_int, which is not an executable file on the root filesystem"
		fi ;;
	esac
	vmsg "init $2 is $REPLY in the new root"
}
