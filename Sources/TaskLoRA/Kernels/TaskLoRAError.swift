import Foundation

/// The one error type users see: a single line naming the file (when there is one) and the problem.
public struct TaskLoRAError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    /// Control characters (a tensor name with a newline, read from a hostile file) are escaped, so
    /// the message stays one line and cannot forge lines of its own on a terminal or in a log.
    public init(_ message: String) { self.message = Self.oneLine(message) }
    /// An error about a particular file: "`path`: `problem`".
    public static func file(_ path: String, _ problem: String) -> TaskLoRAError {
        TaskLoRAError("\(path): \(problem)")
    }
    public var description: String { message }
    public var errorDescription: String? { message }

    /// `text` with newlines, tabs and other control characters written as escapes (`\n`, `\t`, `\u{1B}`).
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
