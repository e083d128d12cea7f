import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VoucherError, parseDeviceListQuery } from '../../src/platform/voucher.js';

test('raw, unencoded voucher exactly as the Go backend sends it', () => {
  const r = parseDeviceListQuery('/api/v1/plugin/device/list?voucher={"AppKey":"k","AppSecret":"s","auth_type":"manual"}&page_size=10&page=2');
  assert.deepEqual(r, { voucher: { AppKey: 'k', AppSecret: 's', auth_type: 'manual' }, pageSize: 10, page: 2 });
});

test('credentials containing &, = and + survive', () => {
  const r = parseDeviceListQuery('/x?voucher={"k":"a&b=c+d","page_size":"x"}&page_size=5&page=1');
  assert.deepEqual(r.voucher, { k: 'a&b=c+d', page_size: 'x' });
  assert.equal(r.pageSize, 5);
});

test('percent-encoded voucher from a client that does encode', () => {
  const v = encodeURIComponent(JSON.stringify({ api_key: 'NNSXS.AB+CD', x: 'a b' }));
  const r = parseDeviceListQuery(`/x?voucher=${v}&page_size=20&page=3`);
  assert.deepEqual(r.voucher, { api_key: 'NNSXS.AB+CD', x: 'a b' });
  assert.deepEqual([r.pageSize, r.page], [20, 3]);
});

test('missing page_size/page default; a voucher cut by # is a clear error', () => {
  const r = parseDeviceListQuery('/x?voucher={"k":"ab"}');
  assert.deepEqual([r.page, r.pageSize], [1, 10]);
  // Go sends {"k":"a#b"} raw; the '#' ends the request target, leaving {"k":"a
  assert.throws(() => parseDeviceListQuery('/x?voucher={"k":"a'), VoucherError);
});

test('page bounds are clamped and garbage rejected', () => {
  assert.equal(parseDeviceListQuery('/x?voucher={}&page_size=5000&page=0').pageSize, 1000);
  assert.equal(parseDeviceListQuery('/x?voucher={}&page_size=5000&page=0').page, 1);
  assert.throws(() => parseDeviceListQuery('/x?page=1'), VoucherError);
  assert.throws(() => parseDeviceListQuery('/x?voucher=[1,2]&page_size=1&page=1'), VoucherError);
  assert.throws(() => parseDeviceListQuery('/x?voucher=%E0%A4%A&page_size=1&page=1'), VoucherError);
});
