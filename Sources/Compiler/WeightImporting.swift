// Turning a weight file into the model's tensors: open it by content, bind its names to the
// graph's, refuse weights trained under other conventions than the graph reproduces, apply the
// colour order, then check every shape and value. Everything the user should know (format,
// naming, colour decision, skipped tensors) comes back as notes that graphc prints.
import Foundation
import SafeIO
import GraphIR
import ModelFormat
import WeightImport

public enum WeightImporting {
    public struct Result {
        public var tensors: [Tensor]
        var description: String
        var notes: [String]
    }

    public static func tensors(path: String, colour: ColourOrder?, typed: TypedGraph, conventions: String, graphPath: String) throws -> Result {
        do {
            return try run(path: path, colour: colour, typed: typed, conventions: conventions, graphPath: graphPath)
        } catch let e as ImportError {
            throw CompileError(e.description)
        }
    }

    /// A model.bin is a weight file too (its tensors carry Fillgraph's names), so a shipped model
    /// can be recompiled with another graph version or storage type.
    static func open(_ path: String) throws -> (file: WeightFile, provenance: String?, conventions: String?) {
        // Peek without blocking (a FIFO is refused, not waited on); WeightFile.open explains errors.
        guard let raw = try? SafeFile(path, what: "a weight file"), let head = try? raw.read(at: 0, count: min(8, raw.size)),
              head == ModelLayout.magic else { return (try WeightFile.open(path), nil, nil) }
        let model: Model
        let bytes: [UInt8]
        do {
            bytes = try raw.readAll(limit: ModelReader.maxFileBytes, what: "model file")
            model = try ModelReader.decode(bytes, path: path).model
        } catch let e as ModelFormatError { throw CompileError(e.description) } catch let e as FileAccessError { throw CompileError(e.description) }
        let tensors = model.tensors.map { t in SourceTensor(name: t.name, shape: t.shape, dtype: t.storage.name) { t.values } }
        return (WeightFile(path: path, format: .model, groups: [TensorGroup(name: "", tensors: tensors)], contents: Data(bytes)),
                model.metadata.weights, model.metadata.conventions)
    }

    private static func run(path: String, colour: ColourOrder?, typed: TypedGraph, conventions: String, graphPath: String) throws -> Result {
        let (file, provenance, sourceConventions) = try open(path)
        let specs = typed.parameters
        var binding = try file.bind(wanted: Set(specs.map(\.name)))
        try checkConventions(binding.naming, conventions, source: sourceConventions, path: path, graphPath: graphPath)

        let group = binding.group.isEmpty ? "" : file.format == .tensorflow ? " (scope '\(binding.group)/')" : " (entry '\(binding.group)')"
        var notes = ["\(path): \(file.format.rawValue)\(group) with \(binding.naming.summary)"]
        if !binding.otherGroups.isEmpty {
            notes.append("\(path): not used: \(binding.otherGroups.map { "'\($0)'" }.joined(separator: ", "))")
        }
        if !binding.ignored.isEmpty {
            notes.append("\(path): skipped \(binding.ignored.count) tensors that are not weights (optimiser slots, counters, constant buffers)")
        }
        let order = colour ?? file.defaultColourOrder
        let why = colour != nil ? "as given" : file.format == .tensorflow
            ? "the default for a TensorFlow checkpoint: the official networks were trained on BGR images"
            : "the default for a \(file.format.rawValue): used as stored"
        if order == .bgr {
            let changed = binding.swapColourChannels()
            notes.append("colour order: bgr (\(why)); reversed the colour channels of \(changed.joined(separator: ", ")) "
                         + "so the model takes and gives RGB; pass --channel-order rgb to keep them as stored")
        } else {
            notes.append("colour order: rgb (\(why)); pass --channel-order bgr for weights trained on BGR images")
        }

        var mismatch = typed.checkWeights(binding.tensors.mapValues(\.shape), source: path)
        mismatch.unexpected = mismatch.unexpected.map { name in
            binding.sourceNames[name].map { $0 == name ? name : "\(name) (from '\($0)')" } ?? name
        } + binding.unmapped.map { "'\($0)' (no Fillgraph name for it under \(binding.naming.rawValue) naming)" }
        for i in mismatch.misshaped.indices {
            let name = mismatch.misshaped[i].name
            if let original = binding.sourceNames[name], original != name { mismatch.misshaped[i].name = "\(name) (from '\(original)')" }
        }
        guard mismatch.isEmpty else { throw CompileError(mismatch.description) }

        var tensors: [Tensor] = []
        for p in specs {
            let name = p.name
            let values = try binding.tensors[name]!.load()
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CompileError("\(path): \(binding.sourceNames[name] ?? name) holds a non-finite value (\(values[bad])) at element \(bad)")
            }
            tensors.append(Tensor(name: name, shape: p.shape!, values: values))
        }
        let hash = file.contents.map { data in data.withUnsafeBytes { XXHash64.hex(XXHash64.hash($0)) } }
        let description = "\((path as NSString).lastPathComponent) (\(file.format.rawValue), \(binding.naming.rawValue) names, "
            + "colour \(order.rawValue)" + (hash.map { ", xxh64 \($0)" } ?? "") + ")"
            + (provenance.map { ", whose weights are \($0)" } ?? "")
        return Result(tensors: tensors, description: description, notes: notes)
    }

    /// The port's own model (networks.py) was fine-tuned with symmetric padding and floor
    /// resizing; its weights are only right in a graph that reproduces those conventions, and
    /// official-convention weights only in one that does not.
    private static func checkConventions(_ naming: Naming, _ conventions: String, source: String?, path: String, graphPath: String) throws {
        let graph = (graphPath as NSString).lastPathComponent
        // Fillgraph's own names say nothing of conventions: an .npz under them holds official
        // weights (the oracle's, Fillgraph's exports); a model.bin records its own.
        if naming == .fillgraph {
            let theirs = source ?? "official"
            guard theirs == conventions else {
                let right = theirs == "pytorch_port" ? "Graphs/deepfill_v2_port.yaml" : "Graphs/deepfill_v2.yaml"
                throw CompileError("""
                    \(path): these weights were trained under the \(theirs == "official" ? "official TensorFlow" : "PyTorch port's") \
                    padding and resize conventions\(source == nil ? " (Fillgraph's names in an .npz mean the official ones)" : ""); \
                    \(graph) follows \(conventions == "pytorch_port" ? "the PyTorch port's model/networks.py" : "the official") conventions \
                    and would give different pixels
                      hint: compile \(right) instead
                    """)
            }
        }
        if naming == .portPT && conventions != "pytorch_port" {
            throw CompileError("""
                \(path): these are weights of \(naming.summary), fine-tuned under that model's own padding and resize \
                conventions; \(graph) follows the official TensorFlow conventions and would give different pixels
                  hint: compile Graphs/deepfill_v2_port.yaml instead, which reproduces the port's conventions
                """)
        }
        if (naming == .tensorflow || naming == .portTF) && conventions == "pytorch_port" {
            throw CompileError("""
                \(path): these weights follow the official TensorFlow conventions (\(naming.summary)); \(graph) \
                reproduces the PyTorch port's model/networks.py conventions instead
                  hint: compile Graphs/deepfill_v2.yaml
                """)
        }
    }
}
