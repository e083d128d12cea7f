// The README's first command: the demo shows telemetry and a command round trip, and Ctrl-C stops it cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

for (const connector of ['the-things-stack', 'tuya']) {
  test(`npm run demo -- ${connector}: data flows end to end, then SIGINT exits 0`, async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'demo', connector], { env: { ...process.env, WEBHOOK_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const plain = () => out.replace(/\x1b\[[0-9;]*m/g, '');
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline && !/platform ← command response \{"result":0/.test(plain())) await new Promise((r) => setTimeout(r, 200));
    const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    p.kill('SIGINT');
    assert.equal(await code, 0, plain());
    const text = plain();
    assert.match(text, /device discovery through \/api\/v1\/plugin\/device\/list/);
    assert.match(text, /platform ← telemetry /);
    assert.match(text, /platform ← command response \{"result":0/);
    assert.doesNotMatch(text, /platform rejected|demo failed/);
  });
}
