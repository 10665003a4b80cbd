// model.bin. An input that starts with FILLGRPH is decoded as given and again with its length,
// tensor, section and header checksums repaired. Any other input is taken as the GRPH section
// (the graph's JSON): it is laid out with the META, TIDX and TDAT sections of a template model
// (corpus/FuzzModel/tiny.model.bin, or FILLGRAPH_FUZZ_MODEL_TEMPLATE) in its format version with
// every checksum right, so the JSON decoder, the verifier and the weight check see it.
import Foundation
import FuzzSupport
import ModelFormat

let template: (sections: [(kind: String, bytes: [UInt8])], version: (major: UInt16, minor: UInt16))? = {
    let path = ProcessInfo.processInfo.environment["FILLGRAPH_FUZZ_MODEL_TEMPLATE"]
        ?? Paths.repository + "/Fuzz/corpus/FuzzModel/tiny.model.bin"
    guard let data = FileManager.default.contents(atPath: path), let model = try? ModelReader.decode([UInt8](data), path: path) else {
        FileHandle.standardError.write(Data("FuzzModel: no template model at \(path); JSON inputs are skipped\n".utf8))
        return nil
    }
    let bytes = [UInt8](data)
    return (model.sections.map { ($0.kind, Array(bytes[$0.offset..<($0.offset + $0.length)])) }, model.version)
}()

runFuzzer { data, size in
    let input = bytes(data, size)
    if input.starts(with: Array("FILLGRPH".utf8)) {
        _ = try? ModelReader.decode(input, path: "fuzz.bin")
        if let repaired = Repair.model(input) { _ = try? ModelReader.decode(repaired, path: "fuzz.bin") }
    } else if let template {
        let file = ModelBuilder.build(template.sections.map { $0.kind == "GRPH" ? ("GRPH", input) : $0 }, version: template.version)
        _ = try? ModelReader.decode(file, path: "fuzz.bin")
    }
    return 0
}
