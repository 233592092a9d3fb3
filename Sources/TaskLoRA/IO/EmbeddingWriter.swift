import Foundation

/// Embeddings written as they are made, chunk by chunk, so that embedding a file of millions of
/// lines needs memory for one chunk, not for the whole output: `.npy` (float32, shape (N, D), the
/// row count known up front) or `.jsonl` (`{"embedding": [...]}` a line). The file appears under
/// its name only on `commit()` with every row written (temporary file + rename); a run that stops
/// early leaves no partial output behind.
public final class EmbeddingWriter {
    public let path: String
    public let rows: Int
    public let dim: Int
    private let out: AtomicFileWriter
    private let npy: Bool
    public private(set) var written = 0

    /// - Parameters: rows: how many rows will be appended in all; dim: values per row.
    public init(path: String, rows: Int, dim: Int) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "npy" || ext == "jsonl" else { throw TaskLoRAError.file(path, "output must end in .npy or .jsonl") }
        self.path = path
        self.rows = rows
        self.dim = dim
        npy = ext == "npy"
        out = try AtomicFileWriter(path: path)
        if npy { try out.write(try NPY.header(descr: "<f4", shape: [rows, dim], path: path)) }
    }

    /// Appends `count` rows of `dim` floats.
    public func append(_ values: UnsafePointer<Float>, count: Int) throws {
        guard written + count <= rows else {
            throw TaskLoRAError.file(path, "\(written + count) rows appended to an output of \(rows)")
        }
        if npy {
            try out.write(UnsafeRawBufferPointer(start: values, count: count * dim * MemoryLayout<Float>.size))  // little-endian host
        } else {
            var text = ""
            for r in 0..<count {
                text += "{\"embedding\":[" + (0..<dim).map { String(values[r * dim + $0]) }.joined(separator: ",") + "]}\n"
            }
            try out.write(Data(text.utf8))
        }
        written += count
    }

    /// Renames the finished file into place; every declared row must have been written.
    public func commit() throws {
        guard written == rows else { throw TaskLoRAError.file(path, "\(written) of \(rows) rows written") }
        try out.commit()
    }
}
