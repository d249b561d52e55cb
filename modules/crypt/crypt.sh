# SPDX-License-Identifier: GPL-2.0-or-later
# LUKS at boot, without udev. crypt_plan turns every way of naming a LUKS device (rd.luks.uuid=,
# rd.luks.name=, cryptdevice=, the base's /etc/crypttab; none of them: every LUKS device found) into
# `SOURCE NAME KEY OPTIONS` lines of $RD_RUN/crypt.want; crypt_step, one step of the device handler
# (templates/lib/device.sh), opens each whose source has appeared. The passphrase is read from the
# console without echo and handed to cryptsetup through a pipe: never on a command line, in a
# file, a log or the state file. rd.luks.options= and rd.luks.key= apply to every way of naming a
# device (a UUID's own values first, else the global ones); keys and asking live in crypt-key.sh.

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

# crypt_options UUID: sets REPLY to the rd.luks.options for this UUID (may be empty), else the global ones.
crypt_options() {
	_opts=-
	[ -f "$RD_RUN/params/rd.luks.options" ] || { REPLY=$_opts; return 0; }
	while IFS= read -r _o; do
		# UUID=OPTIONS is one device's (a UUID has four dashes); anything else (tries=2,header=…) is global.
		_ok=${_o%%=*}
		case $_ok in
		*,*) _opts=$_o ;;
		*-*-*-*-*) [ -n "$1" ] && [ "${_ok#luks-}" = "$1" ] && { REPLY=${_o#*=}; return 0; } ;;
		*) _opts=$_o ;;
		esac
	done < "$RD_RUN/params/rd.luks.options"
	REPLY=$_opts
}

# crypt_merge FIRST SECOND: REPLY is the two option lists joined (`-` is none); the first wins
# where both set one (tries=, header=: the first match is taken).
crypt_merge() {
	case $1:$2 in -:*) REPLY=$2 ;; *:-) REPLY=$1 ;; *) REPLY=$1,$2 ;; esac
}

# crypt_want_uuid UUID NAME: one device named by its LUKS UUID, with its options and key.
crypt_want_uuid() {
	crypt_key "$1"
	_wu_key=$REPLY
	crypt_options "$1"
	crypt_want "UUID=$1" "$2" "$_wu_key" "$REPLY"
}

crypt_plan_params() {
	if [ -f "$RD_RUN/params/rd.luks.name" ]; then
		while IFS= read -r _n; do
			_u=${_n%%=*}
			_u=${_u#UUID=}
			crypt_want_uuid "${_u#luks-}" "${_n#*=}"
		done < "$RD_RUN/params/rd.luks.name"
	fi
	if [ -f "$RD_RUN/params/rd.luks.uuid" ]; then
		while IFS= read -r _u; do
			_u=${_u#luks-}
			crypt_want_uuid "$_u" "luks-$_u"
		done < "$RD_RUN/params/rd.luks.uuid"
	fi
	if read_param cryptdevice; then
		# mkinitcpio's DEV:NAME[:OPTIONS], split on colons as the encrypt hook does.
		_cd=$REPLY
		_cd_dev=${_cd%%:*}
		_cd_rest=${_cd#*:}
		_cd_opts=-
		case $_cd_rest in *:*) _cd_opts=${_cd_rest#*:}; _cd_rest=${_cd_rest%%:*} ;; esac
		case ,$_cd_opts, in *,allow-discards,*) _cd_opts=discard ;; *) _cd_opts=- ;; esac
		crypt_options ''
		crypt_merge "$REPLY" "$_cd_opts"
		_cd_opts=$REPLY
		crypt_key ''
		crypt_want "$_cd_dev" "$_cd_rest" "$REPLY" "$_cd_opts"
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
		# The command line adds to the entry (its options first, so they win): by the entry's UUID, else global.
		_t_u=
		case $_t_src in UUID=*) _t_u=${_t_src#UUID=} ;; esac
		[ "$_t_key" = none ] && crypt_key "$_t_u" && _t_key=$REPLY
		crypt_options "$_t_u"
		crypt_merge "$REPLY" "${_t_opts:--}"
		crypt_want "$_t_src" "$_t_name" "$_t_key" "$REPLY"
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
	RD_LATE_STEPS="$RD_LATE_STEPS crypt_late"
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

# crypt_auto: every device with the LUKS magic (storage_scan: one read for all devices, so a
# root without LUKS runs no cryptsetup at all), each once it is open.
CRYPT_AUTO_DONE=
crypt_auto() {
	storage_scan
	for _ca_dev in $ST_LUKS; do
		case " $CRYPT_AUTO_DONE " in *" $_ca_dev "*) continue ;; esac
		_ca_uuid=$(cryptsetup luksUUID "$_ca_dev" 2>/dev/null) || continue
		is_name "$_ca_uuid" || continue
		if ! [ -b "/dev/mapper/luks-$_ca_uuid" ]; then
			crypt_key "$_ca_uuid"
			_ca_key=$REPLY
			crypt_options "$_ca_uuid"
			crypt_open "$_ca_dev" "luks-$_ca_uuid" "$_ca_key" "$REPLY" || continue
		fi
		CRYPT_AUTO_DONE="$CRYPT_AUTO_DONE $_ca_dev"
	done
}

# crypt_flags OPTIONS: _co_flags for cryptsetup open (discard, readonly, header=), _co_hdr (the
# header alone, for luksDump) and _co_tries.
crypt_flags() {
	_co_flags="--type luks"
	_co_hdr=
	case ,$1, in *,discard,*) _co_flags="$_co_flags --allow-discards" ;; esac
	case ,$1, in *,readonly,* | *,read-only,*) _co_flags="$_co_flags --readonly" ;; esac
	case ,$1, in *,header=*)
		# A detached header: a file in the image (crypttab's header=, rd.luks.options=header=).
		_co_h=${1#*header=}
		_co_h=${_co_h%%,*}
		case $_co_h in /*[!A-Za-z0-9._/+-]* | [!/]*) warn "crypt: ignoring header=$_co_h: not a plain absolute path" ;;
		*) _co_hdr="--header $_co_h" && _co_flags="$_co_flags $_co_hdr" ;; esac ;;
	esac
	_co_tries=$RD_CRYPT_TRIES
	case ,$1, in *,tries=*)
		_co_t=${1#*tries=}
		_co_t=${_co_t%%,*}
		is_decimal "$_co_t" 2 && [ "$_co_t" -gt 0 ] && _co_tries=$_co_t ;;
	esac
}

# crypt_open DEV NAME KEY OPTIONS: a LUKS2 token (systemd-cryptsetup), a key file, or up to tries=
# (default 3) passphrases; then fatal. Fails (to be tried again) while a key's device is missing.
crypt_open() {
	st_load dm_crypt
	crypt_flags "$4"
	# A token (TPM2, FIDO2) or a prompt needs its device's driver: every device's first (the TPM, a
	# USB key's or keyboard's host controller), which a wait for a device loads one per try and may
	# otherwise leave to the root's udev.
	[ "$3" = none ] && load_device_drivers
	[ "$3" = none ] && crypt_token "$1" "$2" "$4" && return 0
	_co_key=$3
	if [ "$_co_key" != none ]; then
		crypt_keyfile "$_co_key" || return 1
		# shellcheck disable=SC2086 # flags are our own words
		cryptsetup open $_co_flags --key-file "$REPLY" "$1" "$2" </dev/null
		_co_rc=$?
		crypt_keyfile_done
		if [ "$_co_rc" = 0 ]; then
			crypt_opened "$1" "$2" keyfile
			# Nobody typed anything: with the build's `auto` rescue policy no console shell from here on.
			lock_consoles "$1 was unlocked with a key in the image"
			return 0
		fi
		# rd.luks.key= (`+KEY`) falls back to the passphrase, as systemd-cryptsetup does; crypttab's does not.
		case $_co_key in +*) warn "crypt: the key file ${_co_key#+} does not unlock $1 ($2); asking for the passphrase" ;;
		*) fatal "cannot unlock $1 ($2) with the key file $_co_key" ;; esac
	fi
	# A prompt needs the keyboard's driver: loaded above unless a key file was tried first.
	[ "$3" = none ] || load_device_drivers
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

crypt_opened() {
	echo "luks=$2 $1 $3" >> "$RD_RUN/state"
	msg "unlocked $1 as /dev/mapper/$2"
}
