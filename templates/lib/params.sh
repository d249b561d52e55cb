# SPDX-License-Identifier: GPL-2.0-or-later
# Boot parameters: the kernel command line, then ruckusrd.conf, as data. Never eval'd or sourced.
# Allowed keys and their kinds come from /etc/ruckusrd/params (rendered from src/core/params.ts).
# Each accepted parameter becomes a file $RD_RUN/params/<key> holding its value, so no variable
# name is ever built from input.

# Set here, never inherited: the kernel puts unknown `key=value` words of its command line into
# /init's environment (test/shell/ sets them after sourcing this file).
RD_PARAM_LIST=/etc/ruckusrd/params
RD_CMDLINE=/proc/cmdline
# The most a value may hold: a command line is 2048 bytes on x86, an OverlayFS option string one page.
RD_MAX_VALUE=4096
RD_MAX_CONF=65536
RD_CR=$(printf '\r')
REPLY=
PARAM_SCOPE=
PARAM_MULTI=

# param_kind KEY: sets REPLY to the kind of an allowed key, PARAM_SCOPE to `cmdline` for keys
# read before ruckusrd.conf is (empty otherwise) and PARAM_MULTI to `multi` for keys that keep every
# value given (rd.luks.uuid=A rd.luks.uuid=B); fails for anything else. Dots are allowed in keys
# (rd.luks.uuid): a key is only ever used once it equals a line of the allowlist.
param_kind() {
	case $1 in '' | *[!A-Za-z0-9_.-]*) return 1 ;; esac
	[ "$RD_PARAM_TABLE_OF" = "$RD_PARAM_LIST" ] || load_param_table
	case $RD_PARAM_TABLE in *"$RD_NL$1 "*) ;; *) return 1 ;; esac
	_pk_line=${RD_PARAM_TABLE#*"$RD_NL$1 "}
	# shellcheck disable=SC2086 # split into its words: kinds and scopes from src/core/params.ts
	param_fields ${_pk_line%%"$RD_NL"*}
}

# The allowlist is read once (the builtin `read` takes a byte per system call): one line per key,
# `key kind [scope [multi]]`, between newlines so a key is found with one `case`.
RD_NL='
'
RD_PARAM_TABLE=
RD_PARAM_TABLE_OF=
load_param_table() {
	RD_PARAM_TABLE=$RD_NL
	while read -r _pt_name _pt_rest; do
		RD_PARAM_TABLE="$RD_PARAM_TABLE$_pt_name $_pt_rest$RD_NL"
	done < "$RD_PARAM_LIST"
	RD_PARAM_TABLE_OF=$RD_PARAM_LIST
}

# param_fields KIND [SCOPE [MULTI]]: one allowlist line's fields (plain words: no globbing).
param_fields() {
	REPLY=$1
	PARAM_SCOPE=${2-}
	PARAM_MULTI=${3-}
}

# is_name VALUE: a file-name-safe word (no `/`, no `..`, nothing a shell would read).
is_name() {
	case $1 in '' | *..* | *[!A-Za-z0-9._-]*) return 1 ;; esac
	return 0
}

# all_items VALUE SEP CHECK: CHECK (one of the is_* functions here) holds for every item. Split by
# IFS in one pass (linear: cutting the rest item by item is quadratic in the length); globbing is
# off while splitting and restored as it was.
all_items() {
	case $1 in '' | "$2"* | *"$2") return 1 ;; esac
	_ai_ok=0
	_ai_ifs=$IFS
	case $- in *f*) _ai_glob=off ;; *) _ai_glob=on; set -f ;; esac
	IFS=$2
	for _ai_item in $1; do "$3" "$_ai_item" || { _ai_ok=1; break; }; done
	IFS=$_ai_ifs
	[ "$_ai_glob" = off ] || set +f
	return "$_ai_ok"
}

# is_decimal VALUE MAXDIGITS: 0, or digits without a leading zero (ash reads 010 as 8 and 08 as an
# arithmetic error that ends PID 1), at most MAXDIGITS of them (no overflow in $(( ))).
is_decimal() {
	case $1 in 0) return 0 ;; '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#1}" -le "$2" ]
}

# is_size VALUE: a tmpfs size: a decimal with one optional k/m/g/% suffix.
is_size() {
	is_decimal "${1%[kKmMgG%]}" 12
}

is_device() {
	case $1 in
	LABEL=?* | UUID=?* | PARTUUID=?* | PARTLABEL=?*)
		case ${1#*=} in *[!A-Za-z0-9._:+/@%~-]*) return 1 ;; esac
		return 0 ;;
	/dev/*/../* | /dev/../* | */..) return 1 ;;
	/dev/?*) case $1 in *[!A-Za-z0-9._/:+-]*) return 1 ;; esac; return 0 ;;
	esac
	return 1
}

# param_valid KIND VALUE: the same rules as src/core/params.ts. Every kind but flag is a positive
# class of ASCII characters, so a length in characters is one in bytes in every locale.
param_valid() {
	[ "$1" = flag ] && return 0
	[ "${#2}" -le "$RD_MAX_VALUE" ] || return 1
	case $1 in
	device) is_device "$2" ;;
	name) is_name "$2" ;;
	names) all_items "$2" : is_name ;;
	list) all_items "$2" , is_name ;;
	size) is_size "$2" ;;
	number) is_decimal "$2" 6 ;;
	abspath | relpath)
		case $2 in '' | *[!A-Za-z0-9._/+-]* | .. | ../* | */.. | */../*) return 1 ;; esac
		case $1:$2 in abspath:/* | relpath:[!/]*) return 0 ;; esac
		return 1 ;;
	fstype) case $2 in '' | *[!a-z0-9_.]*) return 1 ;; esac ;;
	options) case $2 in '' | *[!A-Za-z0-9._,=:/+@%~-]*) return 1 ;; esac ;;
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
	if [ "$PARAM_MULTI" = multi ]; then
		printf '%s\n' "$2" >> "$RD_RUN/params/$1"
	else
		printf '%s\n' "$2" > "$RD_RUN/params/$1"
	fi
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
	read -r _line < "$RD_CMDLINE" || _line=
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

# parse_conf FILE: `key=value` lines (and bare flags); `#` comments; CRLF line ends are read as LF.
# The command line wins. A symlink (it could point anywhere in the initramfs), anything but a
# regular file, or a file over RD_MAX_CONF bytes is refused before a line is read.
parse_conf() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	[ -L "$1" ] && fatal "$1 is a symlink; ruckusrd.conf must be a regular file"
	[ -f "$1" ] || fatal "$1 is not a regular file"
	_conf_size=$(stat -c %s "$1" 2>/dev/null) || _conf_size=
	if ! is_decimal "$_conf_size" 12 || [ "$_conf_size" -gt "$RD_MAX_CONF" ]; then
		fatal "$1 has ${_conf_size:-an unknown number of} bytes, more than $RD_MAX_CONF"
	fi
	while IFS= read -r _cl || [ -n "$_cl" ]; do
		_cl=${_cl%"$RD_CR"}
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
