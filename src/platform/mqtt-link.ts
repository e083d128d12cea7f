// The MQTT connection to the ThingsPanel broker: publish resolves only on PUBACK; downlink subscriptions.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface MqttLinkOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  log: Logger;
  /**
   * After a REconnect, publishes wait this long before they go out. A broker that restarted without persistence
   * has no subscription of the ThingsPanel backend (clean session) until the backend reconnects too; what is
   * published before that is acknowledged (PUBACK) and dropped. Default 0.
   */
  reconnectHoldMs?: number;
}

export class MqttLink extends EventEmitter {
  readonly client: MqttClient;
  private readonly log: Logger;
  private connectedOnce = false;
  /** Publishes may go out: connected, and past the hold after a reconnect. */
  private ready = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions = new Set<string>();

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    // Every publish made while the broker is away waits for 'up' (one listener per job in flight).
    this.setMaxListeners(0);
    this.log = opts.log;
    this.client = mqtt.connect(opts.url, {
      username: opts.username,
      password: opts.password,
      clientId: opts.clientId ?? `tpcc-${randomUUID()}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // QoS 1 publishes made while offline wait in mqtt.js's outgoing queue and go out on reconnect.
      queueQoSZero: false,
      resubscribe: true,
    });
    this.client.on('connect', () => {
      const hold = this.connectedOnce ? (opts.reconnectHoldMs ?? 0) : 0;
      this.log.info({ broker: safeBroker(opts.url), ...(hold ? { publishes_held_ms: hold } : {}) }, this.connectedOnce ? 'mqtt reconnected' : 'mqtt connected');
      this.connectedOnce = true;
      clearTimeout(this.holdTimer);
      const release = () => {
        if (!this.client.connected) return;
        this.ready = true;
        this.emit('up');
      };
      if (hold > 0) this.holdTimer = setTimeout(release, hold);
      else release();
    });
    this.client.on('close', () => {
      this.ready = false;
      clearTimeout(this.holdTimer);
      if (this.connectedOnce) this.emit('down');
    });
    this.client.on('offline', () => this.log.warn({ broker: safeBroker(opts.url) }, 'mqtt offline; publishes wait in Redis and memory until it returns'));
    this.client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    this.client.on('message', (topic, payload) => this.emit('message', topic, payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.ready && this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.off('up', on); reject(new Error(`mqtt broker not reachable within ${timeoutMs} ms`)); }, timeoutMs);
      const on = () => { clearTimeout(t); resolve(); };
      this.once('up', on);
    });
  }

  /**
   * QoS 1 publish; resolves on PUBACK. While the broker is away it waits (the job stays active in Redis and
   * its lock is renewed), so nothing is handed to the client library twice. Calls made while offline are
   * released in call order when the connection returns, which keeps per-device order.
   */
  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (this.closing) throw new Error('mqtt link closing');
    if (!this.ready || !this.client.connected) await new Promise<void>((resolve) => this.once('up', resolve));
    await new Promise<void>((resolve, reject) => {
      this.client.publish(topic, payload, { qos, retain: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  async subscribe(filter: string): Promise<void> {
    this.subscriptions.add(filter);
    await this.client.subscribeAsync(filter, { qos: 1 });
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.holdTimer);
    this.emit('up');
    await this.client.endAsync(false).catch(() => undefined);
  }
}

function safeBroker(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'broker';
  }
}
