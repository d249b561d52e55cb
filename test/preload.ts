// SPDX-License-Identifier: GPL-2.0-or-later
// Tests import the generated asset map; make sure it exists and is current.
import '../scripts/gen-assets.ts';
