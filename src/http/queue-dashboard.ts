// bull-board (queue dashboard) for every queue of the Runtime, mounted on the admin app under a prefix. It inherits
// the admin app's onRequest hooks (token, CSRF guard) because it is registered after them, encapsulated.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { QueueName, Runtime } from '../pipeline/runtime.js';

export const QUEUE_DASHBOARD_PATH = '/queues';

const DESCRIPTIONS: Record<QueueName, string> = {
  uplink: 'Webhook and poll records on their way to the ThingsPanel broker',
  poll: 'Scheduled vendor polls, one scheduler per access point',
  command: 'Platform commands to vendor APIs (job id = platform message id)',
  maintenance: 'Offline detection sweep',
  'dead-letter': 'Jobs that exhausted their attempts; replay from the status page or `tp-connector dlq replay`',
};

export function registerQueueDashboard(app: FastifyInstance, rt: Runtime, basePath = QUEUE_DASHBOARD_PATH): void {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  const names = Object.keys(rt.queues) as QueueName[];
  createBullBoard({
    queues: names.map((n) => new BullMQAdapter(rt.queues[n], {
      description: DESCRIPTIONS[n],
      // Dead letters are waiting jobs nobody consumes; retrying them in bull-board would do nothing useful.
      allowRetries: n !== 'dead-letter',
    })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'tp-cloud-connector',
        miscLinks: [{ text: 'Status page', url: '/' }],
        hideDocsLink: true,
      },
    },
  });
  app.register(serverAdapter.registerPlugin(), { prefix: basePath });
}
