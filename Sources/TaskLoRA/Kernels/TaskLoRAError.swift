import Foundation

/// The one error type users see: a single line naming the file (when there is one) and the problem.
public struct TaskLoRAError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    /// An error about a particular file: "`path`: `problem`".
    public static func file(_ path: String, _ problem: String) -> TaskLoRAError {
        TaskLoRAError("\(path): \(problem)")
    }
    public var description: String { message }
    public var errorDescription: String? { message }
}
