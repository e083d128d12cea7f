// Minimal typing for the parts of autocannon (no bundled types) that bench/lib/load.ts uses.
declare module 'autocannon' {
  function autocannon(opts: Record<string, unknown>): Promise<unknown>;
  export default autocannon;
}
