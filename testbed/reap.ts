/**
 * Ends the children of testbed runs whose supervisor died without stopping
 * them (used by `testbed/testbed.sh down`; startTestbed() does the same).
 */
import os from 'node:os';
import { join } from 'node:path';
import { reapStaleRuns } from './lib/proc';

const reaped = reapStaleRuns(join(os.tmpdir(), 'kserve-edge-testbed'));
for (const r of reaped) console.log(`reaped ${r}`);
