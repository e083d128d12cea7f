// Scenario 7 — token expiry across replicas (Tuya). Two replicas poll and run commands concurrently for one access
// point. A token the cloud rejects (expired early, 1010) is replaced once — one new token for all replicas — and each
// rejected call is repeated once; a token that reaches its refresh time is refreshed once (single flight across
// replicas through the lock in the shared store). No call fails, none is executed twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTuyaSim, type TuyaSim } from '../../connectors/tuya/simulator.js';
import { type Harness, REDIS_URL, startHarness, until } from '../helpers/harness.js';
import { dumpRedis, findSecrets, jobsOf, queueOf } from '../helpers/fault.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f().catch(() => undefined); });

async function setup(sim: TuyaSim, env: Record<string, string>): Promise<{ h: Harness; apId: string; rows: { id: string }[] }> {
  const h = await startHarness({ connector: 'tuya', replicas: 2, env: { COMMAND_CONCURRENCY: '2', LOG_LEVEL: 'info', ...env } });
  cleanups.push(() => h.close());
  const voucher = { endpoint: sim.url, access_id: sim.accessId, access_secret: sim.accessSecret, poll_interval_s: '5', only_changed: 'no' };
  const apId = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'tuya', voucher });
  const list = (await h.tp.fetchDeviceList(h.si, { ...voucher, auth_type: 'manual' }, 1, 10)) as { code: number; data: { list: { device_number: string; device_name: string }[] } };
  assert.equal(list.code, 200);
  const rows = (await h.tp.bindDevices(apId, list.data.list.map((d) => ({ device_number: d.device_number, device_name: d.device_name })))).map((r) => ({ id: r.id as string }));
  for (const s of h.services) await until(() => s.rt.registry.get(apId)?.devices.size === rows.length, 10_000, 'synced');
  return { h, apId, rows };
}

/** K commands at once, alternating devices; resolves with their responses. */
async function burst(h: Harness, rows: { id: string }[], k: number) {
  const mids = await Promise.all(Array.from({ length: k }, (_, i) => h.tp.sendCommand(rows[i % rows.length]!.id, { method: 'switch_led', params: i % 2 === 0 })));
  const res = await Promise.all(mids.map((m) => h.tp.waitForResponse(m, 20_000)));
  return { mids, res };
}

async function commandSpread(h: Harness, mids: string[]): Promise<Record<string, number>> {
  const q = queueOf(REDIS_URL, h.redisPrefix, 'command');
  try {
    const out: Record<string, number> = {};
    for (const j of await jobsOf(q, ['completed'])) if (mids.includes(j.data.messageId)) out[j.processedBy ?? '?'] = (out[j.processedBy ?? '?'] ?? 0) + 1;
    return out;
  } finally {
    await q.close();
  }
}

const tokenFetches = (sim: TuyaSim) => sim.stats.tokenGrants + sim.stats.tokenRefreshes;

test('Tuya rejects the token (expired early) while two replicas poll and command: one new token, each rejected call repeated once, every command runs once', async (t) => {
  const sim = await startTuyaSim();
  cleanups.push(() => sim.close());
  const { h, apId, rows } = await setup(sim, {});
  // The first poll obtained the access point's token.
  await h.tp.waitFor((s) => s.telemetry.find((x) => x.deviceId === rows[0]!.id && 'switch_led' in x.values), 20_000);
  const before = { ...sim.stats, fetches: tokenFetches(sim), commands: sim.commands.length };

  sim.setFault('expire-token-now');
  const K = 8;
  const { mids, res } = await burst(h, rows, K);
  // And the next scheduled poll works with the new token.
  const lastPoll = await h.services[0]!.rt.redis.get(h.services[0]!.rt.k(`lastpoll:${apId}`));
  await until(async () => (await h.services[0]!.rt.redis.get(h.services[0]!.rt.k(`lastpoll:${apId}`))) !== lastPoll, 15_000, 'next poll');
  const spread = await commandSpread(h, mids);
  const d = { grants: sim.stats.tokenGrants - before.tokenGrants, refreshes: sim.stats.tokenRefreshes - before.tokenRefreshes, rejections: sim.stats.tokenRejections - before.tokenRejections, business_calls: sim.stats.calls - before.calls, executed: sim.commands.length - before.commands };
  t.diagnostic(JSON.stringify({ commands: K, ...d, command_jobs_by_replica: spread }));
  assert.deepEqual(res.map((r) => r.result), mids.map(() => 0), `all commands succeeded: ${JSON.stringify(res.map((r) => r.message))}`);
  assert.equal(d.grants + d.refreshes, 1, 'exactly one new token for both replicas');
  assert.ok(d.rejections >= 1, 'the old token was used and rejected');
  assert.ok(d.rejections <= K + 2, 'each call rejected at most once (a second rejection would have failed the command)');
  assert.equal(d.executed, K, 'every command executed once');
  assert.ok(d.business_calls - d.rejections >= K);
  assert.equal(Object.keys(spread).length, 2, `commands ran on both replicas: ${JSON.stringify(spread)}`);
  assert.equal((await h.services[0]!.rt.state.get(apId)).state, 'ok');
  for (const m of mids) assert.equal(h.tp.commandResponses.filter((x) => x.messageId === m).length, 1);
  // The access secret and the tokens never reach Redis in clear or the logs (the token cache is encrypted).
  assert.deepEqual(findSecrets([sim.accessSecret], (await dumpRedis(REDIS_URL, h.redisPrefix)).map((x) => x.text), 'redis'), []);
  assert.deepEqual(findSecrets([sim.accessSecret], h.logs, 'logs'), []);
});

test('Tuya token reaches its refresh time while two replicas command concurrently: refreshed once with the one-shot refresh token, no rejection', async (t) => {
  const EXPIRE_S = 8;
  const sim = await startTuyaSim({ tokenExpireS: EXPIRE_S });
  cleanups.push(() => sim.close());
  // Polls off (interval far above the test), so only the commands below use the token.
  const { h, rows } = await setup(sim, { DISABLE_POLL_MIN_MS: '3600000' });
  await burst(h, rows, 2);
  const grantedAt = Date.now();
  // Refresh margin for an 8 s token is half its life: stale after 4 s, still valid at Tuya until 8 s.
  await new Promise((r) => setTimeout(r, (EXPIRE_S * 1000) / 2 + 700 - (Date.now() - grantedAt)));
  const before = { ...sim.stats, commands: sim.commands.length };
  const K = 8;
  const { mids, res } = await burst(h, rows, K);
  const spread = await commandSpread(h, mids);
  const d = { grants: sim.stats.tokenGrants - before.tokenGrants, refreshes: sim.stats.tokenRefreshes - before.tokenRefreshes, rejections: sim.stats.tokenRejections - before.tokenRejections, executed: sim.commands.length - before.commands };
  t.diagnostic(JSON.stringify({ commands: K, token_lifetime_s: EXPIRE_S, ...d, command_jobs_by_replica: spread }));
  assert.deepEqual(res.map((r) => r.result), mids.map(() => 0), JSON.stringify(res.map((r) => r.message)));
  assert.equal(d.refreshes, 1, 'one refresh for all concurrent callers on both replicas');
  assert.equal(d.grants, 0, 'the refresh token worked: no new grant');
  assert.equal(d.rejections, 0, 'refreshed before Tuya expired it');
  assert.equal(d.executed, K);
  assert.equal(Object.keys(spread).length, 2, `commands ran on both replicas: ${JSON.stringify(spread)}`);
});
