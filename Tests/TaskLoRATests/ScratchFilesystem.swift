import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test (a real "disk full" or a read-only file system), where the
/// test process may mount (root in a container); `mount` returns nil where it may not.
final class ScratchFilesystem {
    let path: String

    private init(path: String) { self.path = path }

    /// Mounts a tmpfs of `bytes` bytes (read-only when `readOnly`) on a fresh folder.
    static func mount(bytes: Int, readOnly: Bool = false) -> ScratchFilesystem? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-tmpfs-\(UUID().uuidString.prefix(8))").path
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else { return nil }
        let options = "size=\(bytes)" + (readOnly ? ",ro" : "")
        guard run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]) == 0 else {
            try? FileManager.default.removeItem(atPath: dir)
            return nil
        }
        return ScratchFilesystem(path: dir)
    }

    /// Bytes still free.
    var freeBytes: Int {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// Fills the file system with a filler file until at most `leaving` bytes are free.
    func fill(leaving: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: {
            let p = path + "/filler"
            _ = FileManager.default.createFile(atPath: p, contents: nil)
            return p
        }()))
        defer { try? handle.close() }
        while freeBytes > leaving {
            let chunk = min(64 * 1024, max(4096, freeBytes - leaving))
            do { try handle.write(contentsOf: Data(count: chunk)) } catch { break }
        }
    }

    func unmount() {
        _ = ScratchFilesystem.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return -1 }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
