import Foundation
import XCTest
@testable import TaskLoRA

/// The recipe's `data.on_error`: bad rows stop the run with their line (`fail`, the default) or are
/// left out and counted (`skip`), through the trainer as a user runs it.
final class SkipBadRowsTests: XCTestCase {
    typealias F = TrainerFixture

    func testOnErrorFailNamesTheLineAndSkipCountsTheRows() throws {
        var lines = F.pairs(24)
        lines.insert("[\"not\", \"an object\"]", at: 3)                       // line 4
        lines.insert("{\"anchor\": \"a b\"}", at: 7)                          // line 8: no positive
        let train = try F.write(lines, name: "train.jsonl")

        let failing = try F.recipe(train: train, dev: nil, output: F.newDirectory("fail"))
        XCTAssertEqual(failing.data.onError, .fail)
        let message = F.error { _ = try Trainer(recipe: failing) }
        XCTAssertTrue(message.hasPrefix("\(train): line 4: "), message)

        let skipping = try F.recipe(train: train, dev: nil, output: F.newDirectory("skip"), overrides: ["data.on_error=skip"])
        var logged: [String] = []
        let trainer = try Trainer(recipe: skipping, log: { logged.append($0) })
        XCTAssertEqual(trainer.data.train.count, 24)
        XCTAssertEqual(trainer.data.train.skipped, 2)
        XCTAssertTrue(logged.contains { $0.contains("24 examples") && $0.hasSuffix(", 2 bad rows skipped") }, "\(logged)")
        XCTAssertTrue(skipping.resolvedYAML().contains("on_error: skip"), skipping.resolvedYAML())

        let wrong = F.error { _ = try F.recipe(train: train, dev: nil, output: F.newDirectory("x"), overrides: ["data.on_error=ignore"]) }
        XCTAssertTrue(wrong.contains("on_error"), wrong)
    }
}
