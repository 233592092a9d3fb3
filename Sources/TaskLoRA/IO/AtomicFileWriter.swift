import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes into a temporary file next to `path` and renames it into place on `commit()`, so a
/// crash or a full disk never leaves a half-written model where a good one used to be.
final class AtomicFileWriter {
    let path: String
    private let tempPath: String
    private var fd: Int32
    private var committed = false

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        tempPath = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 { throw TaskLoRAError.file(path, "cannot create \(tempPath): \(String(cString: strerror(errno)))") }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw TaskLoRAError.file(path, "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    func commit() throws {
        // Data must be on disk before the rename makes it the file; otherwise a crash can leave
        // the new name pointing at an empty file.
        guard fsync(fd) == 0 else { throw TaskLoRAError.file(path, "fsync failed: \(String(cString: strerror(errno)))") }
        guard close(fd) == 0 else {
            fd = -1
            throw TaskLoRAError.file(path, "close failed: \(String(cString: strerror(errno)))")
        }
        fd = -1
        guard rename(tempPath, path) == 0 else {
            throw TaskLoRAError.file(path, "cannot rename temporary file into place: \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
    }
}

/// POSIX write(2); spelled out because `write` is also a method name above.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buf, n)
    #else
    return Darwin.write(fd, buf, n)
    #endif
}
