// The explicit list of built-in connectors.
import type { AnyConnector } from '../src/core/connector.js';
import { theThingsStack } from './the-things-stack/index.js';

export const builtInConnectors: Record<string, AnyConnector> = {
  [theThingsStack.id]: theThingsStack,
};
