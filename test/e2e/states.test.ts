// Per-access-point credential state: a vendor 429 pauses only that tenant for the window; a 401 marks it
// needs_reauth and stops its polls (no retry storm) until ThingsPanel notifies new credentials.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Harness, startHarness, until } from '../helpers/harness.js';
import { type FakeVendor, pollingConnector, startFakeVendor } from '../helpers/poll-connector.js';

let h: Harness;
let vendor: FakeVendor;
const calls = (t: string) => vendor.calls.get(t) ?? 0;

before(async () => {
  vendor = await startFakeVendor();
  h = await startHarness({ connector: 'poll-test', connectors: { 'poll-test': pollingConnector(vendor.url, 300) } });
});
after(async () => {
  await h?.close();
  await vendor?.close();
});

const state = (apId: string) => h.services[0]!.rt.state.get(apId);

test('429 with Retry-After: that tenant makes no calls during the window, the other keeps its schedule', async () => {
  const a = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'A', voucher: { tenant: 'ra' } });
  h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'B', voucher: { tenant: 'rb' } });
  await until(() => calls('ra') >= 2 && calls('rb') >= 2, 10_000, 'both polling');
  vendor.answer = (t) => (t === 'ra' ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
  await until(async () => (await state(a)).state === 'rate_limited', 5000, 'A rate limited');
  const aAt = calls('ra');
  const bAt = calls('rb');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(calls('ra'), aAt, 'no calls for A inside the Retry-After window');
  assert.ok(calls('rb') >= bAt + 3, `B kept polling every 300 ms (${calls('rb') - bAt} polls in 1.5 s)`);
  vendor.answer = () => ({ status: 200 });
  await until(async () => calls('ra') > aAt && (await state(a)).state === 'ok', 6000, 'A resumes after the window');
});

test('401: needs re-auth, polling paused without a retry storm, visible, resumed by new credentials', async () => {
  vendor.answer = (t) => (t === 'na' ? { status: 401 } : { status: 200 });
  const a = h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'N', voucher: { tenant: 'na' } });
  await h.tp.bindDevices(a, [{ device_number: 'pt-x1', device_name: 'x1' }]);
  await until(async () => (await state(a)).state === 'needs_reauth', 10_000, 'needs_reauth');
  const at = calls('na');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(calls('na'), at, 'no vendor calls while credentials are known bad');
  const status = (await h.services[0]!.adminApp.inject({ url: '/api/status' })).json() as { access_points: { id: string; state: string; reason: string }[] };
  const row = status.access_points.find((x) => x.id === a)!;
  assert.equal(row.state, 'needs_reauth');
  assert.match(row.reason, /HTTP 401/);
  // The tenant fixes the credentials in ThingsPanel: the platform notifies, the service re-syncs and resumes.
  await h.tp.updateAccessPointVoucher(a, { tenant: 'na-fixed' });
  await until(async () => calls('na-fixed') >= 2 && (await state(a)).state === 'ok', 10_000, 'resumed with new credentials');
  assert.deepEqual(h.tp.errors, []);
});

test('a poll slower than its interval never overlaps itself, across two replicas', async () => {
  await h.startReplica();
  vendor.answer = (t) => (t === 'slow' ? { status: 200, delayMs: 900 } : { status: 200 });
  h.tp.createAccessPoint({ serviceIdentifier: h.si, name: 'S', voucher: { tenant: 'slow' } });
  await until(() => calls('slow') >= 3, 15_000, 'three slow polls');
  assert.equal(vendor.maxInFlight.get('slow'), 1, 'one poll of an access point at a time');
});
