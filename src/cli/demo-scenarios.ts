// Per-connector demo scenarios: a simulated vendor cloud, the voucher a tenant would enter, how data is driven
// (webhooks sent by the simulator, or polls of it), and one command whose vendor-side effect is shown.
import { simVoucher, startHttpJsonSim } from '../../connectors/http-json/simulator.js';
import { startChirpstackSim } from '../../connectors/chirpstack/simulator.js';
import { startTtsSim } from '../../connectors/the-things-stack/simulator.js';
import { startTuyaSim } from '../../connectors/tuya/simulator.js';

export interface DemoRun {
  voucher: Record<string, unknown>;
  /** Starts driving data toward the webhook URL (webhook connectors); returns a stop function. */
  drive(webhookUrl: string): () => void;
  command: { method: string; params: unknown };
  /** What the vendor received for the command with this platform message id, for display. */
  vendorSaw(messageId: string): unknown;
  close(): Promise<void>;
}

export type Scenario = () => Promise<DemoRun>;

const secret = () => `demo-${Math.random().toString(36).slice(2, 12)}-${Math.random().toString(36).slice(2, 12)}`;
const every = (ms: number, f: () => Promise<unknown>) => {
  const t = setInterval(() => void f().catch(() => undefined), ms);
  return () => clearInterval(t);
};
const wave = (n: number) => Math.round((2 + Math.sin(n / 3) * 2 + Math.random()) * 10) / 10;

export const scenarios: Record<string, Scenario> = {
  'the-things-stack': async () => {
    const tts = await startTtsSim({ applicationId: 'demo-app', devices: [
      { device_id: 'cold-room-1', name: 'Cold room 1', dev_eui: '70B3D57ED0000001' },
      { device_id: 'cold-room-2', name: 'Cold room 2', dev_eui: '70B3D57ED0000002' },
      { device_id: 'loading-dock', name: 'Loading dock', dev_eui: '70B3D57ED0000003' },
    ] });
    const s = secret();
    let n = 0;
    return {
      voucher: { server_url: tts.url, application_id: 'demo-app', api_key: tts.apiKey, webhook_secret: s, offline_timeout: 30 },
      drive: (hook) => every(700, async () => {
        const d = tts.devices[n++ % tts.devices.length]!;
        await tts.deliver(hook, tts.uplinkBody(d.device_id, { temperature: wave(n), door_open: n % 7 === 0, battery: Math.round((3.6 - n * 0.001) * 1000) / 1000 }), { 'x-webhook-secret': s });
      }),
      command: { method: 'SetInterval', params: { interval: 300 } },
      vendorSaw: (mid) => (tts.downlinks.find((d) => JSON.stringify(d.body).includes(mid))?.body as { downlinks?: unknown[] } | undefined)?.downlinks?.[0] ?? null,
      close: () => tts.close(),
    };
  },
  chirpstack: async () => {
    const cs = await startChirpstackSim();
    const s = secret();
    let n = 0;
    return {
      voucher: { api_url: cs.url, api_token: cs.token, application_id: cs.applicationId, webhook_secret: s, offline_timeout_s: 60 },
      drive: (hook) => every(700, async () => {
        const d = cs.devices[n++ % cs.devices.length]!;
        const body = await cs.eventBody('up', { devEui: d.devEui, patch: { object: { temperature: wave(n), humidity: 40 + (n % 10) } } });
        await cs.sendEvent(hook, 'up', body, { 'x-webhook-secret': s });
      }),
      command: { method: 'raw', params: { data: 'AQID', fPort: 10 } },
      vendorSaw: () => [...cs.queue.values()].flat().at(-1) ?? null,
      close: () => cs.close(),
    };
  },
  tuya: async () => {
    const sim = await startTuyaSim();
    let n = 0;
    return {
      voucher: { endpoint: sim.url, access_id: sim.accessId, access_secret: sim.accessSecret, poll_interval_s: 5, only_changed: 'yes' },
      // Polled: the "devices" change their data points and the service picks that up on its schedule.
      drive: () => every(2000, async () => {
        n++;
        for (const id of sim.devices.keys()) sim.setDeviceStatus(id, { switch_led: n % 2 === 0, bright_value: 100 + ((n * 37) % 900) });
      }),
      command: { method: 'switch_led', params: false },
      vendorSaw: () => sim.commands.at(-1) ?? null,
      close: () => sim.close(),
    };
  },
  'http-json': async () => {
    const sim = await startHttpJsonSim({ devices: 3, auth: { type: 'bearer', token: `demo-${secret()}` } });
    return {
      voucher: simVoucher(sim, { poll_interval_s: 5 }),
      drive: () => () => undefined,
      command: { method: 'reboot', params: { delay: 5 } },
      vendorSaw: () => sim.commands.at(-1)?.body ?? null,
      close: () => sim.close(),
    };
  },
};
