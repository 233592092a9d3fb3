import ArgumentParser
import Foundation
import TaskLoRA

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (SVG plots) of a training run.")

    @Argument(help: "A run directory written by `tasklora train`.")
    var runDirectory: String

    @Option(name: .long, help: "Where to write the page (default: RUN_DIR/report.html).")
    var output: String?

    func run() throws {
        let report = try RunReport(runPath: runDirectory)
        let path = output ?? runDirectory + "/report.html"
        try OutputFile.write(Data(report.html().utf8), to: path)
        print("report: \(path)")
    }
}
