// `tp-connector dlq list | dlq replay <id>`.
import { pino } from 'pino';
import type { Config } from '../config.js';
import { BackendClient } from '../platform/backend-client.js';
import { MqttLink } from '../platform/mqtt-link.js';
import { listDeadLetters, replayDeadLetter } from '../pipeline/dead-letter.js';
import { Registry } from '../pipeline/registry.js';
import { Runtime } from '../pipeline/runtime.js';

export async function runDlq(cfg: Config, args: string[]): Promise<void> {
  const log = pino({ level: 'silent' });
  const link = { close: async () => undefined } as unknown as MqttLink;
  const rt = new Runtime(cfg, log, new Registry([]), link, new BackendClient(cfg.TP_API_URL));
  try {
    if (args[0] === 'list') {
      const all = await listDeadLetters(rt, 1000);
      if (all.length === 0) process.stdout.write('dead-letter queue is empty\n');
      for (const { id, letter } of all) process.stdout.write(`${id}\t${new Date(letter.failedAt).toISOString()}\t${letter.queue}/${letter.name}\tattempts=${letter.attempts}\t${letter.reason}\n`);
    } else if (args[0] === 'replay' && args[1]) {
      const ids = args[1] === 'all' ? (await listDeadLetters(rt, 10_000)).map((d) => d.id) : [args[1]];
      for (const id of ids) process.stdout.write(`replayed ${id} as job ${await replayDeadLetter(rt, id)}\n`);
    } else throw new Error('usage: tp-connector dlq list | dlq replay <id|all>');
  } finally {
    await rt.close();
  }
}
