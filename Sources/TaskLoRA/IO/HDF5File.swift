import CHDF5
import Foundation

/// Library-wide HDF5 set-up and error helpers.
enum HDF5 {
    /// Opens the library once and stops it printing its own error stacks: failures
    /// become `TaskLoRAError`s naming the file instead.
    static let ready: Void = tl_H5_silence_errors()

    /// The innermost message on HDF5's error stack after a failed call ("" when empty).
    static func detail() -> String {
        final class Box { var message = "" }
        let box = Box()
        _ = withExtendedLifetime(box) {
            H5Ewalk2(tl_H5E_DEFAULT(), H5E_WALK_UPWARD, { n, err, data in
                guard n == 0, let err, let desc = err.pointee.desc, let data else { return 0 }
                Unmanaged<Box>.fromOpaque(data).takeUnretainedValue().message = String(cString: desc)
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
        }
        return oneLine(box.message)
    }

    /// HDF5's low-level I/O messages span lines ("file write failed: time = …\n, filename = …,
    /// errno = 28, error message = 'No space left on device', …"): keep the operation and the
    /// system's reason, on one line.
    static func oneLine(_ message: String) -> String {
        let flat = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let reason = flat.range(of: "error message = '") else { return flat }
        let why = flat[reason.upperBound...].prefix { $0 != "'" }
        let what = flat.prefix { $0 != ":" }
        return "\(what): \(why)"
    }

    /// `base` with HDF5's own reason appended when it has one.
    static func reason(_ base: String) -> String {
        let d = detail()
        return d.isEmpty ? base : "\(base) (HDF5: \(d))"
    }
}

/// Owns one HDF5 identifier and closes it exactly once. A file closed with the strong
/// close degree invalidates its open objects, so closing checks the id is still live.
final class HDF5Handle {
    private(set) var id: hid_t

    init(_ id: hid_t) { self.id = id }

    func close() {
        guard id >= 0 else { return }
        if H5Iis_valid(id) > 0 {
            switch H5Iget_type(id) {
            case H5I_FILE: H5Fclose(id)
            case H5I_GROUP: H5Gclose(id)
            case H5I_DATASET: H5Dclose(id)
            case H5I_ATTR: H5Aclose(id)
            case H5I_DATATYPE: H5Tclose(id)
            case H5I_DATASPACE: H5Sclose(id)
            case H5I_GENPROP_LST: H5Pclose(id)
            default: H5Idec_ref(id)
            }
        }
        id = -1
    }

    deinit { close() }
}

/// An HDF5 file opened read-only, or created for writing.
///
/// A created file is written under a hidden temporary name in the same folder and only
/// renamed to `path` by `commit()` (after an fsync), so an interrupted save never leaves
/// a half-written file under the final name. Dropping an uncommitted file deletes the
/// temporary. Groups and datasets keep their file open while they live.
public final class HDF5File {
    /// The final path (also the name used in error messages).
    public let path: String
    let handle: HDF5Handle
    /// Size of the file on disk when opened for reading: the bound for any allocation.
    let byteSize: UInt64
    private let temporaryPath: String?
    private var finished = false

    private init(path: String, handle: HDF5Handle, byteSize: UInt64, temporaryPath: String?) {
        self.path = path
        self.handle = handle
        self.byteSize = byteSize
        self.temporaryPath = temporaryPath
    }

    /// Opens an existing file read-only.
    public static func open(_ path: String) throws -> HDF5File {
        _ = HDF5.ready
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TaskLoRAError.file(path, "no such file")
        }
        guard !isDirectory.boolValue else { throw TaskLoRAError.file(path, "is a directory, not an HDF5 file") }
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { throw TaskLoRAError.file(path, "is empty or unreadable, not an HDF5 file") }
        let size = UInt64(info.st_size)
        guard H5Fis_hdf5(path) > 0 else { throw TaskLoRAError.file(path, "is not an HDF5 file") }
        let fapl = try strongCloseAccessList(path)
        let id = H5Fopen(path, tl_H5F_ACC_RDONLY(), fapl.id)
        guard id >= 0 else {
            throw TaskLoRAError.file(path, HDF5.reason("is truncated or damaged: HDF5 cannot open it"))
        }
        return HDF5File(path: path, handle: HDF5Handle(id), byteSize: size, temporaryPath: nil)
    }

    /// Creates a new file that will replace `path` on `commit()`.
    public static func create(_ path: String) throws -> HDF5File {
        _ = HDF5.ready
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaskLoRAError.file(path, "folder \(folder) does not exist")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let fapl = try strongCloseAccessList(path)
        let id = H5Fcreate(temporary, tl_H5F_ACC_TRUNC(), tl_H5P_DEFAULT(), fapl.id)
        guard id >= 0 else { throw TaskLoRAError.file(path, HDF5.reason("cannot create file in \(folder)")) }
        return HDF5File(path: path, handle: HDF5Handle(id), byteSize: 0, temporaryPath: temporary)
    }

    /// Closing a file closes every object still open in it, so nothing keeps a
    /// committed file half-open behind our back.
    private static func strongCloseAccessList(_ path: String) throws -> HDF5Handle {
        let fapl = HDF5Handle(H5Pcreate(tl_H5P_FILE_ACCESS()))
        guard fapl.id >= 0, H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG) >= 0 else {
            throw TaskLoRAError.file(path, HDF5.reason("cannot set up HDF5 file access"))
        }
        return fapl
    }

    /// Whether this file was created for writing.
    public var isWritable: Bool { temporaryPath != nil }

    /// The root group "/".
    public func root() throws -> HDF5Group {
        let id = H5Gopen2(handle.id, "/", tl_H5P_DEFAULT())
        guard id >= 0 else { throw TaskLoRAError.file(path, HDF5.reason("cannot open the root group")) }
        return HDF5Group(file: self, path: "/", handle: HDF5Handle(id))
    }

    /// Finishes a created file: closes it, fsyncs it, and renames it over `path`.
    public func commit() throws {
        guard let temporary = temporaryPath else { throw TaskLoRAError.file(path, "was opened read-only; nothing to commit") }
        guard !finished else { throw TaskLoRAError.file(path, "was already committed") }
        finished = true
        do {
            guard H5Fflush(handle.id, H5F_SCOPE_LOCAL) >= 0 else {
                throw TaskLoRAError.file(path, HDF5.reason("cannot flush"))
            }
            let closed = H5Fclose(handle.id)
            handle.close()
            guard closed >= 0 else { throw TaskLoRAError.file(path, HDF5.reason("cannot close")) }
            try Self.fsync(temporary, path)
            guard rename(temporary, path) == 0 else {
                throw TaskLoRAError.file(path, "cannot rename the finished file into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable; failure here does not lose the data.
        try? Self.fsync(URL(fileURLWithPath: path).deletingLastPathComponent().path, path)
    }

    private static func fsync(_ target: String, _ path: String) throws {
        let fd = Foundation.open(target, O_RDONLY)
        guard fd >= 0 else { throw TaskLoRAError.file(path, "cannot reopen \(target) to sync it") }
        defer { Foundation.close(fd) }
        guard Foundation.fsync(fd) == 0 else {
            throw TaskLoRAError.file(path, "cannot sync to disk: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        handle.close()
        if let temporary = temporaryPath, !finished { unlink(temporary) }
    }
}
