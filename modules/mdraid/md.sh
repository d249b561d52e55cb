# SPDX-License-Identifier: GPL-2.0-or-later
# MD RAID at boot, without udev: md_step, one step of the device handler (templates/lib/device.sh),
# runs `mdadm --assemble --scan` (the base's mdadm.conf when the image has it, else every member
# found; rd.md.uuid= limits it to those arrays). mdadm makes the /dev/md* nodes itself when no
# udev runs. An array that is assembled but not running once half the device wait has passed is
# started with the members it has (initramfs-tools and dracut do the same after their wait); a
# degraded array gets a console line and an md_degraded= state line. mdadm runs only when a
# device with an md superblock (storage_scan, which then reads the devices' ends too) is new
# since its last run: never on a root without RAID.

# The members (device nodes) of the last mdadm run.
MD_SEEN=

md_plan() {
	is_off rd.md && return 0
	# shellcheck disable=SC2034 # read by storage_scan (storage.sh)
	ST_TAIL=1
	RD_DEVICE_STEPS="$RD_DEVICE_STEPS md_step"
	RD_LATE_STEPS="$RD_LATE_STEPS md_run_degraded"
}

md_step() {
	storage_scan
	[ -n "$ST_MD" ] && [ "$ST_MD" != "$MD_SEEN" ] || return 0
	[ -n "$MD_SEEN" ] || { mkdir -p /run/mdadm; st_load md_mod raid1; }
	MD_SEEN=$ST_MD
	if [ -f "$RD_RUN/params/rd.md.uuid" ]; then
		while IFS= read -r _u; do mdadm --assemble --scan --uuid="$_u" >/dev/null 2>&1; done < "$RD_RUN/params/rd.md.uuid"
	else
		mdadm --assemble --scan >/dev/null 2>&1
	fi
	md_record
}

# md_record: one state line per running array: md=/dev/mdN LEVEL.
md_record() {
	for _md in /sys/block/md*; do
		[ -e "$_md/md/array_state" ] || continue
		read -r _st < "$_md/md/array_state" || continue
		case $_st in clear | inactive) continue ;; esac
		read -r _lvl < "$_md/md/level" || _lvl=unknown
		state_once "md=/dev/${_md##*/} $_lvl"
		read -r _deg < "$_md/md/degraded" 2>/dev/null || _deg=0
		if [ "$_deg" != 0 ] && ! grep -q "^md_degraded=/dev/${_md##*/} " "$RD_RUN/state"; then
			msg "/dev/${_md##*/} runs degraded: $_deg member(s) missing"
			echo "md_degraded=/dev/${_md##*/} $_deg" >> "$RD_RUN/state"
		fi
	done
}

# md_run_degraded: starts every assembled but inactive array with the members it has.
md_run_degraded() {
	for _md in /sys/block/md*; do
		[ -e "$_md/md/array_state" ] || continue
		read -r _st < "$_md/md/array_state" || continue
		[ "$_st" = inactive ] || continue
		mdadm --run "/dev/${_md##*/}" >/dev/null 2>&1 && msg "started /dev/${_md##*/} with the members found"
	done
	md_record
}
