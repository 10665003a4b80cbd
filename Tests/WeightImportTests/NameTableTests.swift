import Foundation
import TestSupport
import WeightImport
import XCTest

/// Docs/import.md's mapping table is the importer's: every row maps back to its Fillgraph name.
final class NameTableTests: XCTestCase {
    func testTheDocumentedTableIsTheImplementedOne() throws {
        let rows = try String(contentsOfFile: Fixtures.file("Docs/import.md"), encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("| `") && $0.contains("inpaint_net/") }
            .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) } }
        XCTAssertEqual(rows.count, 42)
        for row in rows {
            let (node, tf, portTF, portPT) = (row[0], row[1], row[2], row[3])
            XCTAssertEqual(Naming.tensorflow.fillgraphName(for: tf + "/kernel"), node + ".weight")
            XCTAssertEqual(Naming.tensorflow.fillgraphName(for: tf + "/bias"), node + ".bias")
            XCTAssertEqual(Naming.portTF.fillgraphName(for: portTF + ".weight"), node + ".weight")
            XCTAssertEqual(Naming.portPT.fillgraphName(for: portPT + ".weight"), node + ".weight")
            XCTAssertEqual(Naming.portPT.fillgraphName(for: portPT + ".bias"), node + ".bias")
        }
        XCTAssertEqual(Naming.tensorflow.fillgraphName(for: "discriminator/sn_patch_gan/conv3/kernel_sn/u"), "conv3.u")
        XCTAssertEqual(Naming.portTF.fillgraphName(for: "conv2.conv_sn.parametrizations.weight.0._u"), "conv2.u")
        XCTAssertNil(Naming.portPT.fillgraphName(for: "stage3.conv1.conv.weight"))
    }
}
