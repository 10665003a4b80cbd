// .npy arrays: the header parser alone, then the full decode.
import FuzzSupport
import NumpyIO

runFuzzer { data, size in
    let input = bytes(data, size)
    _ = try? Npy.header(input, name: "fuzz.npy")
    _ = try? Npy.decode(input, name: "fuzz.npy")
    return 0
}
