import TestSupport
import WeightImport
import XCTest

/// The restricted unpickler reads state dicts and refuses, by opcode and global, everything a
/// hostile pickle could use to run code.
final class UnpicklerTests: XCTestCase {
    /// Pickle bytes written as a string of code points below 256 (so "\u{80}" is the byte 0x80).
    static func bytes(_ s: String) -> [UInt8] { s.unicodeScalars.map { UInt8($0.value) } }

    /// The globals a state dict may name, written out here rather than read from the reader.
    static let allowlist: Set<String> = ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                                         "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
                                         "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
                                         "torch.ByteStorage", "torch.BoolStorage"]

    func refusal(_ pickle: [UInt8], resolved: inout [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let v = try RestrictedUnpickler.load(pickle, resolved: &resolved)
            XCTFail("accepted: \(v.typeName)", file: file, line: line)
            return ""
        } catch let e as UnpickleError {
            return "byte \(e.offset): \(e.message)"
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return ""
        }
    }

    func refusal(_ pickle: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        var resolved: [String] = []
        return refusal(pickle, resolved: &resolved, file: file, line: line)
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
        var resolved = ["sentinel"]
        let m = refusal(Self.bytes("\u{80}\u{02}cposix\nsystem\nq\u{00}X\u{02}\u{00}\u{00}\u{00}lsq\u{01}\u{85}R."), resolved: &resolved)
        XCTAssertTrue(m.contains("GLOBAL 'posix system' is not allowed"), m)
        XCTAssertEqual(resolved, [], "refused at the GLOBAL: nothing resolved")
        // protocol 4 spelling: STACK_GLOBAL of two strings
        var p: [UInt8] = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93]
        p += [0x8C, 1] + Array("1".utf8) + [0x85, 0x52, 0x2E]
        let m2 = refusal(p, resolved: &resolved)
        XCTAssertTrue(m2.contains("STACK_GLOBAL 'builtins eval' is not allowed"), m2)
        XCTAssertTrue(m2.hasPrefix("byte 18:"), m2)
        XCTAssertEqual(resolved, [])
        // A state dict resolves exactly the globals it names, in order.
        _ = try? RestrictedUnpickler.load(Self.tensorDict, resolved: &resolved)
        XCTAssertEqual(resolved, ["torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "collections.OrderedDict"])
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

    /// Each opcode of tensorDict with its end and the global it names, by a walk written here
    /// for the opcodes that pickle uses (independent of the reader).
    static func opcodes(_ p: [UInt8]) -> [(offset: Int, end: Int, global: String?)] {
        var out: [(offset: Int, end: Int, global: String?)] = [], i = 0
        while i < p.count {
            var end = i + 1, global: String?
            switch p[i] {
            case 0x80, 0x71, 0x4B: end += 1  // PROTO, BINPUT, BININT1
            case 0x58: end += 4 + (0..<4).reduce(0) { $0 | Int(p[i + 1 + $1]) << (8 * $1) }  // BINUNICODE
            case 0x63:  // GLOBAL module\nname\n
                let m = p[end...].firstIndex(of: 0x0A)!, n = p[(m + 1)...].firstIndex(of: 0x0A)!
                global = String(decoding: p[end..<m], as: UTF8.self) + "." + String(decoding: p[(m + 1)..<n], as: UTF8.self)
                end = n + 1
            case 0x7D, 0x28, 0x74, 0x51, 0x86, 0x89, 0x29, 0x52, 0x75, 0x2E: break
            default: preconditionFailure("opcode \(p[i]) is not one tensorDict uses")
            }
            out.append((i, end, global))
            i = end
        }
        return out
    }

    /// Damage whose outcome is known: every cut is refused as cut short, a forbidden opcode or a
    /// code-running global put in place of any opcode is refused at exactly that byte, and in
    /// each case only the globals named before the damage were resolved.
    func testDamageWithAKnownOutcome() {
        let good = Self.tensorDict, ops = Self.opcodes(good)
        XCTAssertEqual(ops.last?.end, good.count)
        XCTAssertEqual(ops.compactMap(\.global), ["torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "collections.OrderedDict"])
        var resolved: [String] = []
        for cut in 0..<good.count {
            // A cut inside a string's bytes is caught by the string's length; any other by the read.
            var expected = ": the pickle ends in the middle of an opcode (truncated)"
            if let op = ops.first(where: { $0.offset + 5 <= cut && cut < $0.end }), good[op.offset] == 0x58 {
                expected = "byte \(op.offset): a string of \(op.end - op.offset - 5) bytes runs past the end"
            }
            let m = refusal(Array(good.prefix(cut)), resolved: &resolved)
            XCTAssertTrue(m.hasSuffix(expected), "cut at \(cut): \(m)")
            XCTAssertEqual(resolved, ops.filter { $0.end <= cut }.compactMap(\.global), "cut at \(cut)")
        }
        let forbidden: [(UInt8, String)] = [(0x81, "NEWOBJ (0x81)"), (0x69, "INST (0x69)"), (0x6F, "OBJ (0x6F)"), (0x92, "NEWOBJ_EX (0x92)")]
        for (k, op) in ops.enumerated() {
            var p = good
            let (byte, name) = forbidden[k % forbidden.count]
            p[op.offset] = byte
            XCTAssertEqual(refusal(p, resolved: &resolved), "byte \(op.offset): opcode \(name) is not allowed in a state dict")
            XCTAssertEqual(resolved, ops.prefix(k).compactMap(\.global), "opcode \(k) at byte \(op.offset)")
        }
        for (k, op) in ops.enumerated() where op.global != nil {
            let p = Array(good[..<op.offset]) + Array("cposix\nsystem\n".utf8) + Array(good[op.end...])
            XCTAssertTrue(refusal(p, resolved: &resolved).hasPrefix("byte \(op.offset): GLOBAL 'posix system' is not allowed"))
            XCTAssertEqual(resolved, ops.prefix(k).compactMap(\.global), "global at byte \(op.offset)")
        }
    }

    /// Seeded random damage to a real state-dict pickle: every outcome is a value or an
    /// UnpickleError (never a crash or another error), no global outside the allowlist is ever
    /// resolved, and undamaged or merely cut inputs give exactly the known answers.
    func testSurvivesSeededMutations() throws {
        var rng = SeededRandom(seed: 3000)
        let good = Self.tensorDict
        var refused = 0, unchanged = 0, cutOnly = 0
        for round in 0..<3000 {
            var p = good
            for _ in 0..<rng.int(1...4) { p[rng.int(0...p.count - 1)] = UInt8(rng.int(0...255)) }
            let damaged = p != good
            let cut = rng.bool() ? rng.int(0...p.count - 1) : 0
            p.removeLast(cut)
            let what = "round \(round) (\(rng)): \(p.map { String($0, radix: 16) }.joined(separator: " "))"
            var resolved: [String] = []
            do {
                let v = try RestrictedUnpickler.load(p, resolved: &resolved)
                XCTAssertTrue(damaged || cut == 0, "a cut pickle was accepted as \(v.typeName): \(what)")
                if !damaged && cut == 0 { unchanged += 1 }
            } catch let e as UnpickleError {
                refused += 1
                XCTAssertTrue((0...p.count).contains(e.offset), "offset \(e.offset) outside the input: \(what)")
                XCTAssertTrue(damaged || cut > 0, "the undamaged pickle was refused: \(e.message)")
                if !damaged && cut > 0 {
                    cutOnly += 1
                    XCTAssertTrue(e.message == "the pickle ends in the middle of an opcode (truncated)" || e.message.hasSuffix("bytes runs past the end"),
                                  "\(e.message): \(what)")
                }
            }
            XCTAssertTrue(Set(resolved).isSubset(of: Self.allowlist), "resolved \(resolved): \(what)")
        }
        print("unpickler mutations (seed 3000): \(refused) refused, \(unchanged) unchanged and read, \(cutOnly) only cut and refused")
        XCTAssertGreaterThan(refused, 2000, "seed 3000")
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
