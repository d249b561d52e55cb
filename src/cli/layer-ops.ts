// SPDX-License-Identifier: GPL-2.0-or-later
// sqsh-init, sqsh-commit, sqsh-merge, layers/status: thin commands over src/host/layer-ops.ts.
import type { CommandModule } from 'yargs';

export const layerOpCommands: CommandModule[] = [];
