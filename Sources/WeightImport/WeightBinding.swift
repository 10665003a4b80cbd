// Matching an opened weight file to the tensors a graph needs: pick the group that fits (the
// generator or the discriminator of a training checkpoint), rename, change layout, and apply
// the colour permutation of spec §7.5 so a BGR-trained network takes and gives RGB.

public struct WeightBinding {
    public var naming: Naming
    /// The group used ("G", "inpaint_net", ... or "" for a flat file).
    public var group: String
    /// By Fillgraph name; `load` returns values already in Fillgraph's layout.
    public var tensors: [String: SourceTensor]
    /// Fillgraph name → the name in the file, for messages.
    public var sourceNames: [String: String]
    /// Names in the file with no place in Fillgraph's naming.
    public var unmapped: [String]
    /// Optimiser slots, counters and constant buffers that were skipped.
    public var ignored: [String]
    /// Other groups in the file that were not used (e.g. "D" when compiling the generator).
    public var otherGroups: [String]
}

/// The layers that see image colours (spec §7.5): the input axis of each stage's and branch's
/// first convolution (and the discriminator's), the output axis of both RGB layers.
public enum ColourLayers {
    public static let inputs = ["conv1", "xconv1", "pmconv1"]
    public static let outputs = ["conv17", "allconv17"]
}

extension WeightFile {
    /// The colour order weights from this file expect unless the user says otherwise: the
    /// official TF networks were trained on BGR (OpenCV) images; the PyTorch port and Fillgraph
    /// files feed RGB.
    public var defaultColourOrder: ColourOrder { format == .tensorflow ? .bgr : .rgb }

    public func bind(wanted: Set<String>) throws -> WeightBinding {
        let bindings = try groups.map { try Self.bind($0, path: path, tensorflow: format == .tensorflow) }
        // The group that supplies most of what the graph needs (ties: the first, the generator).
        let scores = bindings.map { $0.tensors.keys.filter(wanted.contains).count }
        guard let best = scores.indices.max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }) else {
            throw ImportError(path, "the file holds no tensors")
        }
        var chosen = bindings[best]
        chosen.otherGroups = bindings.indices.filter { $0 != best && !bindings[$0].tensors.isEmpty }.map { bindings[$0].group }
        return chosen
    }

    private static func bind(_ group: TensorGroup, path: String, tensorflow: Bool) throws -> WeightBinding {
        let naming = tensorflow ? .tensorflow : NameMapping.detect(group.tensors.map(\.name))
        var out = WeightBinding(naming: naming, group: group.name, tensors: [:], sourceNames: [:], unmapped: [], ignored: [], otherGroups: [])
        for tensor in group.tensors {
            if NameMapping.isIgnorable(tensor.name, naming) { out.ignored.append(tensor.name); continue }
            guard let mapped = NameMapping.map(tensor.name, naming) else { out.unmapped.append(tensor.name); continue }
            if let previous = out.sourceNames[mapped.target] {
                throw ImportError(path, "both '\(previous)' and '\(tensor.name)' map to \(mapped.target)")
            }
            out.sourceNames[mapped.target] = tensor.name
            out.tensors[mapped.target] = try transformed(tensor, mapped.transform, path: path)
        }
        return out
    }

    private static func transformed(_ t: SourceTensor, _ transform: Transform, path: String) throws -> SourceTensor {
        switch transform {
        case .none:
            return t
        case .flatten:
            guard t.shape.count == 2, t.shape.contains(1) else { return t } // a wrong shape is reported by the shape check
            var flat = t
            flat.shape = [t.shape[0] * t.shape[1]]
            return flat
        case .hwioToOihw:
            guard t.shape.count == 4 else { return t }
            let (kh, kw, ci, co) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
            var out = t
            out.shape = [co, ci, kh, kw]
            out.load = {
                let src = try t.load()
                var dst = [Float](repeating: 0, count: src.count)
                for y in 0..<kh { for x in 0..<kw { for i in 0..<ci { for o in 0..<co {
                    dst[((o * ci + i) * kh + y) * kw + x] = src[((y * kw + x) * ci + i) * co + o]
                } } } }
                return dst
            }
            return out
        }
    }
}

extension WeightBinding {
    /// Reverses colour channels 0...2 of the colour layers, turning BGR-native weights into
    /// RGB-native ones (or back). Exact: every other operation is per channel or channel-agnostic.
    /// Returns the tensors it changed.
    public mutating func swapColourChannels() -> [String] {
        var changed: [String] = []
        for layer in ColourLayers.inputs {
            // An absurd shape is left for the shape check to report, not multiplied out here.
            guard let w = tensors[layer + ".weight"], w.shape.count == 4, w.shape[1] >= 3, checkedCount(w.shape) != nil else { continue }
            tensors[layer + ".weight"] = Self.reversed(w, axis: 1)
            changed.append(layer + ".weight")
        }
        for layer in ColourLayers.outputs {
            for suffix in [".weight", ".bias"] {
                guard let t = tensors[layer + suffix], t.shape.first == 3, checkedCount(t.shape) != nil else { continue }
                tensors[layer + suffix] = Self.reversed(t, axis: 0)
                changed.append(layer + suffix)
            }
        }
        return changed
    }

    /// Reverses indices 0, 1, 2 along `axis` (0 or 1) of a row-major tensor.
    private static func reversed(_ t: SourceTensor, axis: Int) -> SourceTensor {
        var out = t
        let outer = axis == 0 ? 1 : t.shape[0]
        let n = t.shape[axis]
        let inner = t.shape[(axis + 1)...].reduce(1, *)
        out.load = {
            var v = try t.load()
            for o in 0..<outer {
                let base = o * n * inner
                for j in 0..<inner {
                    v.swapAt(base + j, base + 2 * inner + j)
                }
            }
            return v
        }
        return out
    }
}
