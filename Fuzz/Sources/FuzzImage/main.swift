// Photos and masks: PNG and JPEG by content through ImageFile.decode (maxPixels 2^22), a PNG
// again with its chunk CRCs repaired, and the header-only reader graphrun budgets memory with.
import FuzzSupport
import ImageIO

runFuzzer { data, size in
    let input = bytes(data, size)
    _ = try? ImageFile.decode(input, name: "fuzz.img", maxPixels: 1 << 22)
    if let repaired = Repair.png(input) { _ = try? ImageFile.decode(repaired, name: "fuzz.png", maxPixels: 1 << 22) }
    _ = try? ImageFile.header(path: ScratchFiles.write(input, name: "image"))
    return 0
}
