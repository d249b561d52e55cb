# SPDX-License-Identifier: GPL-2.0-or-later
# fwdev=DEV[,DEV2]: the first of these devices to appear holds fw.sqsh, mounted read-only on
# /lib/firmware before the root is mounted, so drivers probed from here on find their firmware.

# 1 once a firmware image is mounted on /lib/firmware: 90-hand-over-modules.sh moves it.
KMOD_FIRMWARE=0
if read_param fwdev; then
	kmod_words "$REPLY"
	_fw_list=$REPLY
	read_param rootdelay "$RD_DEFAULT_WAIT"
	_fw_secs=$REPLY
	now_cs
	_fw_deadline=$((REPLY + _fw_secs * 100))
	_fw_dev=
	while [ -z "$_fw_dev" ]; do
		for _spec in $_fw_list; do find_device_once "$_spec" && _fw_dev=$REPLY && break; done
		[ -n "$_fw_dev" ] && break
		now_cs
		[ "$REPLY" -lt "$_fw_deadline" ] || fatal "fwdev: none of $_fw_list appeared"
		coldplug_devices || sleep 0.1
	done
	mount_device "$_fw_dev" /fwdev "" ro
	[ -f /fwdev/fw.sqsh ] || fatal "fwdev: no fw.sqsh on $_fw_dev"
	kmod_load loop
	kmod_load squashfs
	mkdir -p /lib/firmware
	mount -t squashfs -o ro,loop /fwdev/fw.sqsh /lib/firmware || fatal "fwdev: cannot mount $_fw_dev/fw.sqsh"
	echo "fwdev=$_fw_dev" >> "$RD_RUN/state"
	KMOD_FIRMWARE=1
	msg "firmware from $_fw_dev/fw.sqsh"
fi
