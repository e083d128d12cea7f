// ThingsPanel MQTT topics (contract §4): pure builders for uplink, parser for the prefixed downlink.

export const uplinkTopics = {
  telemetry: () => 'devices/telemetry',
  attributes: (messageId: string) => `devices/attributes/${messageId}`,
  event: (messageId: string) => `devices/event/${messageId}`,
  status: (deviceId: string) => `devices/status/${deviceId}`,
  commandResponse: (messageId: string) => `devices/command/response/${messageId}`,
  attributeSetResponse: (messageId: string) => `devices/attributes/set/response/${messageId}`,
};

export type Downlink =
  | { kind: 'command'; device: string; messageId: string }
  | { kind: 'attributes_set'; device: string; messageId: string }
  | { kind: 'attributes_get'; device: string }
  | { kind: 'telemetry_control'; device: string };

/**
 * Parses a topic published by the platform under our sub_topic_prefix. `device` is either the device
 * number (backend ≥ v1.1.10) or the device id (≤ v1.1.9): callers resolve it against both maps.
 * Returns null for topics that are not ours or not understood.
 */
export function parseDownlinkTopic(topic: string, prefix: string): Downlink | null {
  if (!topic.startsWith(prefix)) return null;
  const parts = topic.slice(prefix.length).split('/');
  if (parts[0] !== 'devices') return null;
  const [, a, b, c, d, e] = parts;
  const ok = (s: string | undefined): s is string => s !== undefined && s !== '';
  if (a === 'command' && ok(b) && b !== 'response' && ok(c) && d === undefined) return { kind: 'command', device: b, messageId: c };
  if (a === 'attributes' && b === 'set' && ok(c) && c !== 'response' && ok(d) && e === undefined) return { kind: 'attributes_set', device: c, messageId: d };
  if (a === 'attributes' && b === 'get' && ok(c) && d === undefined) return { kind: 'attributes_get', device: c };
  if (a === 'telemetry' && b === 'control' && ok(c) && d === undefined) return { kind: 'telemetry_control', device: c };
  return null;
}

/** Normalises a configured prefix: must end with exactly one "/". */
export function normalisePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}
