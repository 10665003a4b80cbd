// A pickle reader that understands exactly what a PyTorch state dict needs and nothing more.
// Python's unpickler calls whatever a file names (GLOBAL + REDUCE is `os.system(...)` in two
// opcodes); this one never calls anything. It is a stack machine over plain values: the only
// globals it accepts are the handful torch.save writes for tensors, and "calling" one of them
// just builds a description (an empty dict, a tensor view of a storage). Any other global,
// opcode or callable stops the read with the opcode, its byte offset and the global's name.

public struct UnpickleError: Error {
    public var offset: Int
    public var message: String
}

public struct RestrictedUnpickler {
    /// The only callables a state dict needs.
    static let allowedGlobals = Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]
        + StorageType.allCases.map { "torch.\($0.rawValue)" })

    static let allowedSummary = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
        + "torch._utils._rebuild_parameter and the torch.*Storage types"

    // Bounds that keep a hostile file from exhausting memory through the machine itself.
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20
    static let maxTensorRank = 8

    private var reader: ByteReader
    private(set) var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// The lists, dicts and tuples taken off the stack, each held once until the load ends.
    /// Dropped where it is popped (POP, an opcode that fails, an argument that is ignored such as
    /// BUILD's state), a deep chain would be freed recursively and a list or dict that holds
    /// itself would leak, since only `release` takes cycles apart; so release walks these too.
    private var popped: [PickleValue] = []
    private var poppedIdentities = Set<UnsafeRawPointer>()
    private var opOffset = 0
    /// Every global the pickle named that passed the allowlist, in order.
    private var resolved: [String] = []

    init(_ bytes: [UInt8]) { reader = ByteReader(bytes) }

    /// The longest containment chain a loaded value may have (a state dict needs about 4).
    static let maxDepth = 64

    public static func load(_ bytes: [UInt8]) throws -> PickleValue {
        var resolved: [String] = []
        return try load(bytes, resolved: &resolved)
    }

    /// `load`, also reporting every global resolved (named and let through), whether or not the
    /// read then succeeds: what a test needs to show that a refused file resolved nothing.
    public static func load(_ bytes: [UInt8], resolved: inout [String]) throws -> PickleValue {
        var u = RestrictedUnpickler(bytes)
        defer { resolved = u.resolved }
        do { try u.run() } catch {
            u.release(except: [])
            throw error
        }
        // Values are freed recursively by Swift, so a value nested 100,000 deep would overflow
        // the stack when released: check the depth before handing the value out, and take apart
        // iteratively whatever is not handed out. (No copy of a deep root may outlive that.)
        guard let kept = Self.containers(u.stack[0], within: maxDepth) else {
            u.release(except: [])
            throw UnpickleError(offset: u.reader.offset, message: "values nested deeper than \(maxDepth) levels (or a container that holds itself)")
        }
        let root = u.stack[0]
        u.release(except: kept)
        return root
    }

    /// The lists and dicts reachable from `root`, or nil if some chain is longer than `limit`
    /// (a cycle is an endless chain). Iterative; a container or tuple is revisited only when
    /// reached by a longer chain, so the work is bounded by values × limit even when tuples share
    /// children (t = (t, t) forty times over has 2^40 paths but 41 values).
    static func containers(_ root: PickleValue, within limit: Int) -> Set<ObjectIdentifier>? {
        var best: [ObjectIdentifier: Int] = [:]
        var bestTuple: [UnsafeRawPointer: Int] = [:]
        var work: [(PickleValue, Int)] = [(root, 0)]
        while let (value, depth) = work.popLast() {
            guard depth <= limit else { return nil }
            switch value {
            case .tuple(let items):
                if let id = identity(items) {
                    if let seen = bestTuple[id], seen >= depth { continue }
                    bestTuple[id] = depth
                }
                for v in items { work.append((v, depth + 1)) }
            case .list(let l):
                let id = ObjectIdentifier(l)
                if let seen = best[id], seen >= depth { continue }
                best[id] = depth
                for v in l.items { work.append((v, depth + 1)) }
            case .dict(let d):
                let id = ObjectIdentifier(d)
                if let seen = best[id], seen >= depth { continue }
                best[id] = depth
                for (k, v) in d.items { work.append((k, depth + 1)); work.append((v, depth + 1)) }
            default: break
            }
        }
        return Set(best.keys)
    }

    /// A tuple's identity: the address of its element storage, which every copy of that tuple
    /// shares. Only meaningful while the tuple is alive, so callers keep what they visit alive.
    static func identity(_ items: [PickleValue]) -> UnsafeRawPointer? {
        items.isEmpty ? nil : items.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// Drops the stack, the memo and the popped values without recursion: each container's
    /// children are moved to a work list before it goes. Containers in `kept` (reachable from
    /// the value handed out) are left intact. Each tuple is visited once (shared tuples would
    /// otherwise be walked once per path) and held until the end, then dropped parents first
    /// (reverse post-order, whatever order the roots came in: the popped values include inner
    /// tuples of a chain whose head is still on the stack), so a tuple's children are still held
    /// when it is freed and no free recurses.
    private mutating func release(except kept: Set<ObjectIdentifier>) {
        var work: [(value: PickleValue, expanded: Bool)] = (stack + Array(memo.values) + popped).map { ($0, false) }
        stack = []
        memo = [:]
        popped = []
        poppedIdentities = []
        var tuples: [PickleValue] = []  // post-order: every tuple after the tuples it holds
        var seen = Set<UnsafeRawPointer>()
        while let (value, expanded) = work.popLast() {
            if expanded { tuples.append(value); continue }
            switch value {
            case .tuple(let items):
                guard let id = Self.identity(items), seen.insert(id).inserted else { continue }
                work.append((value, true))
                for v in items { work.append((v, false)) }
            case .list(let l) where !kept.contains(ObjectIdentifier(l)):
                for v in l.items { work.append((v, false)) }
                l.items = []
            case .dict(let d) where !kept.contains(ObjectIdentifier(d)):
                for (k, v) in d.items { work.append((k, false)); work.append((v, false)) }
                d.items = []
            default: break
            }
        }
        while tuples.popLast() != nil {}  // a parent before its children: each free is shallow
    }

    private func fail(_ message: String) -> UnpickleError { UnpickleError(offset: opOffset, message: message) }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("more than \(Self.maxStack) values on the pickle stack") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("pickle stack underflow") }
        hold(v)
        if let m = marks.last, stack.count < m { throw fail("pickle stack underflow past a MARK") }
        return v
    }

    /// Keeps a popped container or tuple for `release` (once, however often it is popped).
    private mutating func hold(_ v: PickleValue) {
        let id: UnsafeRawPointer?
        switch v {
        case .list(let l): id = UnsafeRawPointer(Unmanaged.passUnretained(l).toOpaque())
        case .dict(let d): id = UnsafeRawPointer(Unmanaged.passUnretained(d).toOpaque())
        case .tuple(let items): id = Self.identity(items)
        default: id = nil
        }
        if let id, poppedIdentities.insert(id).inserted { popped.append(v) }
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("no MARK to pop to") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        for v in items { hold(v) }
        return items
    }

    private mutating func string(_ count: Int) throws -> String {
        guard count <= reader.remaining else { throw fail("a string of \(count) bytes runs past the end") }
        let raw = try reader.take(count)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
        return s
    }

    private mutating func line() throws -> String {
        var raw: [UInt8] = []
        while true {
            let b = try reader.byte()
            if b == 0x0A { break }
            raw.append(b)
            if raw.count > 256 { throw fail("a GLOBAL name is longer than 256 bytes") }
        }
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("a GLOBAL name is not UTF-8") }
        return s
    }

    private mutating func memoPut(_ index: Int) throws {
        guard let top = stack.last else { throw fail("memo store with an empty stack") }
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw fail("more than \(Self.maxMemo) memo entries") }
        memo[index] = top
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let v = memo[index] else { throw fail("memo entry \(index) is read before it is written") }
        try push(v)
    }

    private mutating func global(module: String, name: String, opcode: String) throws {
        let full = "\(module).\(name)"
        guard Self.allowedGlobals.contains(full) else {
            throw fail("\(opcode) '\(module) \(name)' is not allowed; a state dict needs only \(Self.allowedSummary)")
        }
        resolved.append(full)
        try push(.global(module: module, name: name))
    }

    /// Runs to STOP, leaving the result as the stack's only value.
    mutating func run() throws {
        do {
            try loop()
        } catch let e as ByteReader.Overrun {
            throw UnpickleError(offset: e.offset, message: "the pickle ends in the middle of an opcode (truncated)")
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func loop() throws {
        while true {
            opOffset = reader.offset
            let op = try reader.byte()
            switch op {
            case 0x80: // PROTO
                let v = try reader.byte()
                guard v <= 5 else { throw fail("pickle protocol \(v) is newer than 5") }
            case 0x95: _ = try reader.take(8) // FRAME: framing only
            case 0x2E: // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return
            case 0x28: // MARK
                guard marks.count < Self.maxStack else { throw fail("more than \(Self.maxStack) open MARKs") }
                marks.append(stack.count)
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popToMark() // POP_MARK
            case 0x32: // DUP
                guard let top = stack.last else { throw fail("DUP with an empty stack") }
                try push(top)
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(try reader.int32()))) // BININT
            case 0x4B: try push(.int(Int(try reader.byte()))) // BININT1
            case 0x4D: try push(.int(Int(try reader.uint(2)))) // BININT2
            case 0x8A: // LONG1
                let n = Int(try reader.byte())
                guard n <= 8 else { throw fail("LONG1 integer of \(n) bytes is too large") }
                let raw = try reader.take(n)
                var v: UInt64 = 0
                for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                if n > 0 && n < 8 && raw.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) } // sign-extend
                try push(.int(Int(Int64(bitPattern: v))))
            case 0x47: // BINFLOAT, big-endian double
                let raw = try reader.take(8)
                var bits: UInt64 = 0
                for b in raw { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try string(Int(try reader.uint(4))))) // BINUNICODE
            case 0x8C: try push(.string(try string(Int(try reader.byte())))) // SHORT_BINUNICODE
            case 0x8D: // BINUNICODE8
                let n = try reader.uint(8)
                guard n <= UInt64(reader.remaining) else { throw fail("a string of \(n) bytes runs past the end") }
                try push(.string(try string(Int(n))))
            case 0x54: try push(.string(try string(Int(try reader.uint(4))))) // BINSTRING
            case 0x55: try push(.string(try string(Int(try reader.byte())))) // SHORT_BINSTRING
            case 0x42: // BINBYTES
                let n = Int(try reader.uint(4))
                try push(.bytes(Array(try reader.take(n))))
            case 0x43: try push(.bytes(Array(try reader.take(Int(try reader.byte()))))) // SHORT_BINBYTES
            case 0x29: try push(.tuple([])) // EMPTY_TUPLE
            case 0x74: try push(.tuple(try popToMark())) // TUPLE
            case 0x85: let a = try pop(); try push(.tuple([a])) // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple([a, b])) // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple([a, b, c])) // TUPLE3
            case 0x5D: try push(.list(PickleList())) // EMPTY_LIST
            case 0x6C: let l = PickleList(); l.items = try popToMark(); try push(.list(l)) // LIST
            case 0x61: // APPEND
                let v = try pop()
                guard case .list(let l)? = stack.last else { throw fail("APPEND to a \(stack.last?.typeName ?? "nothing")") }
                l.items.append(v)
            case 0x65: // APPENDS
                let items = try popToMark()
                guard case .list(let l)? = stack.last else { throw fail("APPENDS to a \(stack.last?.typeName ?? "nothing")") }
                l.items += items
            case 0x7D: try push(.dict(PickleDict())) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                let d = PickleDict()
                for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
                try push(.dict(d))
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEM on a \(stack.last?.typeName ?? "nothing")") }
                d.items.append((k, v))
            case 0x75: // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                guard case .dict(let d)? = stack.last else { throw fail("SETITEMS on a \(stack.last?.typeName ?? "nothing")") }
                for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
            case 0x71: try memoPut(Int(try reader.byte())) // BINPUT
            case 0x72: try memoPut(Int(try reader.uint(4))) // LONG_BINPUT
            case 0x94: try memoPut(memo.count) // MEMOIZE
            case 0x68: try memoGet(Int(try reader.byte())) // BINGET
            case 0x6A: try memoGet(Int(try reader.uint(4))) // LONG_BINGET
            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try global(module: module, name: name, opcode: "GLOBAL")
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else { throw fail("STACK_GLOBAL needs two strings") }
                try global(module: module, name: name, opcode: "STACK_GLOBAL")
            case 0x51: // BINPERSID
                try push(.storage(try persistent(try pop())))
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                try push(try reduce(callable, args))
            case 0x62: // BUILD: only the _metadata attribute torch.save attaches to state dicts
                let state = try pop()
                guard case .dict = stack.last, case .dict = state else {
                    throw fail("BUILD of a \(stack.last?.typeName ?? "nothing") with \(state.typeName) state is not allowed; "
                                + "a state dict only sets attributes of an OrderedDict")
                }
            default:
                throw fail("opcode \(Self.opcodeName(op)) is not allowed in a state dict")
            }
        }
    }

    private func persistent(_ pid: PickleValue) throws -> StorageRef {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0],
              case .global("torch", let typeName) = t[1], let dtype = StorageType(rawValue: typeName),
              case .string(let key) = t[2], case .int(let numel) = t[4], numel >= 0 else {
            throw fail("BINPERSID expects ('storage', torch.<Type>Storage, key, location, numel)")
        }
        guard !key.isEmpty, key.count <= 64, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw fail("storage key '\(key.prefix(64))' is not a plain name")
        }
        return StorageRef(dtype: dtype, key: key, numel: numel)
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            throw fail("REDUCE of a \(callable.typeName), which is not a callable this reader allows")
        }
        guard case .tuple(let a) = args else { throw fail("REDUCE \(module).\(name) with \(args.typeName) arguments") }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw fail("OrderedDict(...) with arguments is not allowed") }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            return .tensor(try rebuildTensor(a))
        case "torch._utils._rebuild_parameter":
            guard a.count == 3, case .tensor(let t) = a[0] else { throw fail("_rebuild_parameter expects (tensor, requires_grad, hooks)") }
            return .tensor(t)
        default:
            throw fail("REDUCE of '\(module) \(name)' is not allowed")
        }
    }

    private func rebuildTensor(_ a: [PickleValue]) throws -> TensorRef {
        guard a.count >= 4, case .storage(let storage) = a[0], case .int(let offset) = a[1],
              case .tuple(let sizeValues) = a[2], case .tuple(let strideValues) = a[3] else {
            throw fail("_rebuild_tensor_v2 expects (storage, offset, size, stride, ...)")
        }
        let shape = try sizeValues.map { v -> Int in
            guard case .int(let n) = v, n >= 0, n <= Int(Int32.max) else { throw fail("tensor size \(v.typeName) is not a non-negative int") }
            return n
        }
        let strides = try strideValues.map { v -> Int in
            guard case .int(let n) = v, n >= 0, n <= Int(Int32.max) else { throw fail("tensor stride is not a non-negative int") }
            return n
        }
        guard shape.count == strides.count, shape.count <= Self.maxTensorRank else {
            throw fail("tensor with \(shape.count) sizes and \(strides.count) strides")
        }
        guard offset >= 0 else { throw fail("negative storage offset \(offset)") }
        guard offset <= 1 << 40 else { throw fail("storage offset \(offset) is absurd") }
        return TensorRef(storage: storage, offset: offset, shape: shape, strides: strides)
    }

    static func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2",
            0x84: "EXT4", 0x49: "INT", 0x4C: "LONG", 0x8B: "LONG4", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE",
            0x67: "GET", 0x70: "PUT", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
            0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]
        let hex = "0x" + String(op, radix: 16, uppercase: true)
        return names[op].map { "\($0) (\(hex))" } ?? "\(hex)"
    }
}
