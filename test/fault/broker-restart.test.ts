// Limit L4 of docs/reliability.md, and its mitigation. A broker that restarts without persistence holds no
// subscription for the ThingsPanel backend (clean session) until the backend reconnects; a QoS 1 publish made before
// that is acknowledged and dropped. Here the platform reconnects about a second after the service: with the
// reconnect hold (TP_MQTT_RECONNECT_HOLD_MS, default 3 s) the backlog waits for it and nothing is lost.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ownBroker, uid, until } from '../helpers/harness.js';
import { tally, tcpProxy } from '../helpers/fault.js';
import { seqsOf, settle, stream, ttsSetup } from '../helpers/tts-load.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const f of cleanups.reverse()) await f().catch(() => undefined); });

test('broker restart, platform back a second after the service: the backlog is held until then, nothing lost or doubled', async (t) => {
  const broker = await ownBroker();
  cleanups.push(() => broker.stop());
  // ThingsPanel's observer reaches the broker through a proxy the test can cut; the service connects directly.
  const platformLink = await tcpProxy(broker.port);
  cleanups.push(() => platformLink.close());
  const s = await ttsSetup({ mqttUrl: platformLink.url('mqtt'), env: { TP_MQTT_URL: broker.url } });
  cleanups.push(() => s.close());
  const svc = s.h.services[0]!;
  const target = () => [{ name: 'in-process', webhookUrl: svc.webhookUrl, alive: true }];
  const run = `m${uid(3)}`;
  const before = await stream(s, target, run, 10, 100);
  await settle(s, run, before.acked);

  await broker.stop();
  platformLink.cut();
  const outage = await stream(s, target, `${run}o`, 40, 100);
  assert.equal(outage.acked.size, 40);
  const reconnects = () => s.h.logs.filter((l) => l.includes('"msg":"mqtt reconnected"')).length;
  const r0 = reconnects();
  await broker.start();
  await until(() => reconnects() > r0, 10_000, 'service reconnected');
  const serviceBackAt = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  platformLink.restore();
  const arrivedAt = await settle(s, `${run}o`, outage.acked, { timeoutMs: 30_000 });
  const r = tally(outage.acked, seqsOf(s.h, `${run}o`));
  t.diagnostic(JSON.stringify({ records_during_outage: 40, platform_back_ms_after_service: 1000, reconnect_hold_ms: 3000, all_arrived_ms_after_service_reconnect: arrivedAt - serviceBackAt, missing: r.missing.length, duplicates: r.duplicates.length }));
  assert.deepEqual(r.missing, [], 'nothing published into a broker the platform had not resubscribed to');
  assert.deepEqual(r.duplicates, []);
  assert.deepEqual(s.h.tp.errors, []);
});
