// Run an ONNX model in ONNX Runtime (npm onnxruntime-node, CPU) on raw
// float32 NCHW files: node ort_run.js MODEL.onnx IN.raw H W OUT.raw [IN H W OUT]...
// The module's folder is $NLCL_ORT_MODULE (tests/package/onnx.sh). One
// session serves every input, so inputs of different sizes exercise the
// model's dynamic height and width.
const fs = require('fs');
const ort = require(process.env.NLCL_ORT_MODULE);

async function main() {
  const [model, ...rest] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  console.log(`onnxruntime-node ${ort.env.versions.node}: inputs ${session.inputNames}, outputs ${session.outputNames}`);
  for (let i = 0; i + 3 < rest.length; i += 4) {
    const [inp, h, w, out] = [rest[i], Number(rest[i + 1]), Number(rest[i + 2]), rest[i + 3]];
    const x = new Float32Array(new Uint8Array(fs.readFileSync(inp)).buffer);
    const r = await session.run({ input: new ort.Tensor('float32', x, [1, 3, h, w]) });
    const y = r.output;
    fs.writeFileSync(out, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    console.log(`${inp}: output ${y.dims.join('x')}`);
  }
}
main().catch((e) => { console.error(`ort_run.js: ${e}`); process.exit(1); });
