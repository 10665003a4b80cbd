import WeightImport
import XCTest

/// The restricted unpickler reads state dicts and refuses, by opcode and global, everything a
/// hostile pickle could use to run code.
final class UnpicklerTests: XCTestCase {
    /// Pickle bytes written as a string of code points below 256 (so "\u{80}" is the byte 0x80).
    static func bytes(_ s: String) -> [UInt8] { s.unicodeScalars.map { UInt8($0.value) } }

    func refusal(_ pickle: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let v = try RestrictedUnpickler.load(pickle)
            XCTFail("accepted: \(v.typeName)", file: file, line: line)
            return ""
        } catch let e as UnpickleError {
            return "byte \(e.offset): \(e.message)"
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return ""
        }
    }

    /// A one-tensor state dict as torch.save writes it (protocol 2), assembled by hand.
    static let tensorDict: [UInt8] = {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28] // PROTO 2, EMPTY_DICT, BINPUT 0, MARK
        func unicode(_ s: String) { p += [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8) }
        unicode("w")
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8)
        p += [0x28, 0x28] // MARK MARK
        unicode("storage")
        p += Array("ctorch\nFloatStorage\n".utf8)
        unicode("0")
        unicode("cpu")
        p += [0x4B, 6, 0x74, 0x51] // BININT1 6, TUPLE, BINPERSID
        p += [0x4B, 0] // offset 0
        p += [0x4B, 2, 0x4B, 3, 0x86] // size (2, 3)
        p += [0x4B, 3, 0x4B, 1, 0x86] // stride (3, 1)
        p += [0x89] // requires_grad False
        p += Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52] // OrderedDict()
        p += [0x74, 0x52] // TUPLE, REDUCE
        p += [0x75, 0x2E] // SETITEMS, STOP
        return p
    }()

    func testReadsAStateDict() throws {
        guard case .dict(let d) = try RestrictedUnpickler.load(Self.tensorDict) else { return XCTFail("not a dict") }
        XCTAssertEqual(d.items.count, 1)
        guard case .string("w") = d.items[0].key, case .tensor(let t) = d.items[0].value else { return XCTFail("not w → tensor") }
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t.strides, [3, 1])
        XCTAssertEqual(t.storage.numel, 6)
        XCTAssertEqual(t.storage.dtype, .float)
        XCTAssertEqual(t.storage.key, "0")
    }

    func testRefusesGlobalsThatRunCode() {
        // pickle.dumps(os.system-calling object, protocol=2): GLOBAL 'posix system'
        let m = refusal(Self.bytes("\u{80}\u{02}cposix\nsystem\nq\u{00}X\u{02}\u{00}\u{00}\u{00}lsq\u{01}\u{85}R."))
        XCTAssertTrue(m.contains("GLOBAL 'posix system' is not allowed"), m)
        // protocol 4 spelling: STACK_GLOBAL of two strings
        var p: [UInt8] = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93]
        p += [0x8C, 1] + Array("1".utf8) + [0x85, 0x52, 0x2E]
        let m2 = refusal(p)
        XCTAssertTrue(m2.contains("STACK_GLOBAL 'builtins eval' is not allowed"), m2)
        XCTAssertTrue(m2.hasPrefix("byte 18:"), m2)
    }

    func testRefusesReduceOfNonCallablesAndObjectOpcodes() {
        XCTAssertTrue(refusal(Self.bytes("\u{80}\u{02}X\u{01}\u{00}\u{00}\u{00}a)R.")).contains("REDUCE of a str"))
        XCTAssertTrue(refusal([0x80, 0x02, 0x29, 0x29, 0x81, 0x2E]).contains("opcode NEWOBJ (0x81) is not allowed"))
        XCTAssertTrue(refusal(Self.bytes("(iposix\nsystem\n.")).contains("opcode INST (0x69)"))
        XCTAssertTrue(refusal(Self.bytes("\u{80}\u{02}ccollections\nOrderedDict\n)R]b.")).contains("BUILD of a dict with list state"))
        // OrderedDict with arguments would copy arbitrary items: refused
        XCTAssertTrue(refusal(Self.bytes("\u{80}\u{02}ccollections\nOrderedDict\n]\u{85}R.")).contains("OrderedDict(...) with arguments"))
    }

    func testRejectsMalformedStructure() {
        XCTAssertTrue(refusal([0x80, 0x02, 0x7D]).contains("truncated"))
        XCTAssertTrue(refusal([0x80, 0x02, 0x68, 0x05, 0x2E]).contains("memo entry 5 is read before it is written"))
        XCTAssertTrue(refusal([0x80, 0x02, 0x30, 0x2E]).contains("underflow"))
        XCTAssertTrue(refusal([0x80, 0x02, 0x4E, 0x4E, 0x2E]).contains("STOP with 2 values"))
        XCTAssertTrue(refusal([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]).contains("runs past the end"))
        XCTAssertTrue(refusal([0x80, 0x09, 0x2E]).contains("protocol 9"))
        // a tensor view beyond its storage is caught later, by TorchCheckpoint; a negative offset here
        var p = Self.tensorDict
        let at = p.firstIndex(of: 0x51)! + 1 // after BINPERSID: the offset's BININT1 0 → BININT -1
        XCTAssertEqual(Array(p[at..<(at + 2)]), [0x4B, 0])
        p.replaceSubrange(at..<(at + 2), with: [0x4A, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertTrue(refusal(p).contains("negative storage offset"))
    }

    /// Deep or long inputs are bounded: a million MARKs is refused, not a crash or a hang.
    func testBoundsStackGrowth() {
        let p: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 1 << 21) + [0x2E]
        XCTAssertTrue(refusal(p).contains("MARK"))
    }

    /// Random damage to a real state-dict pickle never crashes the reader.
    func testSurvivesMutations() throws {
        var rng = SystemRandomNumberGenerator()
        var accepted = 0, refused = 0
        for _ in 0..<3000 {
            var p = Self.tensorDict
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { p.removeLast(Int.random(in: 0..<p.count, using: &rng)) }
            do { _ = try RestrictedUnpickler.load(p); accepted += 1 } catch is UnpickleError { refused += 1 }
        }
        XCTAssertEqual(accepted + refused, 3000)
        XCTAssertGreaterThan(refused, 2000)
    }
}

/// Tensor headers that would overflow size arithmetic are refused, not trapped on.
final class AbsurdTensorTests: XCTestCase {
    func testHugeOffsetIsRefused() {
        var p = UnpicklerTests.tensorDict
        let at = p.firstIndex(of: 0x51)! + 1  // the offset's BININT1 0 → LONG1 2^62
        p.replaceSubrange(at..<(at + 2), with: [0x8A, 8, 0, 0, 0, 0, 0, 0, 0, 0x40])
        do { _ = try RestrictedUnpickler.load(p); XCTFail("accepted") } catch let e as UnpickleError {
            XCTAssertTrue(e.message.contains("storage offset 4611686018427387904 is absurd"), e.message)
        } catch { XCTFail("\(error)") }
    }
}
