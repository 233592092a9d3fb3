import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TaskLoRA

/// A real `tasklora train` process on tiny-bert, interrupted (SIGTERM, SIGINT) or killed (SIGKILL
/// at random moments and during saves), then resumed with `--resume`: the final adapters and
/// optimizer state equal those of a run that was never interrupted, bit for bit.
final class KillResumeTests: XCTestCase {
    typealias F = TrainerFixture

    /// A recipe file for a run of `steps` steps into `output`: the trainer tests' recipe (dropout on)
    /// with a dev set evaluated every `evalEvery` steps and a checkpoint every `saveEvery`.
    static func writeRecipe(output: String, steps: Int, saveEvery: Int, evalEvery: Int,
                            train: String, dev: String, file: String? = nil) throws -> String {
        let recipe = try F.recipe(train: train, dev: dev, output: output, overrides: [
            "seed=11", "schedule.steps=\(steps)", "save.every=\(saveEvery)", "eval.every=\(evalEvery)",
        ])
        let path = file ?? output + ".yaml"
        try Data(recipe.resolvedYAML().utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    struct Setup {
        var train: String, dev: String
    }

    static func data() throws -> Setup {
        Setup(train: try F.write(F.pairs(40), name: "train.jsonl"), dev: try F.write(F.pairs(8, seed: 9), name: "dev.jsonl"))
    }

    /// Runs a recipe to completion in a child process; returns its wall time.
    @discardableResult
    private func runToEnd(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (seconds: Double, stderr: String) {
        let t0 = Date()
        let r = try CLIProcess.run(arguments, file: file, line: line)
        XCTAssertEqual(r.status, 0, "tasklora \(arguments): \(r.stderr)", file: file, line: line)
        return (Date().timeIntervalSince(t0), r.stderr)
    }

    /// final.h5 of two runs: the same adapter tensors and AdamW moments, bit for bit.
    private func assertSameFinal(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try Checkpoint.read(path: a + "/final.h5"), y = try Checkpoint.read(path: b + "/final.h5")
        XCTAssertEqual(x.trainingAttributes["step"], y.trainingAttributes["step"], file: file, line: line)
        XCTAssertEqual(x.trainingAttributes["adamw_step"], y.trainingAttributes["adamw_step"], file: file, line: line)
        XCTAssertEqual(x.trainingAttributes["sampler"], y.trainingAttributes["sampler"], file: file, line: line)
        XCTAssertEqual(x.trainingAttributes["dropout_rng"], y.trainingAttributes["dropout_rng"], file: file, line: line)
        var tensors = 0
        for (name, adapter) in x.adapters {
            guard let other = y.adapters[name] else { XCTFail("no adapter \(name) in \(b)", file: file, line: line); continue }
            XCTAssertEqual(Set(adapter.tensors.keys), Set(other.tensors.keys), file: file, line: line)
            for (key, t) in adapter.tensors {
                guard let u = other.tensors[key] else { continue }
                XCTAssertEqual(t.array.map(\.bitPattern), u.array.map(\.bitPattern), "\(name)/\(key)", file: file, line: line)
                tensors += 1
            }
        }
        for key in ["adamw.m", "adamw.v"] {
            XCTAssertEqual(x.training[key]?.array.map(\.bitPattern), y.training[key]?.array.map(\.bitPattern), key,
                           file: file, line: line)
        }
        XCTAssertGreaterThan(tensors, 0, file: file, line: line)
        // Training moved the adapters: equal finals are not two untouched initializations.
        let b0 = x.adapters["task"]?.tensors.first { $0.key.hasSuffix("lora_B") }?.value.array ?? []
        XCTAssertTrue(b0.contains { $0 != 0 }, "lora_B is still zero: nothing was trained", file: file, line: line)
    }

    /// Per-step losses of metrics.jsonl as written (raw JSON text), steps 1…N.
    private func losses(_ dir: String) throws -> [Int: String] {
        try F.rawLosses(RunDirectory(path: dir, create: false))
    }

    private func stepLines(_ dir: String) -> Int {
        guard let text = try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").filter { $0.contains("\"loss\"") }.count
    }

    /// Waits until the run has logged `count` steps (or the process ended).
    private func waitForSteps(_ count: Int, in dir: String, of child: CLIProcess, timeout: Double = 60) {
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning, stepLines(dir) < count, Date() < deadline { usleep(1_000) }
    }

    // MARK: - SIGTERM / SIGINT

    /// In process: a stop request (what the CLI's signal handler sets) during step 5 makes `train`
    /// finish that step, save its checkpoint, and return without final.h5; resuming continues at 6.
    func testStopRequestSavesACheckpointOfTheCurrentStep() throws {
        let d = try Self.data()
        let recipe = try F.recipe(train: d.train, dev: nil, output: F.newDirectory("stop"))
        var logged: [String] = []
        let trainer = try Trainer(recipe: recipe, log: { logged.append($0) })
        try trainer.train(progress: { p in if p.step == 5 { trainer.stopRequest.request(signal: SIGTERM) } })
        XCTAssertEqual(trainer.step, 5)
        XCTAssertEqual(trainer.stoppedBy, SIGTERM)
        XCTAssertEqual(trainer.stopCheckpoint, trainer.run.checkpointPath(step: 5))
        XCTAssertEqual(trainer.run.latestCheckpoint(), trainer.run.checkpointPath(step: 5))
        XCTAssertFalse(FileManager.default.fileExists(atPath: trainer.run.finalPath))
        XCTAssertTrue(logged.contains("stopped by SIGTERM after step 5 of 8; checkpoint \(trainer.run.checkpointPath(step: 5))"), "\(logged)")
        let resumed = try Trainer(recipe: recipe, resume: true)
        XCTAssertEqual(resumed.step, 5)
        XCTAssertEqual(F.parameters(resumed.adapters), F.parameters(trainer.adapters))
        try resumed.train()
        XCTAssertNil(resumed.stoppedBy)
        XCTAssertEqual(resumed.step, 8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: resumed.run.finalPath))
    }

    /// SIGTERM mid-run: the process finishes its step, saves a checkpoint of it, names it and exits
    /// with 143; resumed and stopped again with SIGINT (130), then resumed to the end, the run
    /// ends with the uninterrupted run's adapters, optimizer state and per-step losses, bit for bit.
    func testSIGTERMAndSIGINTSaveACheckpointAndResumeBitIdentically() throws {
        let d = try Self.data()
        let steps = 300
        let refDir = F.newDirectory("term-ref"), runDir = F.newDirectory("term-run")
        let refRecipe = try Self.writeRecipe(output: refDir, steps: steps, saveEvery: 100, evalEvery: 100, train: d.train, dev: d.dev)
        let runRecipe = try Self.writeRecipe(output: runDir, steps: steps, saveEvery: 100, evalEvery: 100, train: d.train, dev: d.dev)
        try runToEnd(["train", refRecipe])

        var stoppedAt: [Int] = []
        for (round, signal) in [SIGTERM, SIGINT].enumerated() {
            let args = round == 0 ? ["train", runRecipe] : ["train", "--resume", runDir]
            let child = try CLIProcess(args)
            waitForSteps((stoppedAt.last ?? 0) + 20, in: runDir, of: child)
            XCTAssertTrue(child.isRunning, "the run ended before it could be interrupted; raise `steps`")
            child.send(signal)
            let status = child.wait()
            XCTAssertFalse(child.endedBySignal, "the process was killed by the signal instead of stopping cleanly")
            XCTAssertEqual(status, 128 + signal, child.stderr)
            // "interrupted at step K of N: saved PATH; continue with: tasklora train --resume DIR"
            let out = child.stdout
            guard let r = out.range(of: #"interrupted at step (\d+) of \#(steps): saved (\S+); continue with: tasklora train --resume "#,
                                    options: .regularExpression) else {
                XCTFail("no interruption line in stdout: \(out)\nstderr: \(child.stderr)")
                return
            }
            let words = out[r].split(separator: " ")
            let k = Int(words[3])!
            let saved = String(words[7].dropLast())
            XCTAssertGreaterThan(k, stoppedAt.last ?? 0)
            XCTAssertLessThan(k, steps)
            let run = try RunDirectory(path: runDir, create: false)
            XCTAssertEqual(saved, run.checkpointPath(step: k))
            XCTAssertEqual(run.latestCheckpoint(), saved)
            XCTAssertEqual(try Checkpoint.read(path: saved).trainingAttributes["step"], String(k))
            XCTAssertTrue(child.stderr.contains("stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT") after step \(k)"), child.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.finalPath))
            if round == 1 {
                XCTAssertTrue(child.stderr.contains("resuming from \(run.checkpointPath(step: stoppedAt[0])) at step \(stoppedAt[0])"),
                              child.stderr)
            }
            stoppedAt.append(k)
        }
        let last = try runToEnd(["train", "--resume", runDir])
        XCTAssertTrue(last.stderr.contains("resuming from \(try RunDirectory(path: runDir, create: false).checkpointPath(step: stoppedAt[1]))"),
                      last.stderr)
        try assertSameFinal(refDir, runDir)
        let expected = try losses(refDir)
        XCTAssertEqual(expected.count, steps)
        XCTAssertEqual(try losses(runDir), expected)
    }

    // MARK: - SIGKILL

    /// SIGKILL at random moments and while a checkpoint is being written (a hidden temporary file
    /// exists), each followed by `--resume` (or a fresh start when no checkpoint was complete yet):
    /// every checkpoint on disk still loads, `--resume` names the newest one, and the final adapters,
    /// optimizer state and per-step losses equal the never-killed run's, bit for bit.
    func testSIGKILLAtRandomMomentsAndDuringSavesThenResumeIsBitIdentical() throws {
        let d = try Self.data()
        let steps = 36
        let refDir = F.newDirectory("kill-ref"), runDir = F.newDirectory("kill-run")
        let refRecipe = try Self.writeRecipe(output: refDir, steps: steps, saveEvery: 2, evalEvery: 12, train: d.train, dev: d.dev)
        let runRecipe = try Self.writeRecipe(output: runDir, steps: steps, saveEvery: 2, evalEvery: 12, train: d.train, dev: d.dev)
        let wholeRun = try runToEnd(["train", refRecipe]).seconds

        let seed = UInt64(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF
        var rng = SplitMix64(seed: seed)
        let checkpointsDir = runDir + "/checkpoints"
        var kills = 0, killsDuringSave = 0, attempts = 0
        var log: [String] = []
        while kills < 6, attempts < 20 {
            attempts += 1
            let run = try? RunDirectory(path: runDir, create: false)
            let newest = run?.latestCheckpoint()
            let child = try CLIProcess(newest == nil ? ["train", runRecipe] : ["train", "--resume", runDir])
            var duringSave = false
            if attempts % 2 == 0 {
                // Kill while a save is in flight: a hidden temporary file in checkpoints/.
                let deadline = Date().addingTimeInterval(wholeRun * 2 + 5)
                while child.isRunning, Date() < deadline {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsDir)) ?? []
                    if names.contains(where: { $0.hasPrefix(".step-") && $0.contains(".tmp-") }) {
                        child.send(SIGKILL)
                        duringSave = true
                        break
                    }
                }
            } else {
                usleep(UInt32(rng.nextUnit() * wholeRun * 1_000_000))
                child.send(SIGKILL)
            }
            child.wait()
            let killed = child.endedBySignal
            if killed { kills += 1 }
            let leftTemporary = ((try? FileManager.default.contentsOfDirectory(atPath: checkpointsDir)) ?? [])
                .contains { $0.contains(".tmp-") }
            if killed, duringSave, leftTemporary { killsDuringSave += 1 }
            log.append("attempt \(attempts): \(killed ? "killed" : "finished") \(duringSave ? "during a save" : "at random") "
                       + "after step \(stepLines(runDir)), newest before: \(newest.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "none")")
            // An interrupted save leaves every earlier checkpoint intact and loadable.
            for path in (try? RunDirectory(path: runDir, create: false))?.checkpoints() ?? [] {
                XCTAssertNoThrow(try Checkpoint.read(path: path), "after \(log.last!)")
            }
            if FileManager.default.fileExists(atPath: runDir + "/final.h5") {
                // A kill that came too late (the run finished): start over for more kills.
                try FileManager.default.removeItem(atPath: runDir)
            }
        }
        print("kill log (seed \(seed)): " + log.joined(separator: "; "))
        XCTAssertGreaterThanOrEqual(kills, 4, "seed \(seed): " + log.joined(separator: "; "))
        XCTAssertGreaterThanOrEqual(killsDuringSave, 1, "no kill landed during a save; seed \(seed): " + log.joined(separator: "; "))

        let run = try RunDirectory(path: runDir, create: false)
        if let newest = run.latestCheckpoint() {
            let last = try runToEnd(["train", "--resume", runDir])
            XCTAssertTrue(last.stderr.contains("resuming from \(newest) at step"), last.stderr)
            // The killed saves' temporary files are gone.
            let names = try FileManager.default.contentsOfDirectory(atPath: checkpointsDir)
            XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "\(names)")
        } else {
            try runToEnd(["train", runRecipe])
        }
        try assertSameFinal(refDir, runDir)
        let expected = try losses(refDir)
        XCTAssertEqual(expected.count, steps)
        XCTAssertEqual(try losses(runDir), expected, "seed \(seed): " + log.joined(separator: "; "))
    }

    /// `--resume` on a run with several checkpoints, the newest of them torn (cut in half, as by a
    /// crash of a writer that did not write atomically): it skips that one, names why, and resumes
    /// from the newest complete one.
    func testResumePicksTheNewestCompleteCheckpointAndSaysWhich() throws {
        let d = try Self.data()
        let dir = F.newDirectory("newest")
        let recipe = try Self.writeRecipe(output: dir, steps: 12, saveEvery: 2, evalEvery: 6, train: d.train, dev: d.dev)
        try runToEnd(["train", recipe])
        let run = try RunDirectory(path: dir, create: false)
        XCTAssertEqual(run.checkpoints(), [run.checkpointPath(step: 10), run.checkpointPath(step: 12)])
        try FileManager.default.removeItem(atPath: run.finalPath)
        let torn = run.checkpointPath(step: 12)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: torn))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: torn))
        let r = try runToEnd(["train", "--resume", dir])
        XCTAssertTrue(r.stderr.contains("skipping \(torn)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming from \(run.checkpointPath(step: 10)) at step 10"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.finalPath))
    }
}
