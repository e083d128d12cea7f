// Runs every test/**/*.test.ts with Node's test runner (tsx loader). Extra args are passed to node --test.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'fixtures' ? [] : walk(p);
    return n.endsWith('.test.ts') ? [p] : [];
  });
}
const files = walk('test').filter((f) => filter.length === 0 || filter.some((x) => f.includes(x))).sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
