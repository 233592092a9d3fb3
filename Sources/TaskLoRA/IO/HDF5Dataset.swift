import CHDF5
import Foundation

/// The element types tasklora stores. All are little-endian in the file.
public enum HDF5ElementType: String, Sendable, CaseIterable {
    case uint8, uint16, uint32, int64, float16, float32, float64

    public var byteSize: Int {
        switch self {
        case .uint8: return 1
        case .uint16, .float16: return 2
        case .uint32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    var isInteger: Bool { self == .uint8 || self == .uint16 || self == .uint32 || self == .int64 }

    /// A fresh copy of the file type (also used as the memory type: this needs a little-endian host).
    func makeFileType() throws -> HDF5Handle {
        let id: hid_t
        switch self {
        case .uint8: id = H5Tcopy(tl_H5T_STD_U8LE())
        case .uint16: id = H5Tcopy(tl_H5T_STD_U16LE())
        case .uint32: id = H5Tcopy(tl_H5T_STD_U32LE())
        case .int64: id = H5Tcopy(tl_H5T_STD_I64LE())
        case .float16: id = tl_H5T_IEEE_F16LE_make()
        case .float32: id = H5Tcopy(tl_H5T_IEEE_F32LE())
        case .float64: id = H5Tcopy(tl_H5T_IEEE_F64LE())
        }
        guard id >= 0 else { throw TaskLoRAError(HDF5.reason("HDF5: cannot make type \(rawValue)")) }
        return HDF5Handle(id)
    }

    /// Recognizes a file type; nil for anything else (big-endian, strings, compounds, ...).
    init?(fileType t: hid_t) {
        guard H5Tget_order(t) == H5T_ORDER_LE else { return nil }
        let size = H5Tget_size(t)
        switch H5Tget_class(t) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(t) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): self = .uint8
            case (2, false): self = .uint16
            case (4, false): self = .uint32
            case (8, true): self = .int64
            default: return nil
            }
        case H5T_FLOAT:
            var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
            guard H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) >= 0 else { return nil }
            switch (size, spos, epos, esize, mpos, msize) {
            case (2, 15, 10, 5, 0, 10) where H5Tget_ebias(t) == 15: self = .float16
            case (4, 31, 23, 8, 0, 23): self = .float32
            case (8, 63, 52, 11, 0, 52): self = .float64
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Swift element types that map one to one onto a stored element type.
public protocol HDF5Element { static var hdf5Type: HDF5ElementType { get } }
extension UInt8: HDF5Element { public static var hdf5Type: HDF5ElementType { .uint8 } }
extension UInt16: HDF5Element { public static var hdf5Type: HDF5ElementType { .uint16 } }
extension UInt32: HDF5Element { public static var hdf5Type: HDF5ElementType { .uint32 } }
extension Int64: HDF5Element { public static var hdf5Type: HDF5ElementType { .int64 } }
extension Float: HDF5Element { public static var hdf5Type: HDF5ElementType { .float32 } }
extension Double: HDF5Element { public static var hdf5Type: HDF5ElementType { .float64 } }

#if _endian(big)
#error("tasklora's HDF5 layer uses little-endian memory layouts as file layouts")
#endif

/// A dataset whose shape and element type were validated on opening.
public final class HDF5Dataset: HDF5Object {
    public let file: HDF5File
    public let path: String
    let handle: HDF5Handle
    public var hid: hid_t { handle.id }
    /// Row-major shape; [] for a scalar.
    public let shape: [Int]
    public let elementType: HDF5ElementType
    public let count: Int
    public var byteCount: Int { count * elementType.byteSize }
    /// The data is one unfiltered byte range inside the file (or not stored yet): reading it is a
    /// plain bounded read, with no chunk index or filter for libhdf5 to interpret.
    public let isPlainRangeInFile: Bool

    /// Opens and validates: known element type, rank and element count plausible for the file size.
    init(file: HDF5File, path: String, handle: HDF5Handle) throws {
        self.file = file
        self.path = path
        self.handle = handle
        func fail(_ problem: String) -> TaskLoRAError { TaskLoRAError.file(file.path, "\(path): \(problem)") }

        let type = HDF5Handle(H5Dget_type(handle.id))
        guard type.id >= 0 else { throw fail(HDF5.reason("cannot read the datatype")) }
        guard let element = HDF5ElementType(fileType: type.id) else {
            throw fail("unsupported datatype (expected little-endian uint8, uint16, uint32, int64, float16, float32 or float64)")
        }
        let space = HDF5Handle(H5Dget_space(handle.id))
        guard space.id >= 0 else { throw fail(HDF5.reason("cannot read the dataspace")) }
        let rank = H5Sget_simple_extent_ndims(space.id)
        guard rank >= 0, rank <= 32 else { throw fail("has an invalid rank \(rank)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { guard H5Sget_simple_extent_dims(space.id, &dims, nil) == rank else { throw fail("has unreadable dimensions") } }

        // Bound the element count by what the file can hold before anyone allocates it.
        var bytes: UInt64 = UInt64(element.byteSize)
        for d in dims {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow, d <= UInt64(Int.max) else { throw fail("has implausible dimensions \(dims)") }
            bytes = product
        }
        let dcpl = HDF5Handle(H5Dget_create_plist(handle.id))
        guard dcpl.id >= 0 else { throw fail(HDF5.reason("cannot read the storage properties")) }
        // Virtual datasets and external storage would make libhdf5 read other files named here.
        let layout = H5Pget_layout(dcpl.id)
        guard layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED || layout == H5D_COMPACT else {
            throw fail("has an unsupported storage layout (virtual or unknown); tasklora reads contiguous, chunked and compact datasets")
        }
        guard H5Pget_external_count(dcpl.id) == 0 else {
            throw fail("keeps its data in external files, which tasklora does not read")
        }
        let compressed = H5Pget_nfilters(dcpl.id) > 0
        // Deflate cannot shrink data more than about 1032:1.
        let stored = UInt64(H5Dget_storage_size(handle.id))
        let limit = compressed ? max(stored, 1) &* 1100 : file.byteSize
        guard file.isWritable || bytes <= limit else {
            throw fail("claims shape \(dims) (\(bytes) bytes) but the file holds only \(file.byteSize) bytes (truncated or damaged?)")
        }
        if layout == H5D_CONTIGUOUS && !compressed {
            let offset = UInt64(H5Dget_offset(handle.id))  // HADDR_UNDEF (all ones) when nothing is stored yet
            let (end, overflow) = offset.addingReportingOverflow(stored)
            isPlainRangeInFile = offset == .max || (!overflow && end <= file.byteSize)
        } else {
            isPlainRangeInFile = false
        }
        self.elementType = element
        self.shape = dims.map { Int($0) }
        self.count = shape.reduce(1, *)
    }

    /// Reads the stored bytes unchanged into `destination`, which must hold exactly `byteCount` bytes.
    public func readRaw(into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count == byteCount else {
            throw failure("read into \(destination.count) bytes, needs \(byteCount)")
        }
        guard count > 0 else { return }
        let memory = try elementType.makeFileType()
        guard H5Dread(hid, memory.id, tl_H5S_ALL(), tl_H5S_ALL(), tl_H5P_DEFAULT(), destination.baseAddress) >= 0 else {
            throw failure(HDF5.reason("cannot read data (truncated or damaged?)"))
        }
    }

    /// All elements, checking that `T` matches the stored element type.
    public func read<T: HDF5Element>(_: T.Type = T.self) throws -> [T] {
        guard T.hdf5Type == elementType else {
            throw failure("holds \(elementType.rawValue), expected \(T.hdf5Type.rawValue)")
        }
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readRaw(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

extension HDF5Group {
    /// Creates dataset `name` of `shape` from `bytes`, already in the stored layout of `type`.
    /// `gzipLevel` (0...9) compresses in chunks of at most 1 MiB; nil stores contiguously.
    @discardableResult
    public func createDataset(_ name: String, type: HDF5ElementType, shape: [Int],
                              bytes: UnsafeRawBufferPointer, gzipLevel: Int? = nil) throws -> HDF5Dataset {
        try checkNewChild(name)
        guard shape.count <= 32, shape.allSatisfy({ $0 >= 0 }) else { throw failure("\(name): invalid shape \(shape)") }
        let count = shape.reduce(1, *)
        guard bytes.count == count * type.byteSize else {
            throw failure("\(name): \(bytes.count) bytes for shape \(shape) of \(type.rawValue)")
        }
        let fileType = try type.makeFileType()
        var dims = shape.map { hsize_t($0) }
        let space = HDF5Handle(shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), &dims, nil))
        let dcpl = HDF5Handle(H5Pcreate(tl_H5P_DATASET_CREATE()))
        guard space.id >= 0, dcpl.id >= 0 else { throw failure(HDF5.reason("\(name): cannot set up dataset")) }
        if let level = gzipLevel, !shape.isEmpty, count > 0 {
            guard (0...9).contains(level), H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 else {
                throw failure("\(name): gzip level \(level) unavailable")
            }
            var chunk = Self.chunkShape(shape, elementSize: type.byteSize).map { hsize_t($0) }
            guard H5Pset_chunk(dcpl.id, Int32(chunk.count), &chunk) >= 0, H5Pset_deflate(dcpl.id, UInt32(level)) >= 0 else {
                throw failure(HDF5.reason("\(name): cannot set up compression"))
            }
        }
        let lcpl = try Self.utf8LinkCreation()
        let id = H5Dcreate2(hid, name, fileType.id, space.id, lcpl.id, dcpl.id, tl_H5P_DEFAULT())
        guard id >= 0 else { throw failure(HDF5.reason("cannot create dataset \(name)")) }
        let dataset = HDF5Handle(id)
        if count > 0 {
            guard H5Dwrite(id, fileType.id, tl_H5S_ALL(), tl_H5S_ALL(), tl_H5P_DEFAULT(), bytes.baseAddress) >= 0 else {
                throw failure(HDF5.reason("cannot write dataset \(name)"))
            }
        }
        return try HDF5Dataset(file: file, path: childPath(name), handle: dataset)
    }

    /// Creates dataset `name` holding `values` with `shape` (default: 1-D).
    @discardableResult
    public func createDataset<T: HDF5Element>(_ name: String, values: [T], shape: [Int]? = nil,
                                              gzipLevel: Int? = nil) throws -> HDF5Dataset {
        try values.withUnsafeBytes {
            try createDataset(name, type: T.hdf5Type, shape: shape ?? [values.count], bytes: $0, gzipLevel: gzipLevel)
        }
    }

    /// Halves leading dimensions until a chunk is at most 1 MiB.
    static func chunkShape(_ shape: [Int], elementSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        var axis = 0
        while chunk.reduce(elementSize, *) > 1 << 20, axis < chunk.count {
            if chunk[axis] > 1 { chunk[axis] = (chunk[axis] + 1) / 2 } else { axis += 1 }
        }
        return chunk
    }
}
