await import('./scripts/vite-imports');
const { openDawn, dawnDevices } = await import('./src/gpu/dawn');
const { PassTimer, requestTimestampQueries } = await import('./scripts/bench/dawn-pass-timer');
const { MatmulGpu } = await import('./src/kernels/matmul/gpu');
await openDawn([]);
requestTimestampQueries();
const devices = await dawnDevices([]);
const mm = new MatmulGpu(devices);
for (const n of [128, 256, 512]) {
  const a = new Float32Array(n*n).fill(1), b = new Float32Array(n*n).fill(1);
  await mm.f32(a, b, {m:n,n,k:n});
  const t = new PassTimer().start();
  const t0 = performance.now();
  const c = await mm.f32(a, b, {m:n,n,k:n});
  const wall = performance.now() - t0;
  const r = await t.stop();
  console.log(n, c[0], 'wall', wall.toFixed(2), 'kernel', r.ms.toFixed(3), r.passes, t.timed);
}
process.exit(0);
