import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalisePrefix, parseDownlinkTopic, uplinkTopics } from '../../src/platform/topics.js';

const P = 'plugin/TTS/';

test('uplink topics are unprefixed, as the backend subscribes', () => {
  assert.equal(uplinkTopics.telemetry(), 'devices/telemetry');
  assert.equal(uplinkTopics.attributes('m1'), 'devices/attributes/m1');
  assert.equal(uplinkTopics.event('m2'), 'devices/event/m2');
  assert.equal(uplinkTopics.status('d-1'), 'devices/status/d-1');
  assert.equal(uplinkTopics.commandResponse('abc'), 'devices/command/response/abc');
  assert.equal(uplinkTopics.attributeSetResponse('abc'), 'devices/attributes/set/response/abc');
});

test('downlink topics parse with device number or id', () => {
  assert.deepEqual(parseDownlinkTopic(`${P}devices/command/tts-app1-dev1/1a2b3c4d`, P), { kind: 'command', device: 'tts-app1-dev1', messageId: '1a2b3c4d' });
  assert.deepEqual(parseDownlinkTopic(`${P}devices/attributes/set/6b1c3c2e-0000-4000-8000-000000000001/9f`, P), { kind: 'attributes_set', device: '6b1c3c2e-0000-4000-8000-000000000001', messageId: '9f' });
  assert.deepEqual(parseDownlinkTopic(`${P}devices/attributes/get/n1`, P), { kind: 'attributes_get', device: 'n1' });
  assert.deepEqual(parseDownlinkTopic(`${P}devices/telemetry/control/n1`, P), { kind: 'telemetry_control', device: 'n1' });
});

test('foreign, response and malformed topics are ignored', () => {
  for (const t of [
    'devices/telemetry', `plugin/OTHER/devices/command/x/1`, `${P}devices/command/response/1`, `${P}devices/command/x`,
    `${P}devices/command//1`, `${P}devices/attributes/set/response/1`, `${P}gateway/command/x/1`, `${P}devices/command/x/1/extra`,
  ]) assert.equal(parseDownlinkTopic(t, P), null, t);
});

test('prefix normalisation adds exactly one slash', () => {
  assert.equal(normalisePrefix('plugin/x'), 'plugin/x/');
  assert.equal(normalisePrefix('plugin/x/'), 'plugin/x/');
});
