# SPDX-License-Identifier: GPL-2.0-or-later
# What unlocks a LUKS device, for crypt.sh: rd.luks.key= (systemd's forms: /KEYFILE, /KEYFILE:DEV
# for a key on another device, UUID=/KEYFILE[:DEV] for one device), a LUKS2 token handed to the
# base's systemd-cryptsetup (TPM2, FIDO2), or a passphrase asked on every active console.

RD_CRYPT_KEYDIR=$RD_RUN/keydev
RD_CONSOLES=/sys/class/tty/console/active
RD_SD_CRYPTSETUP=
for _sd in /usr/lib/systemd/systemd-cryptsetup /lib/systemd/systemd-cryptsetup; do
	[ -x "$_sd" ] && RD_SD_CRYPTSETUP=$_sd && break
done
# Set by crypt_late: a key's device that has not appeared by then never will; ask instead.
CRYPT_KEYDEV_LATE=0

# crypt_key UUID: REPLY is `+KEYSPEC` from rd.luks.key= for this LUKS UUID (empty: none given for
# it), else the global one, else none. The `+` marks a key that falls back to the passphrase.
crypt_key() {
	REPLY=none
	[ -f "$RD_RUN/params/rd.luks.key" ] || return 0
	while IFS= read -r _k; do
		case $_k in
		/*) [ "$REPLY" = none ] && REPLY=+$_k ;;
		*=/*) [ -n "$1" ] && [ "${_k%%=/*}" = "$1" ] && { REPLY=+${_k#*=}; return 0; } ;;
		*) warn "crypt: ignoring rd.luks.key=$_k: not [UUID=]/KEYFILE[:DEVICE]" ;;
		esac
	done < "$RD_RUN/params/rd.luks.key"
	return 0
}

# crypt_keyfile KEYSPEC: REPLY is the key file's path, its device mounted read-only when the spec
# names one (/KEYFILE:DEV). Fails while that device is missing (the next round tries again) until
# crypt_late gave up on it; then REPLY is a path that does not exist, and the passphrase is asked.
crypt_keyfile() {
	_kf=${1#+}
	case $_kf in *:*) ;; *) REPLY=$_kf; return 0 ;; esac
	if ! find_device_once "${_kf#*:}"; then
		[ "$CRYPT_KEYDEV_LATE" = 1 ] || return 1
		warn "crypt: the key device ${_kf#*:} did not appear"
		REPLY=/nonexistent
		return 0
	fi
	_kf_dev=$REPLY
	mkdir -p "$RD_CRYPT_KEYDIR"
	fs_type "$_kf_dev"
	[ -n "$REPLY" ] && modprobe -q "$REPLY" 2>/dev/null
	if [ -n "$REPLY" ]; then
		mount -t "$REPLY" -o ro "$_kf_dev" "$RD_CRYPT_KEYDIR"
	else
		mount -o ro "$_kf_dev" "$RD_CRYPT_KEYDIR"
	fi || warn "crypt: cannot mount the key device $_kf_dev"
	REPLY=$RD_CRYPT_KEYDIR${_kf%%:*}
}

# crypt_keyfile_done: the key's device is let go at once; nothing of it stays mounted.
crypt_keyfile_done() {
	grep -q " $RD_CRYPT_KEYDIR " /proc/mounts 2>/dev/null && umount "$RD_CRYPT_KEYDIR"
	return 0
}

# crypt_late: half the wait has passed; devices whose key device is still missing ask instead.
crypt_late() {
	CRYPT_KEYDEV_LATE=1
	crypt_step
}

# crypt_token DEV NAME OPTIONS: a device with a systemd-tpm2 or systemd-fido2 LUKS2 token is handed
# to the base's systemd-cryptsetup (it owns those token formats); headless, so a TPM or key that
# fails leaves the passphrase to us. Fails when there is no such token or tool, or it did not unlock.
crypt_token() {
	[ -n "$RD_SD_CRYPTSETUP" ] || return 1
	# shellcheck disable=SC2086 # flags are our own words
	_tk=$(cryptsetup luksDump $_co_hdr "$1" 2>/dev/null | grep -Eo 'systemd-(tpm2|fido2)$' | head -n 1)
	case $_tk in
	systemd-tpm2) _tk_o=tpm2-device=auto ;;
	systemd-fido2) _tk_o=fido2-device=auto ;;
	*) return 1 ;;
	esac
	crypt_merge "$_tk_o,headless=true" "$3"
	msg "unlocking $1 with its $_tk token ($RD_SD_CRYPTSETUP)"
	if "$RD_SD_CRYPTSETUP" attach "$2" "$1" none "$REPLY" </dev/null; then
		crypt_opened "$1" "$2" "${_tk#systemd-}"
		return 0
	fi
	warn "crypt: the $_tk token did not unlock $1 ($2); asking for the passphrase"
	return 1
}

# crypt_ask DEV NAME: CRYPT_PASS from the console, echo off. The wait for devices starts anew after.
# With several active consoles (console=tty0 console=ttyS0) it asks on each, and the first answer
# wins (as systemd's password agent does): the VT is where the keyboard and its keymap are, while
# /dev/console is only the last console= (often the serial line).
crypt_ask() {
	RD_PROMPTED=1
	_ask_ttys=
	[ -r "$RD_CONSOLES" ] && read -r _ask_ttys < "$RD_CONSOLES"
	# shellcheck disable=SC2086 # tty names, one word each
	case $_ask_ttys in *' '*) crypt_ask_all "$1" "$2" $_ask_ttys && return 0 ;; esac
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

# crypt_ask_all DEV NAME TTY...: one reader per console; the first line read goes through a FIFO
# (a pipe: nothing is stored) and the other readers are stopped. A VT drops keys while nobody has it
# open, so each reader holds its console open from before the first prompt shows until its answer;
# the prompts show only when every reader is ready.
crypt_ask_all() {
	_aa_dev=$1
	_aa_name=$2
	shift 2
	_aa_fifo=$RD_RUN/ask.fifo
	_aa_ready=$RD_RUN/ask.ready
	rm -f "$_aa_fifo" "$_aa_ready"
	mkfifo -m 600 "$_aa_fifo" && mkfifo -m 600 "$_aa_ready" || return 1
	_aa_pids=
	_aa_ttys=
	for _aa_t in "$@"; do
		_aa_t=/dev/$_aa_t
		[ -c "$_aa_t" ] || continue
		(
			_aa_sent=
			{
				stty -echo <&3 2>/dev/null
				echo >"$_aa_ready"
				_aa_sent=1
				IFS= read -r _aa_p <&3 && printf '%s\n' "$_aa_p" >"$_aa_fifo"
			} 3<>"$_aa_t"
			# A console that cannot be opened still reports, so the prompts are not held back.
			[ -n "$_aa_sent" ] || echo >"$_aa_ready"
		) &
		_aa_pids="$_aa_pids $!"
		_aa_ttys="$_aa_ttys $_aa_t"
	done
	[ -n "$_aa_pids" ] || { rm -f "$_aa_fifo" "$_aa_ready"; return 1; }
	crypt_await_readers "$_aa_ttys"
	for _aa_t in $_aa_ttys; do
		printf 'ruckusrd: Enter passphrase for %s (%s): ' "$_aa_dev" "$_aa_name" >>"$_aa_t"
	done
	IFS= read -r CRYPT_PASS <"$_aa_fifo"
	_aa_rc=$?
	# shellcheck disable=SC2086 # process ids
	kill $_aa_pids 2>/dev/null
	# Reaped here: no reader is left holding a console when cryptsetup runs.
	# shellcheck disable=SC2086 # process ids
	wait $_aa_pids 2>/dev/null
	rm -f "$_aa_fifo" "$_aa_ready"
	for _aa_t in $_aa_ttys; do
		stty echo <"$_aa_t" 2>/dev/null
		echo >>"$_aa_t"
	done
	return "$_aa_rc"
}

# crypt_await_readers TTYS: one line on the ready FIFO per reader. Each open of the FIFO is read to
# its end (all writers gone), so no line is lost between opens.
crypt_await_readers() {
	_ar_want=0
	for _ar_t in $1; do _ar_want=$((_ar_want + 1)); done
	_ar_got=0
	while [ "$_ar_got" -lt "$_ar_want" ]; do
		while IFS= read -r _ar_line; do _ar_got=$((_ar_got + 1)); done <"$_aa_ready"
	done
}
