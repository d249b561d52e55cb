# SPDX-License-Identifier: GPL-2.0-or-later
# Loads kernel modules: modules-early= first, then the build's list, then a driver for every
# device the kernel has found (coldplug by modalias, as udev would).

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
