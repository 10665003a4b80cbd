// One node, one kernel call: translates an op's IR attributes and concrete shapes into the
// arguments of the matching Kernels function.
import GraphIR
import Kernels

extension Activation {
    var function: ActivationFunction {
        switch kind {
        case .elu: return .elu(alpha: alpha)
        case .relu: return .relu
        case .leakyRelu: return .leakyRelu(alpha: alpha)
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        case .none: return .identity
        }
    }
}

extension Conv2D {
    /// The kernel geometry of this convolution on an input of concrete shape [N, C, H, W].
    /// (A folded upsample makes the convolution see an input inputUpsample times larger.)
    func geometry(input x: [Int]) -> ConvGeometry {
        let h = x[2] * inputUpsample, w = x[3] * inputUpsample
        let (pt, pb) = pads(axis: 0, input: h), (pl, pr) = pads(axis: 1, input: w)
        return ConvGeometry(batch: x[0], inChannels: x[1], inHeight: h, inWidth: w, outChannels: outChannels,
                            kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]),
                            dilation: (dilation[0], dilation[1]), padding: (pt, pb, pl, pr), reflect: padding == .reflect,
                            upsample: inputUpsample)
    }
}

extension Conv2D {
    /// Whether this convolution runs as Winograd at geometry `g` (selected by the pass and
    /// possible and faster there); the memory plan and the kernel call must agree on it.
    func runsWinograd(_ g: ConvGeometry) -> Bool { algorithm == .winograd && Winograd.applies(g) && Winograd.pays(g) }

    /// A folded ×2 upsample into a 3×3 stride-1 conv runs as four 2×2 phase convolutions.
    var mayRunSubpixel: Bool { inputUpsample == 2 && kernel == [3, 3] && stride == [1, 1] && dilation == [1, 1] }
    func runsSubpixel(_ g: ConvGeometry) -> Bool { mayRunSubpixel && SubpixelConvolution.applies(g) }
}

extension ConvFusion {
    var epilogue: ConvEpilogue {
        switch self {
        case .none: return .none
        case .activation(let a): return .activation(a.function)
        case .gate(let a): return .gate(a.function)
        }
    }
}

extension GraphIR.ContextualAttention {
    var parameters: AttentionParameters {
        AttentionParameters(ksize: ksize, stride: stride, rate: rate, fuseK: fuseK, softmaxScale: softmaxScale, fuse: fuse,
                            alignCorners: alignCorners)
    }
}

extension Executor {
    func execute(_ node: Node, _ typed: TypedGraph, _ ins: [Buffer], _ outs: [Buffer], scratch: UnsafeMutablePointer<Float>?, threads: Int) {
        let inShapes = typed.inputTypes(of: node).map { $0.concreteShape! }
        let outShape = typed.outputTypes(of: node)[0].concreteShape!
        let x = inShapes.first ?? []
        let y = outs[0]
        switch node.op {
        case .conv2d(let c):
            let g = c.geometry(input: x)
            precondition(g.outHeight == outShape[2] && g.outWidth == outShape[3], "conv geometry disagrees with shape inference")
            let bias = c.bias ? weights["\(node.name).bias"] : nil
            let winograd = c.runsWinograd(g)
            if winograd || c.runsSubpixel(g), let u = transformedWeights[node.name], let scratch {
                u.withUnsafeBufferPointer { up in
                    let run = { (b: UnsafePointer<Float>?) in
                        if winograd {
                            Winograd.forward(g, input: ins[0].pointer, transformedWeight: up.baseAddress!, bias: b, output: y.pointer,
                                             epilogue: c.fused.epilogue, scratch: scratch, threads: threads)
                        } else {
                            SubpixelConvolution.forward(g, input: ins[0].pointer, phaseWeights: up.baseAddress!, bias: b, output: y.pointer,
                                                        epilogue: c.fused.epilogue, scratch: scratch, threads: threads)
                        }
                    }
                    if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                }
                return
            }
            let weight = weights["\(node.name).weight"]!
            weight.withUnsafeBufferPointer { w in
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        Convolution.forward(g, input: ins[0].pointer, weight: w.baseAddress!, bias: b.baseAddress!, output: y.pointer,
                                            epilogue: c.fused.epilogue, scratch: scratch, threads: threads)
                    }
                } else {
                    Convolution.forward(g, input: ins[0].pointer, weight: w.baseAddress!, bias: nil, output: y.pointer,
                                        epilogue: c.fused.epilogue, scratch: scratch, threads: threads)
                }
            }
        case .gate(let gate):
            Pointwise.gate(gate.activation.function, ins[0].pointer, y.pointer, batch: x[0], featureChannels: outShape[1],
                           pixels: x[2] * x[3], threads: threads)
        case .unary(let u):
            Pointwise.activation(u.activation.function, ins[0].pointer, y.pointer, count: y.count, threads: threads)
        case .binary(let b):
            let op: Pointwise.BinaryOp = b.kind == .add ? .add : b.kind == .sub ? .sub : .mul
            Pointwise.binary(op, ins[0].pointer, shapeA: inShapes[0], ins[1].pointer, shapeB: inShapes[1], y.pointer, shape: outShape, threads: threads)
        case .composite:
            Pointwise.composite(fill: ins[0].pointer, known: ins[1].pointer, mask: ins[2].pointer, maskBatch: inShapes[2][0],
                                out: y.pointer, batch: x[0], channels: x[1], pixels: x[2] * x[3])
        case .fill(let f):
            Pointwise.fill(y.pointer, count: y.count, value: f.value)
        case .resizeNearest(let r):
            Layout.resizeNearest(ins[0].bits, y.bits, planes: x[0] * x[1], inHeight: x[2], inWidth: x[3],
                                 outHeight: outShape[2], outWidth: outShape[3], alignCorners: r.alignCorners, threads: threads)
        case .concat(let c):
            Layout.concat(ins.map { UnsafePointer($0.bits) }, shapes: inShapes, axis: c.axis.index, y.bits)
        case .slice(let s):
            Layout.slice(ins[0].bits, shape: x, axis: s.axis.index, start: s.start, end: s.end, y.bits)
        case .flatten(let f):
            if f.order == .chw { y.bits.update(from: ins[0].bits, count: y.count) }
            else { Layout.flattenHWC(ins[0].bits, y.bits, batch: x[0], channels: x[1], pixels: x[2] * x[3]) }
        case .contextualAttention(let a):
            let b = inShapes[1], p = a.parameters
            outs[1].pointer.withMemoryRebound(to: Int32.self, capacity: outs[1].count) { argmax in
                ContextualAttentionKernel.forward(p, f: ins[0].pointer, b: ins[1].pointer, mask: ins.count > 2 ? UnsafePointer(ins[2].pointer) : nil,
                                            batch: x[0], channels: x[1], fh: x[2], fw: x[3], bh: b[2], bw: b[3],
                                            y: y.pointer, argmax: argmax, scratch: scratch.map { UnsafeMutableRawPointer($0) }, threads: threads)
            }
        }
    }
}
