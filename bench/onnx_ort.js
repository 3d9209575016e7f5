// ONNX Runtime's side of scripts/bench_onnx.sh: node bench/onnx_ort.js DIR THREADS REPEATS
// (DIR from `bench_onnx --export DIR`; onnxruntime-node from NODE_PATH, e.g.
// `npm install --ignore-scripts onnxruntime-node` into /tmp/ortnode).
// Times session.run in one JS loop (awaiting each call), as bench_onnx times ours: LeNet-5 at
// batch 128 (µs per sample), the MLP at batch 1 (µs per call), and the binding's empty call
// (a one-node graph on the same 1×784 input) so that the table can show ORT without it.
// Prints "case threads=N us=MEDIAN cpu_us=MEDIAN" like bench_onnx.
const ort = require('onnxruntime-node');

function median(v) { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

async function timeCase(name, path, batch, calls, repeats, threads, per) {
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const data = new Float32Array(batch * 784);
  let s = 3;
  for (let i = 0; i < data.length; ++i) { s = (s * 1103515245 + 12345) % 2147483648; data[i] = s / 2147483648; }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 784]) };
  for (let i = 0; i < Math.floor(calls / 10) + 1; ++i) await session.run(feeds);
  const wall = [], cpu = [];
  for (let r = 0; r < repeats; ++r) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; ++i) await session.run(feeds);
    const t = Number(process.hrtime.bigint() - t0) / 1e3;
    const c = process.cpuUsage(c0);
    wall.push(t / calls / per);
    cpu.push((c.user + c.system) / calls / per);
  }
  console.log(`${name} threads=${threads} us=${median(wall).toFixed(3)} cpu_us=${median(cpu).toFixed(3)}`);
}

async function main() {
  const [dir, threads, repeats] = [process.argv[2], Number(process.argv[3] || 1), Number(process.argv[4] || 7)];
  await timeCase('lenet5_b128', `${dir}/lenet5.onnx`, 128, 20, repeats, threads, 128);
  await timeCase('mlp_b1', `${dir}/mlp.onnx`, 1, 5000, repeats, threads, 1);
  await timeCase('empty_b1', `${dir}/empty.onnx`, 1, 5000, repeats, threads, 1);
}
main().catch((e) => { console.error(e); process.exit(1); });
