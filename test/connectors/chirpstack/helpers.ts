// Shared bits of the ChirpStack connector tests: credentials, webhook requests, the vendor fixture list.
import { readdirSync } from 'node:fs';
import type { WebhookRequest } from '../../../src/core/connector.js';
import { voucherSchema, type ChirpstackCred } from '../../../connectors/chirpstack/schema.js';

/** Application id of the vendor fixtures (chirpstack-docs events.md). */
export const FIXTURE_APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
export const FIXTURE_DEV = '0101010101010101';
export const SECRET = 'a-long-enough-webhook-secret';

export function cred(over: Record<string, unknown> = {}): ChirpstackCred {
  return voucherSchema.parse({
    api_url: 'http://127.0.0.1:8090',
    api_token: 'tok',
    application_id: FIXTURE_APP,
    webhook_secret: SECRET,
    auth_type: 'manual',
    ...over,
  });
}

export function req(event: string | undefined, body: string | Buffer | object, headers: Record<string, string> = {}): WebhookRequest {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    rawBody: raw,
    headers: { 'content-type': 'application/json', ...headers },
    query: event === undefined ? {} : { event },
    subPath: '',
  };
}

/** Every ChirpStack fixture as [event name, file path for fixture()/fixtureText()]. */
export function fixtureEvents(): Array<[string, string]> {
  return readdirSync(new URL('../../fixtures/chirpstack/', import.meta.url))
    .filter((f) => /^event-[a-z]+\.json$/.test(f))
    .sort()
    .map((f) => [f.slice('event-'.length, -'.json'.length), `chirpstack/${f}`]);
}

export const clone = <T>(v: T): T => structuredClone(v);
