// No Docker engine runs here: the compose file and Dockerfile are checked against the code's configuration.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../../src/config.js';

const root = new URL('../../', import.meta.url);
type Service = { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; ports?: string[]; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; profiles?: string[] };

test('docker-compose.yml: Redis with append-only file, the connector, an optional broker', async () => {
  const doc = parse(await readFile(new URL('docker-compose.yml', root), 'utf8')) as { services: Record<string, Service> };
  const { redis, connector, mosquitto } = doc.services;
  assert.ok(redis && connector && mosquitto);
  assert.ok(redis.command?.join(' ').includes('--appendonly yes'), 'Redis must keep an append-only file');
  assert.ok(redis.healthcheck, 'redis health check');
  assert.equal(connector.depends_on?.redis?.condition, 'service_healthy');
  assert.deepEqual(mosquitto.profiles, ['broker']);
  assert.ok(connector.healthcheck?.test.join(' ').includes('/readyz'), 'connector health check uses the readiness probe');

  // Every variable the compose file sets is a real setting, and its values (with defaults) pass validation.
  const env = connector.environment ?? {};
  const known = new Set(Object.keys(configSchema.shape));
  for (const k of Object.keys(env)) assert.ok(known.has(k), `compose sets unknown setting ${k}`);
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
  const cfg = loadConfig(resolved);

  // Published ports match what the service listens on.
  const ports = (connector.ports ?? []).map((p) => Number(p.split(':').at(-1)));
  assert.ok(ports.includes(cfg.WEBHOOK_PORT), 'webhook port published');
  assert.ok(ports.includes(cfg.ADMIN_PORT), 'admin port published');
  for (const c of cfg.CONNECTORS) assert.ok(ports.includes(c.port), `plugin API port ${c.port} published`);
  assert.equal(cfg.ADMIN_HOST, '0.0.0.0', 'admin must listen beyond loopback inside the container');
  assert.ok((connector.ports ?? []).some((p) => p.startsWith('127.0.0.1:') && p.endsWith(`:${cfg.ADMIN_PORT}`)), 'admin port published on the host loopback only');
});

test('Dockerfile: multi-stage, production dependencies only, non-root, health check, starts the service', async () => {
  const df = await readFile(new URL('Dockerfile', root), 'utf8');
  assert.ok((df.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
  assert.match(df, /npm ci --omit=dev/);
  assert.match(df, /^USER node$/m);
  assert.match(df, /^HEALTHCHECK /m);
  assert.match(df, /CMD \["node", "bin\/tp-connector\.mjs", "start"\]/);
  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> };
  assert.ok(pkg.dependencies.tsx, 'tsx runs the TypeScript sources in production, so it must be a production dependency');
  for (const dir of ['src', 'connectors', 'bin']) assert.match(df, new RegExp(`COPY ${dir} `), `${dir} copied into the image`);
});
