/**
 * Child process for the second-Ctrl-C test: installs the trainers' SIGINT/SIGTERM handlers, signals itself once
 * (a stop request: it keeps running), then again (it exits at once with 130). Prints what happened in between.
 */
import { StopRequests, yieldToEventLoop } from '../../src/train/signals.js';

const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
process.kill(process.pid, 'SIGINT');
while (!stops.requested) await yieldToEventLoop();
process.stdout.write(`requested ${stops.requested}\n`);
process.kill(process.pid, 'SIGINT');
await new Promise((r) => setTimeout(r, 5000));
process.stdout.write('still running after the second SIGINT\n');
