// YAML graphs: loaded as if they were Graphs/fuzz-input.yaml (so `extends: deepfill_v2.yaml`
// reaches the shipped graphs), then verified symbolically and, if that passes, with every
// size symbol bound to a concrete value.
import FuzzSupport
import GraphIR
import GraphYAML

let file = Paths.repository + "/Graphs/fuzz-input.yaml"

runFuzzer { data, size in
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    guard let loaded = try? GraphLoader.load(text: text, file: file),
          (try? Verifier.verify(loaded.graph)) != nil else { return 0 }
    var bindings = ["N": 1]
    for s in loaded.graph.symbols where (1...4096).contains(s.multipleOf) { bindings[s.name] = s.multipleOf * max(1, 64 / s.multipleOf) }
    _ = try? Verifier.verify(loaded.graph, bindings: bindings)
    return 0
}
