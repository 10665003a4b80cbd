// The values RestrictedUnpickler builds: plain data, tensor descriptions, never live objects.

/// A decoded pickle value. Dicts and lists are reference types because pickle mutates them in
/// place after memoising them (SETITEMS after BINPUT).
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    /// A storage named by a persistent id: ('storage', type, key, location, numel).
    case storage(StorageRef)
    case tensor(TensorRef)

    public var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let m, let n): return "\(m).\(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

public final class PickleList { public var items: [PickleValue] = [] }

public final class PickleDict {
    public var items: [(key: PickleValue, value: PickleValue)] = []
}

public struct StorageRef {
    public var dtype: StorageType
    public var key: String
    public var numel: Int
}

public struct TensorRef {
    public var storage: StorageRef
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]
}

/// The element types torch.save names through `torch.<Type>Storage`.
public enum StorageType: String, CaseIterable {
    case float = "FloatStorage", double = "DoubleStorage", half = "HalfStorage", bfloat16 = "BFloat16Storage"
    case long = "LongStorage", int = "IntStorage", short = "ShortStorage", char = "CharStorage"
    case byte = "ByteStorage", bool = "BoolStorage"

    var elementSize: Int {
        switch self {
        case .double, .long: return 8
        case .float, .int: return 4
        case .half, .bfloat16, .short: return 2
        case .char, .byte, .bool: return 1
        }
    }
}
