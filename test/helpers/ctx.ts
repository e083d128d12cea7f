// Builds a connector Ctx for connector-level tests: real HTTP toward a loopback simulator, in-memory store.
import { pino } from 'pino';
import type { Connector, Ctx } from '../../src/core/connector.js';
import { createVendorHttp } from '../../src/core/vendor-http.js';
import { memoryApStore } from '../../src/pipeline/ap-store.js';

export function testCtx<C>(connector: Connector<C>, cred: C, opts: { accessPointId?: string; now?: () => number } = {}): Ctx<C> {
  const apId = opts.accessPointId ?? 'ap-test';
  return {
    accessPoint: { id: apId, name: 'test access point' },
    cred,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    now: opts.now ?? Date.now,
    http: createVendorHttp({ connector: connector.id, accessPointId: apId, limits: connector.limits }),
    store: memoryApStore(),
  };
}

export async function fixture(path: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(new URL(`../fixtures/${path}`, import.meta.url), 'utf8'));
}

export async function fixtureText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
}
