import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

test('embedded defaults are valid', () => {
  const c = loadConfig({});
  assert.equal(c.REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(c.TP_MQTT_USERNAME, 'plugin');
  assert.deepEqual(c.CONNECTORS, [{ connector: 'the-things-stack', serviceIdentifier: 'TTS', port: 8501, topicPrefix: 'plugin/TTS/' }]);
  assert.equal(c.TRUST_PROXY, false);
});

test('connectors, prefixes and proxy settings parse', () => {
  const c = loadConfig({ CONNECTORS: 'the-things-stack:TTS:8501, chirpstack:CS:8502:tp/cs', TRUST_PROXY: '2' });
  assert.equal(c.CONNECTORS[1]!.topicPrefix, 'tp/cs/');
  assert.equal(c.TRUST_PROXY, 2);
});

test('every problem is listed at once', () => {
  try {
    loadConfig({ REDIS_URL: 'http://x', WEBHOOK_PORT: '99999', CONNECTORS: 'nonsense', LOG_LEVEL: 'loud' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 4, err.message);
    assert.match(err.message, /REDIS_URL/);
    assert.match(err.message, /WEBHOOK_PORT/);
    assert.match(err.message, /CONNECTORS/);
    assert.match(err.message, /LOG_LEVEL/);
  }
});
