// The restricted unpickler on raw pickle bytes; a pickle it accepts is also wrapped as the
// data.pkl of a PyTorch zip (with a few float storages) and read as a checkpoint, so tensor
// views, strides and storage references are exercised too.
import FuzzSupport
import WeightImport

/// A stored (uncompressed) zip, as torch.save lays it out.
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    var out: [UInt8] = [], central: [UInt8] = []
    for (name, data) in entries {
        let n = Array(name.utf8), crc = Int(CRC.crc32(data)), at = out.count
        out += le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.count, 4) + le(data.count, 4)
        out += le(n.count, 2) + le(0, 2) + n + data
        central += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4)
        central += le(data.count, 4) + le(data.count, 4) + le(n.count, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(at, 4) + n
    }
    let cd = out.count
    out += central + le(0x0605_4B50, 4) + le(0, 4) + le(entries.count, 2) + le(entries.count, 2) + le(central.count, 4) + le(cd, 4) + le(0, 2)
    return out
}

/// Storages "0" … "3": 16, 64, 256 and 1024 bytes.
let storages: [(String, [UInt8])] = (0..<4).map { k in
    ("archive/data/\(k)", (0..<(16 << (2 * k))).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
}

runFuzzer { data, size in
    let input = bytes(data, size)
    guard (try? RestrictedUnpickler.load(input)) != nil else { return 0 }
    let path = ScratchFiles.write(storedZip([("archive/data.pkl", input), ("archive/byteorder", Array("little".utf8))] + storages), name: "checkpoint.pth")
    if let file = try? WeightFile.open(path) {
        for g in file.groups { for t in g.tensors { _ = try? t.load() } }
    }
    return 0
}
