// Preloaded (node --expose-gc --import) into a service process by the memory test: on SIGUSR2 it collects garbage
// twice and prints one JSON line with the heap figures, which the test reads from stdout.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ gc_probe: true, gc: typeof globalThis.gc === 'function', heap_used: m.heapUsed, heap_total: m.heapTotal, rss: m.rss, external: m.external, array_buffers: m.arrayBuffers })}\n`);
});
