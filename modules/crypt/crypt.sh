# SPDX-License-Identifier: GPL-2.0-or-later
# LUKS at boot, without udev. crypt_plan turns every way of naming a LUKS device (rd.luks.uuid=,
# rd.luks.name=, cryptdevice=, the base's /etc/crypttab; none of them: every LUKS device found) into
# `SOURCE NAME KEY OPTIONS` lines of $RD_RUN/crypt.want; crypt_step, one step of the device handler
# (templates/lib/device.sh), opens each whose source has appeared. The passphrase is read from the
# console without echo and handed to cryptsetup through a pipe: never on a command line, in a
# file, a log or the state file.

RD_CRYPT_WANT=$RD_RUN/crypt.want
RD_CRYPT_TRIES=3
RD_CRYPTTAB=/etc/crypttab
RD_CONSOLE=/dev/console
CRYPT_PASS=

# crypt_want SOURCE NAME KEY OPTIONS: one reference, unless its name or source is taken already.
crypt_want() {
	is_device "$1" || { warn "crypt: ignoring $2: bad device $1"; return 0; }
	is_name "$2" || { warn "crypt: ignoring bad name $2"; return 0; }
	# Compared as strings, not patterns: a device spec may hold `.` and `+`.
	while read -r _w_src _w_name _; do
		[ "$_w_src" = "$1" ] || [ "$_w_name" = "$2" ] && return 0
	done < "$RD_CRYPT_WANT"
	printf '%s %s %s %s\n' "$1" "$2" "${3:-none}" "${4:--}" >> "$RD_CRYPT_WANT"
}

# crypt_options UUID: sets REPLY to the rd.luks.options for this UUID, else the global ones.
crypt_options() {
	_opts=-
	[ -f "$RD_RUN/params/rd.luks.options" ] || { REPLY=$_opts; return 0; }
	while IFS= read -r _o; do
		case $_o in "$1="*) REPLY=${_o#*=}; return 0 ;; *=*) ;; *) _opts=$_o ;; esac
	done < "$RD_RUN/params/rd.luks.options"
	REPLY=$_opts
}

crypt_plan_params() {
	if [ -f "$RD_RUN/params/rd.luks.name" ]; then
		while IFS= read -r _n; do
			_u=${_n%%=*}
			_u=${_u#UUID=}
			crypt_options "${_u#luks-}"
			crypt_want "UUID=${_u#luks-}" "${_n#*=}" none "$REPLY"
		done < "$RD_RUN/params/rd.luks.name"
	fi
	if [ -f "$RD_RUN/params/rd.luks.uuid" ]; then
		while IFS= read -r _u; do
			_u=${_u#luks-}
			crypt_options "$_u"
			crypt_want "UUID=$_u" "luks-$_u" none "$REPLY"
		done < "$RD_RUN/params/rd.luks.uuid"
	fi
	if read_param cryptdevice; then
		# mkinitcpio's DEV:NAME[:OPTIONS], split on colons as the encrypt hook does.
		_cd=$REPLY
		_cd_dev=${_cd%%:*}
		_cd_rest=${_cd#*:}
		_cd_opts=-
		case $_cd_rest in *:*) _cd_opts=${_cd_rest#*:}; _cd_rest=${_cd_rest%%:*} ;; esac
		case ,$_cd_opts, in *,allow-discards,*) _cd_opts=discard ;; esac
		crypt_want "$_cd_dev" "$_cd_rest" none "$_cd_opts"
	fi
}

# crypt_plan_crypttab: the base's /etc/crypttab (Debian's convention), every entry meant for boot:
# not noauto, not swap/tmp with a random key, and a key that is a passphrase or a file in the image.
crypt_plan_crypttab() {
	[ -f "$RD_CRYPTTAB" ] || return 0
	while read -r _t_name _t_src _t_key _t_opts; do
		case $_t_name in '' | '#'*) continue ;; esac
		case ,${_t_opts:-}, in *,noauto,* | *,swap,* | *,tmp,* | *,plain,*) continue ;; esac
		case ${_t_key:-none} in
		none | - | /dev/random | /dev/urandom) _t_key=none ;;
		/*) [ -f "$_t_key" ] || { vmsg "crypt: $_t_name: key file $_t_key is not in the image; left to the system"; continue; } ;;
		*) continue ;;
		esac
		crypt_want "$_t_src" "$_t_name" "$_t_key" "${_t_opts:--}"
	done < "$RD_CRYPTTAB"
}

# Registers the step, once the devices phase has the parameters.
crypt_plan() {
	: > "$RD_CRYPT_WANT"
	is_off rd.luks && return 0
	crypt_plan_params
	for _p in rd.luks.uuid rd.luks.name cryptdevice; do has_param "$_p" && break; done
	# A parameter names the devices, even when none of its values was usable.
	if ! has_param "$_p"; then
		crypt_plan_crypttab
		# Nothing named: every LUKS device found is opened, as luks-UUID (dracut's default).
		[ -s "$RD_CRYPT_WANT" ] || echo "auto auto none -" > "$RD_CRYPT_WANT"
	fi
	# libdevmapper makes the /dev/mapper nodes itself: there is no udev to wait for.
	DM_DISABLE_UDEV=1
	export DM_DISABLE_UDEV
	RD_DEVICE_STEPS="$RD_DEVICE_STEPS crypt_step"
}

crypt_step() {
	while read -r _cs_src _cs_name _cs_key _cs_opts <&3; do
		if [ "$_cs_src" = auto ]; then
			crypt_auto
		elif ! [ -b "/dev/mapper/$_cs_name" ] && find_device_once "$_cs_src"; then
			crypt_open "$REPLY" "$_cs_name" "$_cs_key" "$_cs_opts"
		fi
	done 3< "$RD_CRYPT_WANT"
}

crypt_auto() {
	for _ca in /sys/class/block/*; do
		_ca_dev=/dev/${_ca##*/}
		if [ -b "$_ca_dev" ] && cryptsetup isLuks "$_ca_dev" 2>/dev/null; then
			_ca_uuid=$(cryptsetup luksUUID "$_ca_dev" 2>/dev/null) || continue
			is_name "$_ca_uuid" && ! [ -b "/dev/mapper/luks-$_ca_uuid" ] && crypt_open "$_ca_dev" "luks-$_ca_uuid" none -
		fi
	done
}

# crypt_open DEV NAME KEY OPTIONS: a key file, or up to tries= (default 3) passphrases; then fatal.
crypt_open() {
	_co_flags="--type luks"
	case ,$4, in *,discard,*) _co_flags="$_co_flags --allow-discards" ;; esac
	case ,$4, in *,readonly,* | *,read-only,*) _co_flags="$_co_flags --readonly" ;; esac
	_co_tries=$RD_CRYPT_TRIES
	case ,$4, in *,tries=*)
		_co_t=${4#*tries=}
		_co_t=${_co_t%%,*}
		is_decimal "$_co_t" 2 && [ "$_co_t" -gt 0 ] && _co_tries=$_co_t ;;
	esac
	if [ "$3" != none ]; then
		# shellcheck disable=SC2086 # flags are our own words
		cryptsetup open $_co_flags --key-file "$3" "$1" "$2" </dev/null || fatal "cannot unlock $1 ($2) with the key file $3"
		crypt_opened "$1" "$2" keyfile
		# Nobody typed anything: with the build's `auto` rescue policy no console shell from here on.
		lock_consoles "$1 was unlocked with a key in the image"
		return 0
	fi
	_co_try=1
	while [ "$_co_try" -le "$_co_tries" ]; do
		crypt_ask "$1" "$2" || fatal "cannot unlock $1 ($2): no passphrase could be read from the console"
		# shellcheck disable=SC2086 # flags are our own words
		printf '%s' "$CRYPT_PASS" | cryptsetup open $_co_flags --key-file=- "$1" "$2"
		_co_rc=$?
		CRYPT_PASS=
		[ "$_co_rc" = 0 ] && { crypt_opened "$1" "$2" passphrase; return 0; }
		# cryptsetup says 2 for a wrong passphrase; anything else will not improve with retyping.
		[ "$_co_rc" = 2 ] || fatal "cannot unlock $1 ($2): cryptsetup failed ($_co_rc)"
		echo "ruckusrd: wrong passphrase for $1 ($2), try $_co_try of $_co_tries" >>"$RD_CONSOLE"
		_co_try=$((_co_try + 1))
	done
	fatal "cannot unlock $1 ($2): wrong passphrase $_co_tries times"
}

# crypt_ask DEV NAME: CRYPT_PASS from the console, echo off. The wait for devices starts anew after.
crypt_ask() {
	RD_PROMPTED=1
	# Echo goes off before the prompt shows: what is typed once it shows is never echoed.
	stty -echo <"$RD_CONSOLE" 2>/dev/null
	printf 'ruckusrd: Enter passphrase for %s (%s): ' "$1" "$2" >>"$RD_CONSOLE"
	IFS= read -r CRYPT_PASS <"$RD_CONSOLE"
	_ca_rc=$?
	stty echo <"$RD_CONSOLE" 2>/dev/null
	# Appending: the same as writing on a terminal, and a test's fake console keeps its input.
	echo >>"$RD_CONSOLE"
	return "$_ca_rc"
}

crypt_opened() {
	echo "luks=$2 $1 $3" >> "$RD_RUN/state"
	msg "unlocked $1 as /dev/mapper/$2"
}
