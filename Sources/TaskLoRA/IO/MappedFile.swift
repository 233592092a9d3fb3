import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file, unmapped when the last reference goes away.
/// Readers keep one so tensors can be copied out lazily without holding the file in RAM.
final class MappedFile: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw TaskLoRAError.file(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw TaskLoRAError.file(path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw TaskLoRAError.file(path, "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 {
            // mmap rejects length 0; an empty buffer lets every reader report "truncated" itself.
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw TaskLoRAError.file(path, "cannot map: \(String(cString: strerror(errno)))")
        }
        mapping = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    var count: Int { bytes.count }

    /// Release pages after reading this many bytes past the last release.
    static let discardStride = 8 << 20

    /// Drops the mapped pages wholly before `offset` from this process's resident memory
    /// (`MADV_DONTNEED`; the mapping is read-only, so nothing is lost: a later read faults the page
    /// in again from the page cache or the file). Streaming readers call it behind their cursor.
    func discard(before offset: Int) {
        guard let m = mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = min(offset, bytes.count) / page * page
        if length > 0 { _ = madvise(m, length, MADV_DONTNEED) }
    }

    deinit { if let m = mapping { munmap(m, bytes.count) } }
}
