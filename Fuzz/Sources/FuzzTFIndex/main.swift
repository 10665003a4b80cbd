// TensorFlow bundle indexes (LevelDB tables): the table reader on the bytes as given and with
// every block checksum repaired; then the repaired index is written next to a fixed 4 KiB data
// shard and opened as a checkpoint (BundleEntryProto parsing, shard bounds, CRC-32C, dtypes),
// loading every tensor. The shard's byte i is (37·i + 11) mod 256, which the seed
// corpus/FuzzTFIndex/matches_fuzz_shard.index (make_hostile_corpus.py --seeds) is written against.
import FuzzSupport
import WeightImport

let shard = ScratchFiles.write((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }, name: "ckpt.data-00000-of-00001")

runFuzzer { data, size in
    let input = bytes(data, size)
    _ = try? TensorBundle.readTable(input, path: "fuzz.index")
    let repaired = Repair.levelDB(input)
    if let repaired { _ = try? TensorBundle.readTable(repaired, path: "fuzz.index") }
    let path = ScratchFiles.write(repaired ?? input, name: "ckpt.index")
    if let file = try? WeightFile.open(path) {
        for g in file.groups { for t in g.tensors { _ = try? t.load() } }
    }
    return 0
}
