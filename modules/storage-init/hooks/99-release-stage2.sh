# SPDX-License-Identifier: GPL-2.0-or-later
# Nothing of the initramfs stays mounted in the running system.

release_stage2
