import Foundation
import Testing
@testable import Experiments

/// The specs under examples/ are what users run first: each must parse and validate as shipped.
struct ShippedExamplesTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func examplesExist() {
        #expect(Self.files.count >= 5, "examples found: \(Self.files)")
    }

    @Test(arguments: files)
    func exampleParses(_ file: String) throws {
        let spec = try SpecParser.load(path: Self.directory.appendingPathComponent(file).path)
        #expect(spec.name + ".yaml" == file, "an example's name is its file name, so its run directory is findable")
    }
}
