// Platform-neutral messages produced by connectors' pure normalisers.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

interface Base {
  /** The vendor's own device identity (TTS device_id, ChirpStack devEui, Tuya id). */
  device: string;
  /** Milliseconds since epoch at which the vendor observed this data, when known. */
  ts?: number;
}

export type PlatformMessage =
  | (Base & { kind: 'telemetry'; values: JsonObject })
  | (Base & { kind: 'attributes'; values: JsonObject })
  | (Base & { kind: 'event'; method: string; params: JsonObject })
  | (Base & { kind: 'status'; online: boolean });

/** One unit of vendor data as received (webhook body or poll result item), before normalising. */
export interface RawRecord {
  /** Idempotency key: the vendor's message id, frame counter, or a content hash. */
  key: string;
  /** The vendor device id, when the parser can tell it (used for routing and tenant checks). */
  device?: string;
  /** Vendor message type, e.g. uplink_message, up, status. */
  type: string;
  body: JsonValue;
}

/** A platform command as the connector sees it. */
export interface PlatformCommand {
  kind: 'command' | 'attributes_set' | 'telemetry_control';
  /** Vendor device id. */
  device: string;
  method: string;
  params: JsonValue;
  messageId: string;
}

export interface CommandResult {
  ok: boolean;
  message: string;
  /** Vendor reference (queue item id, correlation id) to match later acks. */
  reference?: string;
}

export interface DiscoveredDevice {
  /** Vendor device id. */
  externalId: string;
  name: string;
  description?: string;
}
