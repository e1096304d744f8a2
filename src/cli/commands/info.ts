/** `r1ts info`: version, runtime, CPU and the active compute backend. */
import os from 'node:os';
import type { Command } from 'commander';
import { VERSION } from '../../version.js';
import { getBackend, listBackends } from '../../backend/registry.js';
import { KERNEL_NAMES } from '../../backend/kernels.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show version, runtime, CPU and compute backends')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const cpus = os.cpus();
      const info = {
        version: VERSION,
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpu: cpus[0]?.model ?? 'unknown',
        cores: cpus.length,
        backend: getBackend(),
        backends: listBackends().map((b) => ({ name: b.name, kernels: b.kernels.length, of: KERNEL_NAMES.length })),
      };
      if (opts.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      console.log(`r1ts ${info.version} on node ${info.node} (${info.platform})`);
      console.log(`cpu: ${info.cpu}, ${info.cores} cores`);
      console.log(`backend: ${info.backend}`);
      for (const b of info.backends) console.log(`  ${b.name}: ${b.kernels}/${b.of} kernels`);
    });
}
