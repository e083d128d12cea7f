// Prometheus metrics (prom-client). Labels are bounded: connector, access point, outcome; never device ids.
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'tpcc_' });

const mk = {
  counter: (name: string, help: string, labelNames: string[]) =>
    new client.Counter({ name: `tpcc_${name}`, help, labelNames, registers: [registry] }),
  histogram: (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new client.Histogram({ name: `tpcc_${name}`, help, labelNames, buckets, registers: [registry] }),
  gauge: (name: string, help: string, labelNames: string[]) =>
    new client.Gauge({ name: `tpcc_${name}`, help, labelNames, registers: [registry] }),
};

export const metrics = {
  polls: mk.counter('polls_total', 'Polls run, by outcome', ['connector', 'access_point', 'outcome']),
  pollDuration: mk.histogram('poll_duration_seconds', 'Poll latency', ['connector', 'access_point'], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]),
  vendorCalls: mk.counter('vendor_http_requests_total', 'Vendor HTTP calls by status class', ['connector', 'access_point', 'status']),
  vendorRateLimited: mk.counter('vendor_rate_limited_total', 'Vendor 429/quota answers', ['connector', 'access_point']),
  vendorRetries: mk.counter('vendor_retries_total', 'Retries of vendor calls inside one attempt', ['connector', 'access_point']),
  tokenRefreshes: mk.counter('token_refreshes_total', 'Vendor token fetches/refreshes', ['connector', 'access_point', 'outcome']),
  webhooks: mk.counter('webhook_requests_total', 'Webhook requests by result', ['connector', 'result']),
  uplinks: mk.counter('uplinks_published_total', 'Messages published to ThingsPanel', ['connector', 'kind']),
  uplinkDropped: mk.counter('uplinks_dropped_total', 'Records not published, by reason', ['connector', 'reason']),
  commands: mk.counter('commands_total', 'Platform commands by outcome', ['connector', 'outcome']),
  queueDepth: mk.gauge('queue_depth', 'Jobs waiting, delayed or active per queue', ['queue', 'state']),
  queueOldestAge: mk.gauge('queue_oldest_job_age_seconds', 'Age of the oldest waiting job per queue', ['queue']),
  deadLetters: mk.gauge('dead_letter_jobs', 'Jobs in the dead-letter queue', []),
  apState: mk.gauge('access_point_state', '1 for the current credential state of each access point', ['connector', 'access_point', 'state']),
};
