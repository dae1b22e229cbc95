// ONNX Runtime peer of bench_derain.c: the authors' G_B exported from PyTorch
// (bench/export_onnx.py), one forward on a W x H image, batch 1, on the CPU
// execution provider with N intra-op threads (sequential execution, all graph
// optimisations). Times session.run() alone ("compute": no file decoding, no
// tensor creation), median and fastest of `reps` runs after one warm-up; prints GFLOP/s
// (2 FLOP per MAC, convolutions only, as bench_derain.c) and the peak RSS.
// Usage: node bench_derain_ort.js MODEL.onnx W H [reps] [threads]
// onnxruntime-node is found through NODE_PATH (bench/run_all.sh installs it
// with `npm install --ignore-scripts onnxruntime-node` outside the repository).
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, W, H] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const reps = process.argv[5] ? +process.argv[5] : 5;
  const threads = process.argv[6] ? +process.argv[6] : 2;
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all'});
  const n = 3 * W * H, data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 2001) / 1000 - 1;
  const feeds = {input: new ort.Tensor('float32', data, [1, 3, H, W])};
  const t = [];
  for (let r = -1; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r >= 0) t.push(dt);
  }
  t.sort((a, b) => a - b);
  const med = t[Math.floor(reps / 2)];
  const macs = W * H * 9.0 * (3 * 32 + 34 * 32 * 32 + 32 * 3);
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`ort derain ${W}x${H}: ${med.toFixed(3)} s (median of ${reps}, fastest ${t[0].toFixed(3)}), ` +
              `${(2 * macs / med / 1e9).toFixed(1)} GFLOP/s, peak RSS ${rss.toFixed(1)} MiB, ` +
              `${threads} threads, onnxruntime-node ${require('onnxruntime-node/package.json').version}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
