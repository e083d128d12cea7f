// Shared setup for the Tuya tests: fixture-built simulator devices and contexts bound to a simulator.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ApStore, Ctx } from '../../../src/core/connector.js';
import type { JsonObject, JsonValue } from '../../../src/core/messages.js';
import { tuya } from '../../../connectors/tuya/index.js';
import type { TuyaCred } from '../../../connectors/tuya/schema.js';
import type { SimDevice, TuyaSim } from '../../../connectors/tuya/simulator.js';
import { fixture, testCtx } from '../../helpers/ctx.js';

export const FIX = 'tuya';

/** The device of the device-list fixture and the device of the detail fixture, both with the status fixture's data points. */
export async function fixtureDevices(): Promise<SimDevice[]> {
  const list = (await fixture(`${FIX}/openapi-iot03-device-list.response.json`)) as { result: { devices: JsonObject[] } };
  const detail = (await fixture(`${FIX}/openapi-iot03-device-detail.response.json`)) as { result: JsonObject };
  const status = (await fixture(`${FIX}/openapi-iot03-device-status.response.json`)) as { result: Array<{ code: string; value: JsonValue }> };
  return [...list.result.devices, detail.result].map((d) => ({ detail: d as JsonObject & { id: string }, status: structuredClone(status.result) }));
}

export function credFor(sim: TuyaSim, extra: Record<string, unknown> = {}): TuyaCred {
  return tuya.voucherSchema.parse({ endpoint: sim.url, access_id: sim.accessId, access_secret: sim.accessSecret, auth_type: '1', ...extra });
}

export interface TestCtxOpts {
  now?: () => number;
  store?: ApStore;
  cred?: TuyaCred;
  extra?: Record<string, unknown>;
}

/** A ctx toward the simulator; `logs` collects every log line (to check that no secret is ever logged). */
export function simCtx(sim: TuyaSim, o: TestCtxOpts = {}): Ctx<TuyaCred> & { logs: string[] } {
  const logs: string[] = [];
  const base = testCtx(tuya, o.cred ?? credFor(sim, o.extra), o.now ? { now: o.now } : {});
  const stream = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  return { ...base, ...(o.store ? { store: o.store } : {}), log: pino({ level: 'debug' }, stream), logs };
}

/** A shared manual clock for client and simulator. */
export function manualClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}
