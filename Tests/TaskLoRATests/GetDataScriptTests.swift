import Foundation
import XCTest

/// scripts/get-data.sh, run as a user runs it, from a clone with no ../shared beside it: the
/// "upstream" is a local folder laid out as the real one (OWNER/REPO/HEAD/PATH) behind a file:// URL.
/// It fetches, applies the XQuAD train-split transform, verifies every file against its sha256 and
/// refuses a corrupted file by its checksum with one line, writing nothing.
final class GetDataScriptTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws { root = try makeScratchFolder("get-data") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    /// Runs scripts/get-data.sh with `environment` added (the shared copy pointed nowhere unless given).
    func getData(_ environment: [String: String], arguments: [String] = []) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestPaths.repo.appendingPathComponent("scripts/get-data.sh").path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["TASKLORA_SHARED_DATA"] = root.appendingPathComponent("no-shared").path
        env["TASKLORA_DATA_TIMEOUT"] = "10"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func write(_ text: String, _ relative: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func read(_ relative: String) -> String? {
        (try? Data(contentsOf: root.appendingPathComponent(relative))).map { String(decoding: $0, as: UTF8.self) }
    }

    /// sha256 by coreutils (Foundation on Linux has no hash functions).
    func sha256(_ text: String) throws -> String {
        let file = root.appendingPathComponent("hash-input")
        try Data(text.utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    func testFetchesFromUpstreamVerifiesAndRefusesACorruptedFile() throws {
        // Upstream: a CSV as it is, and an XQuAD file of 48 articles of which the first 32 are kept.
        let csv = "A plane is taking off.,An air plane is taking off.,5.0\nA man plays.,A man plays a flute.,3.8\n"
        func articles(_ n: Int) -> String { (0..<n).map { "{\"title\": \"a\($0)\", \"paragraphs\": []}" }.joined(separator: ", ") }
        let upstreamJSON = "{\"data\": [\(articles(48))],\n \"version\": \"1.1\"}\n"
        let trainJSON = "{\"version\": \"1.1\", \"data\": [\(articles(32))]}"   // json.dumps(ensure_ascii=False)
        try write(csv, "mirror/PhilipMay/stsb-multi-mt/HEAD/data/stsb-xx-dev.csv")
        try write(upstreamJSON, "mirror/google-deepmind/xquad/HEAD/xquad.xx.json")
        try write("""
            # test sources
            stsb-multi-mt/stsb-xx-dev.csv\t\(try sha256(csv))\tPhilipMay/stsb-multi-mt/HEAD/data/stsb-xx-dev.csv\t-
            xquad/xquad.xx.train.json\t\(try sha256(trainJSON))\tgoogle-deepmind/xquad/HEAD/xquad.xx.json\txquad-train

            """, "sources.tsv")
        let env = ["TASKLORA_DATA_SOURCES": root.appendingPathComponent("sources.tsv").path,
                   "TASKLORA_DATA": root.appendingPathComponent("data").path,
                   "TASKLORA_DATA_UPSTREAM": "file://" + root.appendingPathComponent("mirror").path]

        let first = try getData(env)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("0 present, 0 copied from"), first.stdout)
        XCTAssertTrue(first.stdout.contains("2 downloaded, 0 failed"), first.stdout)
        XCTAssertEqual(read("data/stsb-multi-mt/stsb-xx-dev.csv"), csv)
        XCTAssertEqual(read("data/xquad/xquad.xx.train.json"), trainJSON)

        // A second run finds both files verified in place and fetches nothing.
        let again = try getData(env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("2 present, 0 copied from"), again.stdout)

        // Upstream corrupted (one byte): refused by its checksum, one line, nothing written.
        try FileManager.default.removeItem(at: root.appendingPathComponent("data/stsb-multi-mt/stsb-xx-dev.csv"))
        try write(csv.replacingOccurrences(of: "5.0", with: "5.1"), "mirror/PhilipMay/stsb-multi-mt/HEAD/data/stsb-xx-dev.csv")
        let corrupted = try getData(env)
        XCTAssertEqual(corrupted.status, 1)
        let lines = corrupted.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, corrupted.stderr)
        XCTAssertTrue(lines.first?.hasPrefix("get-data: data/stsb-multi-mt/stsb-xx-dev.csv: file://") == true, corrupted.stderr)
        XCTAssertTrue(corrupted.stderr.contains("expected \(try sha256(csv)) (corrupted or changed upstream; not written)"), corrupted.stderr)
        XCTAssertNil(read("data/stsb-multi-mt/stsb-xx-dev.csv"))
        XCTAssertTrue(corrupted.stdout.contains("1 present, 0 copied from"), corrupted.stdout)
        XCTAssertTrue(corrupted.stdout.contains("0 downloaded, 1 failed"), corrupted.stdout)

        // A file in place whose bytes changed is fetched again; a good shared copy is preferred to upstream.
        try write(csv, "shared/stsb-multi-mt/stsb-xx-dev.csv")
        try write("tampered", "data/stsb-multi-mt/stsb-xx-dev.csv")
        var withShared = env
        withShared["TASKLORA_SHARED_DATA"] = root.appendingPathComponent("shared").path
        let copied = try getData(withShared)
        XCTAssertEqual(copied.status, 0, copied.stderr)
        XCTAssertTrue(copied.stdout.contains("1 present, 1 copied from"), copied.stdout)
        XCTAssertTrue(copied.stderr.contains("checksum differs from sources.tsv; fetching it again"), copied.stderr)
        XCTAssertEqual(read("data/stsb-multi-mt/stsb-xx-dev.csv"), csv)

        // A path prefix fetches only that part.
        try FileManager.default.removeItem(at: root.appendingPathComponent("data"))
        let only = try getData(withShared, arguments: ["stsb-multi-mt"])
        XCTAssertEqual(only.status, 0, only.stderr)
        XCTAssertNotNil(read("data/stsb-multi-mt/stsb-xx-dev.csv"))
        XCTAssertNil(read("data/xquad/xquad.xx.train.json"))
    }

    /// The committed sources.tsv against the real files: a mirror laid out as upstream is made from
    /// the shared copy (its XQuAD files stand in for the 48-article originals: the transform keeps
    /// their 32 articles byte for byte), then every one of the 40 files is fetched and verified.
    func testCommittedChecksumsAndURLsMatchTheSharedCopy() throws {
        let shared = URL(fileURLWithPath: ProcessInfo.processInfo.environment["TASKLORA_SHARED_DATA"]
            ?? TestPaths.repo.deletingLastPathComponent().appendingPathComponent("shared/data").path)
        guard FileManager.default.fileExists(atPath: shared.appendingPathComponent("stsb-multi-mt").path) else {
            throw XCTSkip("no shared data at \(shared.path) (the copy beside the workspace's clone)")
        }
        let sources = try String(contentsOfFile: TestPaths.repo.appendingPathComponent("scripts/data/sources.tsv").path, encoding: .utf8)
        let rows = sources.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, 40)
        for row in rows {
            let target = root.appendingPathComponent("mirror/" + row[2])
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: shared.appendingPathComponent(row[0]), to: target)
        }
        let run = try getData(["TASKLORA_DATA": root.appendingPathComponent("data").path,
                               "TASKLORA_DATA_UPSTREAM": "file://" + root.appendingPathComponent("mirror").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("40 downloaded, 0 failed"), run.stdout)
    }
}
