import NumpyIO
import TestSupport

extension Fixtures {
    /// A .npy under Tests/Fixtures.
    static func npy(_ relative: String) throws -> NpyArray { try Npy.read(path: fixture(relative)) }
}
