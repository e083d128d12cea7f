// Shared helpers for the simulator tests: a throwaway "plugin" HTTP server that records raw requests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export function uniqueId(prefix = 'SIMTEST'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakePlugin {
  server: Server;
  hostPort: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type FakeHandler = (req: RecordedRequest, res: ServerResponse) => void;

const defaultHandler: FakeHandler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url.startsWith('/api/v1/form/config')) {
    res.end(JSON.stringify({ code: 200, message: 'success', data: [{ dataKey: 'AppKey', label: 'AppKey', type: 'input', validate: { type: 'string', required: true, message: 'required' } }] }));
    return;
  }
  if (req.url.startsWith('/api/v1/plugin/device/list')) {
    res.end(JSON.stringify({ code: 200, message: 'success', data: { total: 1, list: [{ device_name: 'Boiler', device_number: 'acme-001', description: '' }] } }));
    return;
  }
  res.end(JSON.stringify({ code: 200, message: 'success' }));
};

export async function startFakePlugin(handler: FakeHandler = defaultHandler): Promise<FakePlugin> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    hostPort: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) };
}

export function b64(values: unknown): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64');
}
