// Zip archives (.npz, PyTorch .pth): the bytes are written to a tmpfs file; SafeIO's reader
// lists the entries and extracts each (limit 16 MiB), then the weight-file reader opens the
// same file by content (npz or torch) and loads every tensor.
import FuzzSupport
import SafeIO
import WeightImport

runFuzzer { data, size in
    let path = ScratchFiles.write(bytes(data, size), name: "input.zip")
    if let archive = try? ZipArchive(path: path) {
        for e in archive.entries { _ = try? archive.extract(e, limit: 1 << 24) }
    }
    if let file = try? WeightFile.open(path) {
        for g in file.groups { for t in g.tensors { _ = try? t.load() } }
    }
    return 0
}
