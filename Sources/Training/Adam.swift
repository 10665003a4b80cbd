// Adam (Kingma & Ba), as TensorFlow's AdamOptimizer applies it: bias-corrected step size
// lr·√(1−β₂ᵗ)/(1−β₁ᵗ) and ε added to √v. One instance per network; moments by parameter name.
import Foundation

public struct Adam {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public private(set) var step = 0
    public private(set) var m: [String: [Float]] = [:]
    public private(set) var v: [String: [Float]] = [:]

    public init(learningRate: Double = 1e-4, beta1: Double = 0.5, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// The state a checkpoint saved.
    public mutating func restore(step: Int, m: [String: [Float]], v: [String: [Float]]) {
        self.step = step
        self.m = m
        self.v = v
    }

    /// Starts a step: call once, then `apply` for every parameter.
    public mutating func beginStep() { step += 1 }

    /// Updates one parameter in place (`values` has `gradient.count` floats) for the current step.
    public mutating func apply(_ name: String, values w: UnsafeMutablePointer<Float>, gradient g: [Float]) {
        let t = Double(step)
        let rate = Float(learningRate * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t)))
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        var mm = m.removeValue(forKey: name) ?? [Float](repeating: 0, count: g.count)
        var vv = v.removeValue(forKey: name) ?? [Float](repeating: 0, count: g.count)
        for i in 0..<g.count {
            mm[i] = b1 * mm[i] + (1 - b1) * g[i]
            vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i]
            w[i] -= rate * mm[i] / (vv[i].squareRoot() + eps)
        }
        m[name] = mm
        v[name] = vv
    }

    /// New values of every parameter from its gradient (one step; `apply` on copies).
    public mutating func update(_ values: [String: [Float]], gradients: [String: [Float]]) -> [String: [Float]] {
        beginStep()
        var out: [String: [Float]] = [:]
        for (name, g) in gradients {
            var w = values[name]!
            w.withUnsafeMutableBufferPointer { apply(name, values: $0.baseAddress!, gradient: g) }
            out[name] = w
        }
        return out
    }
}
