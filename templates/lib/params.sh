# SPDX-License-Identifier: GPL-2.0-or-later
# Boot parameters: the kernel command line, then ruckusrd.conf, as data. Never eval'd or sourced.
# Allowed keys and their kinds come from /etc/ruckusrd/params (rendered from src/core/params.ts).
# Each accepted parameter becomes a file $RD_RUN/params/<key> holding its value, so no variable
# name is ever built from input.

RD_PARAM_LIST=${RD_PARAM_LIST:-/etc/ruckusrd/params}
REPLY=
PARAM_SCOPE=

# param_kind KEY: sets REPLY to the kind of an allowed key and PARAM_SCOPE to `cmdline` for keys
# read before ruckusrd.conf is (empty otherwise); fails for anything else.
param_kind() {
	case $1 in '' | *[!A-Za-z0-9_-]*) return 1 ;; esac
	while read -r _name _kind _scope; do
		[ "$_name" = "$1" ] && REPLY=$_kind && PARAM_SCOPE=$_scope && return 0
	done < "$RD_PARAM_LIST"
	return 1
}

# is_name VALUE: a file-name-safe word (no `/`, no `..`, nothing a shell would read).
is_name() {
	case $1 in '' | *..* | *[!A-Za-z0-9._-]*) return 1 ;; esac
	return 0
}

# all_items VALUE SEP CHECK: CHECK (one of the is_* functions here) holds for every item.
all_items() {
	_rest=$1
	while :; do
		"$3" "${_rest%%"$2"*}" || return 1
		case $_rest in *"$2"*) _rest=${_rest#*"$2"} ;; *) return 0 ;; esac
	done
}

is_size() {
	case $1 in '' | *[!0-9kKmMgG%]* | [!0-9]*) return 1 ;; esac
	case ${1%[kKmMgG%]} in *[!0-9]*) return 1 ;; esac
	return 0
}

is_device() {
	case $1 in
	LABEL=?* | UUID=?* | PARTUUID=?* | PARTLABEL=?*) return 0 ;;
	/dev/*/../* | /dev/../* | */..) return 1 ;;
	/dev/?*) case $1 in *[!A-Za-z0-9._/:+-]*) return 1 ;; esac; return 0 ;;
	esac
	return 1
}

# param_valid KIND VALUE: the same rules as src/core/params.ts.
param_valid() {
	case $1 in
	flag) return 0 ;;
	device) is_device "$2" ;;
	name) is_name "$2" ;;
	names) all_items "$2" : is_name ;;
	list) all_items "$2" , is_name ;;
	size) is_size "$2" ;;
	number) case $2 in '' | *[!0-9]*) return 1 ;; esac ;;
	abspath | relpath)
		case $2 in '' | *[!A-Za-z0-9._/+-]* | .. | ../* | */.. | */../*) return 1 ;; esac
		case $1:$2 in abspath:/* | relpath:[!/]*) return 0 ;; esac
		return 1 ;;
	fstype) case $2 in '' | *[!a-z0-9_.]*) return 1 ;; esac ;;
	options) case $2 in '' | *[\'\"\`\$\\\;\|\&\<\>\(\)\ \	]*) return 1 ;; esac ;;
	sizeordevice) is_size "$2" || is_device "$2" ;;
	devices) all_items "$2" , is_device ;;
	*) return 1 ;;
	esac
}

# set_param KEY VALUE SOURCE: SOURCE `conf` never replaces what the command line gave.
set_param() {
	param_kind "$1" || { vmsg "ignoring unknown parameter $1 from $3"; return 0; }
	param_valid "$REPLY" "$2" || fatal "invalid value for $1 from $3: $2"
	if [ "$3" = conf ] && [ "$PARAM_SCOPE" = cmdline ]; then
		warn "ruckusrd.conf: $1 is read before ruckusrd.conf; give it on the kernel command line"
		return 0
	fi
	[ "$3" = conf ] && [ -e "$RD_RUN/params/$1.cmdline" ] && return 0
	printf '%s\n' "$2" > "$RD_RUN/params/$1"
	[ "$3" = cmdline ] && : > "$RD_RUN/params/$1.cmdline"
	return 0
}

# parse_word WORD SOURCE: `key=value` or a bare flag `key`.
parse_word() {
	case $1 in
	*=*) set_param "${1%%=*}" "${1#*=}" "$2" ;;
	*) set_param "$1" "" "$2" ;;
	esac
}

# Reads /proc/cmdline once. Words split on blanks with globbing off; a double-quoted span keeps
# its blanks (as the kernel allows: key="a b"), and the quotes are dropped. `--` ends our part.
parse_cmdline() {
	read -r _line < "${RD_CMDLINE:-/proc/cmdline}" || _line=
	set -f
	_word=
	_quoted=0
	for _w in $_line; do
		[ "$_quoted" = 0 ] && [ "$_w" = "--" ] && break
		if [ "$_quoted" = 1 ]; then _word="$_word $_w"; else _word=$_w; fi
		toggle_quotes "$_w"
		[ "$_quoted" = 1 ] && continue
		case $_word in *\"*) _word=$(printf '%s' "$_word" | tr -d '"') ;; esac
		parse_word "$_word" cmdline
	done
	set +f
}

# Flips _quoted once per double quote in $1.
toggle_quotes() {
	_s=$1
	while :; do
		case $_s in
		*\"*) _s=${_s#*\"}; _quoted=$((1 - _quoted)) ;;
		*) return 0 ;;
		esac
	done
}

# parse_conf FILE: `key=value` lines (and bare flags); `#` comments. The command line wins.
parse_conf() {
	[ -f "$1" ] || return 0
	while IFS= read -r _cl || [ -n "$_cl" ]; do
		case $_cl in '' | '#'*) continue ;; esac
		parse_word "$_cl" conf
	done < "$1"
}

has_param() {
	[ -e "$RD_RUN/params/$1" ]
}

# read_param KEY [DEFAULT]: sets REPLY to the value, or DEFAULT (empty when not given).
read_param() {
	REPLY=${2-}
	[ -f "$RD_RUN/params/$1" ] || return 1
	read -r REPLY < "$RD_RUN/params/$1"
	return 0
}
