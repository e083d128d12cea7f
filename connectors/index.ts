// The explicit list of built-in connectors.
import type { AnyConnector } from '../src/core/connector.js';
import { chirpstack } from './chirpstack/index.js';
import { httpJson } from './http-json/index.js';
import { theThingsStack } from './the-things-stack/index.js';
import { tuya } from './tuya/index.js';

export const builtInConnectors: Record<string, AnyConnector> = {
  [theThingsStack.id]: theThingsStack,
  [chirpstack.id]: chirpstack,
  [tuya.id]: tuya,
  [httpJson.id]: httpJson,
};
