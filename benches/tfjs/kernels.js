// Kernels that TF.js's wasm backend (4.22.0) lacks for training a conv net, registered for the
// 'wasm' backend and built only from that backend's own kernels (their kernelFuncs, found with
// tf.getKernel(name, 'wasm')): no JavaScript arithmetic on tensor values.
//
// As shipped, the wasm backend has Conv2D, Conv2DBackpropInput (the input gradient) and
// AvgPoolGrad, but no Conv2DBackpropFilter, so tf.grads through a conv2d fails with "Kernel
// 'Conv2DBackpropFilter' not registered for backend 'wasm'". Three ways to build it:
//
//   im2col  the filter gradient is a matrix product over im2col patches:
//           dW[(kh,kw,c), o] = sum over n = (b,i,j) of patches[(kh,kw,c), n] * dy[n, o], where
//           patches[(kh,kw,c), (b,i,j)] = x[b, i*sh + kh - top, j*sw + kw - left, c].
//           Transpose x to [c,b,h,w], PadV2 it, take one Slice (StridedSlice for strides > 1) per
//           (kh,kw) of shape [c,b,oh,ow], Concat them along axis 0 (whole blocks, one copy each)
//           into the [kh*kw*c, b*oh*ow] patch matrix, then BatchMatMul with dy as [b*oh*ow, o].
//   conv    (default, the fastest: ~3x im2col here) the same sum as one Conv2D: batch and channels swapped (x as [c,h,w,b], dy as the
//           filter [oh,ow,b,o]), dilation = the forward stride, then a Transpose.
//   conv3d  the backend's Conv3DBackpropFilterV2 on depth-1 volumes (pad 'same'/'valid' and
//           stride 1 only: with strides > 1 that kernel's results differ from the cpu backend's
//           in 4.22.0, by as much as the gradient itself).
//
// Every variant is checked against TF.js's cpu backend by the page before it is timed.

const NEEDED = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'AvgPoolGrad'];

export const VARIANTS = ['im2col', 'conv', 'conv3d'];

function kernel(tf, name) {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name} kernel to build on`);
  return config.kernelFunc;
}

/// Shapes and padding of a Conv2DBackpropFilter call (NHWC only, as the wasm backend's Conv2D).
function convInfo(tf, x, attrs) {
  const { strides, pad, dimRoundingMode, filterShape, dataFormat } = attrs;
  if (dataFormat && dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm: dataFormat ${dataFormat} is not supported`);
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

/// Runs `body(run)`, where run(name, inputs, attrs) calls a wasm kernel and remembers its output;
/// disposes every remembered intermediate except the returned one.
function composed(tf, backend, body) {
  const made = [];
  const run = (name, inputs, attrs = {}) => {
    const out = kernel(tf, name)({ inputs, backend, attrs });
    made.push(out);
    return out;
  };
  const result = body(run);
  for (const t of made) if (t !== result) backend.disposeData(t.dataId);
  return result;
}

/// x transposed to `perm` and padded/cropped so that its spatial axes (`hAxis`, hAxis + 1) cover
/// exactly the rows and columns the convolution windows reach.
function windowed(run, x, info, perm, hAxis) {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: SH, strideWidth: SW,
    filterHeight: FH, filterWidth: FW, padInfo: { top, left } } = info;
  const needH = (OH - 1) * SH + FH;
  const needW = (OW - 1) * SW + FW;
  let t = run('Transpose', { x }, { perm });
  const paddings = t.shape.map(() => [0, 0]);
  paddings[hAxis] = [top, Math.max(0, needH - H - top)];
  paddings[hAxis + 1] = [left, Math.max(0, needW - W - left)];
  if (paddings.some(([a, b]) => a || b)) {
    t = run('PadV2', { x: t }, { paddings, constantValue: 0 });
  }
  if (t.shape[hAxis] !== needH || t.shape[hAxis + 1] !== needW) {
    const size = t.shape.slice();
    size[hAxis] = needH;
    size[hAxis + 1] = needW;
    t = run('Slice', { x: t }, { begin: t.shape.map(() => 0), size });
  }
  return t;
}

function filterGradIm2col(tf) {
  return ({ inputs: { x, dy }, backend, attrs }) => {
    const info = convInfo(tf, x, attrs);
    const { batchSize: B, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO,
      strideHeight: SH, strideWidth: SW, filterHeight: FH, filterWidth: FW } = info;
    return composed(tf, backend, (run) => {
      const xt = windowed(run, x, info, [3, 0, 1, 2], 2); // [C, B, needH, needW]
      const n = C * B * OH * OW;
      const rows = [];
      for (let kh = 0; kh < FH; kh++) {
        for (let kw = 0; kw < FW; kw++) {
          const patch = SH === 1 && SW === 1
            ? run('Slice', { x: xt }, { begin: [0, 0, kh, kw], size: [C, B, OH, OW] })
            : run('StridedSlice', { x: xt }, {
              begin: [0, 0, kh, kw], end: [C, B, kh + (OH - 1) * SH + 1, kw + (OW - 1) * SW + 1],
              strides: [1, 1, SH, SW], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0,
              shrinkAxisMask: 0,
            });
          rows.push(run('Reshape', { x: patch }, { shape: [1, n] }));
        }
      }
      const patches = run('Concat', rows, { axis: 0 }); // [FH*FW, C*B*OH*OW]
      const a = run('Reshape', { x: patches }, { shape: [1, FH * FW * C, B * OH * OW] });
      const b = run('Reshape', { x: dy }, { shape: [1, B * OH * OW, CO] });
      const dw = run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
      return run('Reshape', { x: dw }, { shape: [FH, FW, C, CO] });
    });
  };
}

function filterGradConv(tf) {
  return ({ inputs: { x, dy }, backend, attrs }) => {
    const info = convInfo(tf, x, attrs);
    const { strideHeight: SH, strideWidth: SW } = info;
    return composed(tf, backend, (run) => {
      const xt = windowed(run, x, info, [3, 1, 2, 0], 1); // [C, needH, needW, B]
      const filter = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, B, CO]
      const out = run('Conv2D', { x: xt, filter }, {
        strides: [1, 1], dilations: [SH, SW], pad: 'valid', dataFormat: 'NHWC',
      }); // [C, FH, FW, CO]
      return run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
    });
  };
}

function filterGradConv3d(tf) {
  return ({ inputs: { x, dy }, backend, attrs }) => {
    const info = convInfo(tf, x, attrs);
    const { pad } = attrs;
    if ((pad !== 'same' && pad !== 'valid') || info.strideHeight !== 1 || info.strideWidth !== 1) {
      throw new Error('conv3d variant: only stride 1 with pad same/valid is supported');
    }
    const [FH, FW, C, CO] = attrs.filterShape;
    return composed(tf, backend, (run) => {
      const x5 = run('Reshape', { x }, { shape: [x.shape[0], 1, ...x.shape.slice(1)] });
      const dy5 = run('Reshape', { x: dy }, { shape: [dy.shape[0], 1, ...dy.shape.slice(1)] });
      const dw = run('Conv3DBackpropFilterV2', { x: x5, dy: dy5 }, {
        strides: [1, info.strideHeight, info.strideWidth], pad, filterShape: [1, FH, FW, C, CO],
      });
      return run('Reshape', { x: dw }, { shape: [FH, FW, C, CO] });
    });
  };
}

const BUILDERS = { im2col: filterGradIm2col, conv: filterGradConv, conv3d: filterGradConv3d };

/// Which training kernels the wasm backend lacks (call before registering ours).
export function missingWasmKernels(tf) {
  return NEEDED.filter((name) => !tf.getKernel(name, 'wasm'));
}

/// Registers (or re-registers) our Conv2DBackpropFilter for 'wasm'; returns a description.
export function registerConv2DBackpropFilter(tf, variant = 'conv') {
  const build = BUILDERS[variant];
  if (!build) throw new Error(`unknown variant ${variant}`);
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: build(tf) });
  return `Conv2DBackpropFilter registered for wasm (${variant})`;
}
