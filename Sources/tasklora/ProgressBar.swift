import Foundation

/// A one-line progress bar on stderr: redrawn in place on a terminal, a few plain lines otherwise.
final class ProgressBar {
    private let label: String
    private let total: Int
    private let start = Date()
    private let interactive = isatty(2) != 0
    private var lastDraw = Date.distantPast
    private var lastLoggedTenth = -1

    init(_ label: String, total: Int) {
        self.label = label
        self.total = total
    }

    /// Redraws the bar; `status` is shown after the count (e.g. "loss 0.41  lr 1e-4").
    func update(_ done: Int, unit: String = "texts", status: String = "") {
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let tail = (status.isEmpty ? String(format: "%.1f %@/s", rate, unit) : status) + "  ETA " + Self.clock(eta)
        if interactive {
            guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            let line = "\r\(label) [\(bar)] \(done)/\(total) \(unit)  \(tail)\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let tenth = Int(fraction * 10)
            guard tenth > lastLoggedTenth else { return }
            lastLoggedTenth = tenth
            FileHandle.standardError.write(Data("\(label): \(done)/\(total) \(unit)  \(tail)\n".utf8))
        }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}
