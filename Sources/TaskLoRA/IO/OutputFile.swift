import Foundation

/// Whole-file outputs (token ids, JSON, reports) written atomically: a failure leaves any earlier
/// file of the same name untouched.
public enum OutputFile {
    public static func write(_ data: Data, to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(data)
        try writer.commit()
    }
}
