#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /sbin/init of the test guests: proves the root's init ran (a per-run token that is on the disk,
# not on the kernel command line), reports what /init assembled, runs the test's action, powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
echo "=== token"
cat /token
echo "=== pid"
echo "$$"
echo "=== mounts"
cat /proc/mounts
echo "=== state"
cat /run/ruckusrd/state 2>/dev/null
echo "=== timings"
cat /run/ruckusrd/timings 2>/dev/null
echo "=== uptime"
cat /proc/uptime
echo "=== meminfo"
grep -e MemTotal -e MemAvailable /proc/meminfo
for word in $(cat /proc/cmdline); do
	case $word in test.action=*) action=${word#test.action=} ;; esac
done
echo "=== action"
[ -x "/actions/${action:-none}" ] && "/actions/${action:-none}"
echo "=== end"
sync
poweroff -f
