# SPDX-License-Identifier: GPL-2.0-or-later
# Loads kernel modules: modules-early= first, then the build's list, then a driver for every
# device the kernel has found (coldplug by modalias, as udev would).

# load_device_drivers: called again while waiting for a device, for devices that appeared late.
load_device_drivers() {
	_aliases=$(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u)
	set -f
	# shellcheck disable=SC2086 # one word per alias; globbing is off for the aliases' own * and ?
	modprobe -q -a $_aliases 2>/dev/null
	set +f
	return 0
}

if read_param blacklist; then
	mkdir -p /etc/modprobe.d
	_bl=$REPLY
	while [ -n "$_bl" ]; do
		echo "blacklist ${_bl%%,*}" >> /etc/modprobe.d/ruckusrd-blacklist.conf
		case $_bl in *,*) _bl=${_bl#*,} ;; *) _bl= ;; esac
	done
fi

if read_param modules-early; then
	_early=$REPLY
	while [ -n "$_early" ]; do
		modprobe "${_early%%,*}" || warn "modules-early: cannot load ${_early%%,*}"
		case $_early in *,*) _early=${_early#*,} ;; *) _early= ;; esac
	done
fi

while read -r _mod; do
	modprobe -q "$_mod" || warn "cannot load kernel module $_mod"
done < /etc/ruckusrd/modules-load

load_device_drivers
