// tp-connector command line: start | demo | check | forms | convert | dlq | webhook-url.
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../core/log.js';
import { describeError } from '../core/errors.js';

const USAGE = `usage: tp-connector <command>
  start                      run the service (configuration from the environment; see README)
  demo [connector]           end-to-end demo on embedded defaults (simulated ThingsPanel and vendor cloud; default the-things-stack)
  check                      validate configuration and reach Redis, the MQTT broker and ThingsPanel
  forms                      regenerate form_voucher.json and connectors/*/form_*.json
  convert <connector> <file> run a connector's parser and normaliser on a saved payload
  dlq list | dlq replay <id> inspect or replay the dead-letter queue
  webhook-url <access-point> print the webhook URL and header to configure at the vendor`;

function fail(msg: string, code = 1): never {
  process.stderr.write(`tp-connector: ${msg}\n`);
  process.exit(code);
}

function config() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start': {
      const cfg = config();
      const log = createLogger(cfg.LOG_LEVEL, { pretty: cfg.LOG_PRETTY ?? process.stdout.isTTY });
      const { startService } = await import('../service.js');
      const svc = await startService(cfg, { log });
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'stopping: finishing in-flight jobs');
        void svc.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      return;
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      await runDemo({ connector: rest[0] });
      return;
    }
    case 'forms': {
      const { writeForms } = await import('./forms.js');
      const files = await writeForms(new URL('../../', import.meta.url));
      for (const f of files) process.stdout.write(`wrote ${f}\n`);
      return;
    }
    case 'check': {
      const { runCheck } = await import('./check.js');
      process.exit(await runCheck(config()));
      return;
    }
    case 'convert': {
      const [connector, file] = rest;
      if (!connector || !file) fail('usage: tp-connector convert <connector> <payload-file> [--voucher <file>] [--header name:value] [--event <type>] [--type <record type>]');
      const { runConvert } = await import('./convert.js');
      await runConvert(connector, file, rest.slice(2));
      return;
    }
    case 'dlq': {
      const { runDlq } = await import('./dlq.js');
      await runDlq(config(), rest);
      return;
    }
    case 'webhook-url': {
      const { runWebhookUrl } = await import('./check.js');
      await runWebhookUrl(config(), rest[0]);
      return;
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(`unknown command "${cmd}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err) => fail(describeError(err)));
