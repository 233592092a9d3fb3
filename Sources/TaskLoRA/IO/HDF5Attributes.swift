import CHDF5
import Foundation

/// A group or dataset: something that carries attributes.
public protocol HDF5Object: AnyObject {
    var file: HDF5File { get }
    /// Absolute path inside the file.
    var path: String { get }
    var hid: hid_t { get }
}

/// The kind of value an attribute holds.
public enum HDF5AttributeKind: Sendable { case string, integer, other }

extension HDF5Object {
    /// An error naming the file and this object.
    func failure(_ problem: String) -> TaskLoRAError {
        TaskLoRAError.file(file.path, "\(path): \(problem)")
    }

    public func hasAttribute(_ name: String) -> Bool {
        !name.isEmpty && H5Aexists(hid, name) > 0
    }

    /// Attribute names in increasing name order.
    public func attributeNames() throws -> [String] {
        let names = HDF5NameList()
        let status = withExtendedLifetime(names) {
            H5Aiterate2(hid, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<HDF5NameList>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque())
        }
        guard status >= 0 else { throw failure(HDF5.reason("cannot list attributes")) }
        return names.list
    }

    public func attributeKind(_ name: String) throws -> HDF5AttributeKind {
        let (_, type) = try openAttribute(name)
        switch H5Tget_class(type.id) {
        case H5T_STRING: return .string
        case H5T_INTEGER: return .integer
        default: return .other
        }
    }

    /// Writes (or replaces) a scalar variable-length UTF-8 string attribute: the kind
    /// h5py writes for `str` and returns as `str`.
    public func setAttribute(_ name: String, _ value: String) throws {
        guard !value.utf8.contains(0) else { throw failure("attribute \(name) may not contain NUL characters") }
        let type = HDF5Handle(H5Tcopy(tl_H5T_C_S1()))
        guard type.id >= 0, H5Tset_size(type.id, tl_H5T_VARIABLE()) >= 0,
              H5Tset_cset(type.id, H5T_CSET_UTF8) >= 0 else {
            throw failure(HDF5.reason("cannot make a string type"))
        }
        let attribute = try createAttribute(name, type: type)
        let status = value.withCString { chars -> herr_t in
            var pointer: UnsafePointer<CChar>? = chars
            return H5Awrite(attribute.id, type.id, &pointer)
        }
        guard status >= 0 else { throw failure(HDF5.reason("cannot write attribute \(name)")) }
    }

    /// Writes (or replaces) a scalar integer attribute stored as `type` (an integer type).
    public func setAttribute(_ name: String, _ value: Int64, as type: HDF5ElementType = .int64) throws {
        guard type.isInteger else { throw failure("attribute \(name): \(type) is not an integer type") }
        let fileType = try type.makeFileType()
        let attribute = try createAttribute(name, type: fileType)
        var v = value
        guard H5Awrite(attribute.id, tl_H5T_NATIVE_INT64(), &v) >= 0 else {
            throw failure(HDF5.reason("cannot write attribute \(name) = \(value)"))
        }
    }

    /// Reads a string attribute, fixed- or variable-length, scalar or one element.
    public func stringAttribute(_ name: String) throws -> String {
        let (attribute, type) = try openAttribute(name)
        guard H5Tget_class(type.id) == H5T_STRING else { throw failure("attribute \(name) is not a string") }
        try checkSingleValue(attribute, name)
        let cset = H5Tget_cset(type.id)
        if H5Tis_variable_str(type.id) > 0 {
            let memory = HDF5Handle(H5Tcopy(tl_H5T_C_S1()))
            guard H5Tset_size(memory.id, tl_H5T_VARIABLE()) >= 0, H5Tset_cset(memory.id, cset) >= 0 else {
                throw failure(HDF5.reason("cannot make a string type"))
            }
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute.id, memory.id, &pointer) >= 0 else {
                throw failure(HDF5.reason("cannot read attribute \(name)"))
            }
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(type.id)
        // A fixed-length string is stored inline: it cannot be longer than the file.
        guard size > 0, file.isWritable || UInt64(size) <= file.byteSize else {
            throw failure("attribute \(name) has an implausible string length \(size)")
        }
        let memory = HDF5Handle(H5Tcopy(tl_H5T_C_S1()))
        guard H5Tset_size(memory.id, size) >= 0, H5Tset_strpad(memory.id, H5T_STR_NULLPAD) >= 0,
              H5Tset_cset(memory.id, cset) >= 0 else {
            throw failure(HDF5.reason("cannot make a string type"))
        }
        var bytes = [UInt8](repeating: 0, count: size)
        guard H5Aread(attribute.id, memory.id, &bytes) >= 0 else {
            throw failure(HDF5.reason("cannot read attribute \(name)"))
        }
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Reads an integer attribute (any integer type that fits Int64), scalar or one element.
    public func intAttribute(_ name: String) throws -> Int64 {
        let (attribute, type) = try openAttribute(name)
        guard H5Tget_class(type.id) == H5T_INTEGER else { throw failure("attribute \(name) is not an integer") }
        try checkSingleValue(attribute, name)
        var value: Int64 = 0
        guard H5Aread(attribute.id, tl_H5T_NATIVE_INT64(), &value) >= 0 else {
            throw failure(HDF5.reason("cannot read attribute \(name) as a 64-bit integer"))
        }
        return value
    }

    private func openAttribute(_ name: String) throws -> (attribute: HDF5Handle, type: HDF5Handle) {
        guard hasAttribute(name) else { throw failure("has no attribute \(name)") }
        let attribute = HDF5Handle(H5Aopen(hid, name, tl_H5P_DEFAULT()))
        guard attribute.id >= 0 else { throw failure(HDF5.reason("cannot open attribute \(name)")) }
        let type = HDF5Handle(H5Aget_type(attribute.id))
        guard type.id >= 0 else { throw failure(HDF5.reason("cannot read the type of attribute \(name)")) }
        return (attribute, type)
    }

    private func checkSingleValue(_ attribute: HDF5Handle, _ name: String) throws {
        let space = HDF5Handle(H5Aget_space(attribute.id))
        guard space.id >= 0, H5Sget_simple_extent_npoints(space.id) == 1 else {
            throw failure("attribute \(name) is not a single value")
        }
    }

    private func createAttribute(_ name: String, type: HDF5Handle) throws -> HDF5Handle {
        guard file.isWritable else { throw failure("is read-only") }
        guard !name.isEmpty, !name.contains("\0") else { throw failure("invalid attribute name \"\(name)\"") }
        if hasAttribute(name), H5Adelete(hid, name) < 0 {
            throw failure(HDF5.reason("cannot replace attribute \(name)"))
        }
        let space = HDF5Handle(H5Screate(H5S_SCALAR))
        let acpl = HDF5Handle(H5Pcreate(tl_H5P_ATTRIBUTE_CREATE()))
        guard space.id >= 0, acpl.id >= 0, H5Pset_char_encoding(acpl.id, H5T_CSET_UTF8) >= 0 else {
            throw failure(HDF5.reason("cannot set up attribute \(name)"))
        }
        let attribute = HDF5Handle(H5Acreate2(hid, name, type.id, space.id, acpl.id, tl_H5P_DEFAULT()))
        guard attribute.id >= 0 else { throw failure(HDF5.reason("cannot create attribute \(name)")) }
        return attribute
    }
}
