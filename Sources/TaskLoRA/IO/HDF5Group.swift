import CHDF5
import Foundation

/// A group in an HDF5 file: a folder of named groups and datasets.
public final class HDF5Group: HDF5Object {
    public let file: HDF5File
    /// Absolute path inside the file ("/" for the root).
    public let path: String
    let handle: HDF5Handle
    public var hid: hid_t { handle.id }

    init(file: HDF5File, path: String, handle: HDF5Handle) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    /// What a child link points at. `link` is a soft or external link, which tasklora never
    /// follows: an external link would make libhdf5 open another file named by this one.
    public enum ChildKind: Sendable { case group, dataset, link, other }

    /// The path of child `name`, for messages.
    public func childPath(_ name: String) -> String { path == "/" ? "/\(name)" : "\(path)/\(name)" }

    /// Whether a direct child called `name` exists.
    public func contains(_ name: String) -> Bool {
        guard Self.isValidName(name) else { return false }
        return H5Lexists(hid, name, tl_H5P_DEFAULT()) > 0
    }

    /// The kind of child `name`, or nil when there is none.
    public func kind(of name: String) -> ChildKind? {
        guard contains(name) else { return nil }
        var info = H5L_info_t()
        guard H5Lget_info(hid, name, &info, tl_H5P_DEFAULT()) >= 0 else { return .other }
        guard info.type == H5L_TYPE_HARD else { return .link }
        let object = HDF5Handle(H5Oopen(hid, name, tl_H5P_DEFAULT()))
        guard object.id >= 0 else { return .other }  // e.g. a dangling soft link
        switch H5Iget_type(object.id) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// Why child `name` of `kind` is not what was asked for: a link is named as such (it is there,
    /// but never followed), anything else gets `otherwise`.
    static func problem(_ name: String, _ kind: ChildKind?, otherwise: String) -> String {
        kind == .link ? "\(name) is a soft or external link; tasklora follows only hard links" : otherwise
    }

    /// Names of the direct children, in increasing name order.
    public func childNames() throws -> [String] {
        let names = HDF5NameList()
        let status = withExtendedLifetime(names) {
            tl_H5Literate_by_name_order(hid, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<HDF5NameList>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque())
        }
        guard status >= 0 else { throw failure(HDF5.reason("cannot list the group")) }
        return names.list
    }

    /// Opens child group `name`.
    public func openGroup(_ name: String) throws -> HDF5Group {
        let kind = kind(of: name)
        guard kind == .group else { throw failure(Self.problem(name, kind, otherwise: "has no group \(name)")) }
        let id = H5Gopen2(hid, name, tl_H5P_DEFAULT())
        guard id >= 0 else { throw failure(HDF5.reason("cannot open group \(name)")) }
        return HDF5Group(file: file, path: childPath(name), handle: HDF5Handle(id))
    }

    /// Creates child group `name`.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        try checkNewChild(name)
        let lcpl = try Self.utf8LinkCreation()
        let id = H5Gcreate2(hid, name, lcpl.id, tl_H5P_DEFAULT(), tl_H5P_DEFAULT())
        guard id >= 0 else { throw failure(HDF5.reason("cannot create group \(name)")) }
        return HDF5Group(file: file, path: childPath(name), handle: HDF5Handle(id))
    }

    /// Opens child dataset `name`, validating its shape and element type.
    public func openDataset(_ name: String) throws -> HDF5Dataset {
        let kind = kind(of: name)
        guard kind == .dataset else { throw failure(Self.problem(name, kind, otherwise: "has no dataset \(name)")) }
        let id = H5Dopen2(hid, name, tl_H5P_DEFAULT())
        guard id >= 0 else { throw failure(HDF5.reason("cannot open dataset \(name)")) }
        return try HDF5Dataset(file: file, path: childPath(name), handle: HDF5Handle(id))
    }

    /// A single link name: not empty, no "/", not "." or "..".
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".." && !name.contains("\0")
    }

    func checkNewChild(_ name: String) throws {
        guard file.isWritable else { throw failure("is read-only") }
        guard Self.isValidName(name) else { throw failure("invalid name \"\(name)\" (empty, or contains \"/\")") }
        guard !contains(name) else { throw failure("already has a child \(name)") }
    }

    /// Link names are stored as UTF-8 so h5py shows non-ASCII names unchanged.
    static func utf8LinkCreation() throws -> HDF5Handle {
        let lcpl = HDF5Handle(H5Pcreate(tl_H5P_LINK_CREATE()))
        guard lcpl.id >= 0, H5Pset_char_encoding(lcpl.id, H5T_CSET_UTF8) >= 0 else {
            throw TaskLoRAError(HDF5.reason("HDF5: cannot set up link creation"))
        }
        return lcpl
    }
}

/// Collects names from HDF5 iteration callbacks, which reach it through their user-data pointer.
final class HDF5NameList { var list: [String] = [] }
