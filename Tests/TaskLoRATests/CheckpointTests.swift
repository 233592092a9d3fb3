import Foundation
import XCTest
@testable import TaskLoRA

final class CheckpointTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Deterministic values spread over several magnitudes and both signs.
    private func tensor(_ shape: [Int], seed: Int) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, values: (0..<count).map { i in
            let x = Float((i * 7919 + seed * 104_729) % 2003) / 2003 - 0.5
            return x * Float(1 << ((i + seed) % 6))
        })
    }

    private func sample() -> Checkpoint {
        var ckpt = Checkpoint(configJSON: #"{"model_type": "bert", "hidden_size": 8, "note": "ünïcödé"}"#)
        ckpt.metadata = ["created_by": "tasklora tests", "source": "unit", "created_at": "2026-01-01T00:00:00Z"]
        ckpt.tokenizer = TokenizerArchive(
            kind: "unigram", attributes: ["unk_id": "3", "add_prefix_space": "true"],
            bytes: ["pieces": Array("▁hello\0world".utf8)], uint32: ["offsets": [0, 8, 13]],
            float32: ["scores": [-1.5, -2.25, 0]])
        ckpt.weights = [
            "encoder.layer.0.attention.self.query.weight": tensor([8, 8], seed: 1),
            "encoder.layer.0.attention.self.query.bias": tensor([8], seed: 2),
            "embeddings.word_embeddings.weight": tensor([5, 8], seed: 3),
            "scale": tensor([], seed: 4),
            "empty": Tensor(zeros: [0, 3]),
        ]
        ckpt.adapters = [
            "retrieval.query": AdapterArchive(attributes: ["rank": "2", "alpha": "4", "targets": "query,value"],
                                              tensors: ["encoder.layer.0.attention.self.query.lora_A": tensor([2, 8], seed: 5),
                                                        "encoder.layer.0.attention.self.query.lora_B": tensor([8, 2], seed: 6)]),
            "classification": AdapterArchive(attributes: [:], tensors: ["head.weight": tensor([3, 8], seed: 7)]),
        ]
        ckpt.training = ["adam.m.0": tensor([4], seed: 8)]
        ckpt.trainingAttributes = ["step": "12"]
        return ckpt
    }

    private func assertEqual(_ a: [String: Tensor], _ b: [String: Tensor], tolerance: (Float) -> Float = { _ in 0 },
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.keys), Set(b.keys), file: file, line: line)
        for (name, x) in a {
            guard let y = b[name] else { continue }
            XCTAssertEqual(x.shape, y.shape, name, file: file, line: line)
            guard x.count == y.count else { continue }
            for i in 0..<x.count where abs(x[i] - y[i]) > tolerance(x[i]) {
                XCTFail("\(name)[\(i)]: \(x[i]) vs \(y[i])", file: file, line: line)
                break
            }
        }
    }

    private func assertThrows(_ expected: String, file: StaticString = #filePath, line: UInt = #line,
                              _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error containing \"\(expected)\"", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(expected), "\"\(error)\" lacks \"\(expected)\"", file: file, line: line)
        }
    }

    // MARK: - Round trips

    func testRoundTripFloat32IsExact() throws {
        let original = sample()
        let file = path("model.h5")
        try original.write(to: file)
        let read = try Checkpoint.read(path: file)
        XCTAssertEqual(read.formatVersion, 1)
        XCTAssertEqual(read.metadata, original.metadata)
        XCTAssertEqual(read.configJSON, original.configJSON)
        XCTAssertEqual(read.tokenizer, original.tokenizer)
        assertEqual(read.weights, original.weights)
        XCTAssertEqual(Set(read.adapters.keys), ["retrieval.query", "classification"])
        for (name, adapter) in original.adapters {
            XCTAssertEqual(read.adapters[name]?.attributes, adapter.attributes)
            assertEqual(read.adapters[name]?.tensors ?? [:], adapter.tensors)
        }
        assertEqual(read.training, original.training)
        XCTAssertEqual(read.trainingAttributes, original.trainingAttributes)
        XCTAssertEqual(read.weights["scale"]?.shape, [])
        XCTAssertEqual(read.weights["empty"]?.shape, [0, 3])

        let light = try Checkpoint.read(path: file, loadWeights: false)
        XCTAssertTrue(light.weights.isEmpty)
        XCTAssertEqual(light.adapters.count, 2)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertEqual(leftovers, ["model.h5"], "no temporary file may remain")
    }

    func testDefaultsAndMinimalCheckpoint() throws {
        let file = path("minimal.h5")
        try Checkpoint().write(to: file)
        let read = try Checkpoint.read(path: file)
        XCTAssertEqual(read.metadata["created_by"], "tasklora")
        XCTAssertNotNil(read.metadata["created_at"])
        XCTAssertEqual(read.configJSON, "{}")
        XCTAssertNil(read.tokenizer)
        XCTAssertTrue(read.weights.isEmpty && read.adapters.isEmpty && read.training.isEmpty)
    }

    func testHalfPrecisionStorage() throws {
        let original = sample()
        for storage in [WeightStorage.float16, .bfloat16] {
            let file = path("\(storage.rawValue).h5")
            try original.write(to: file, storage: storage)
            let read = try Checkpoint.read(path: file)
            // Relative rounding error of round-to-nearest: 2^-11 (float16), 2^-8 (bfloat16).
            let epsilon: Float = storage == .float16 ? 0x1p-11 : 0x1p-8
            assertEqual(read.weights, original.weights, tolerance: { abs($0) * epsilon + 1e-7 })
            for (name, adapter) in original.adapters { assertEqual(read.adapters[name]!.tensors, adapter.tensors) }
            assertEqual(read.training, original.training)

            let weights = try HDF5File.open(file).root().openGroup("weights")
            let dataset = try weights.openDataset("encoder.layer.0.attention.self.query.weight")
            XCTAssertEqual(dataset.floatStorage, storage)
            XCTAssertEqual(dataset.elementType, storage == .float16 ? .float16 : .uint16)
        }
    }

    func testGzipRoundTrip() throws {
        let file = path("gzip.h5")
        var ckpt = sample()
        ckpt.weights["big"] = tensor([300, 1000], seed: 9)
        try ckpt.write(to: file, storage: .float32, gzipLevel: 4)
        assertEqual(try Checkpoint.read(path: file).weights, ckpt.weights)
    }

    func testHalfConversionEdgeCases() {
        XCTAssertEqual(HalfBits.float16(1), 0x3C00)
        XCTAssertEqual(HalfBits.float16(-2), 0xC000)
        XCTAssertEqual(HalfBits.float16(65504), 0x7BFF)
        XCTAssertEqual(HalfBits.float16(65520), 0x7C00, "rounds up to infinity")
        XCTAssertEqual(HalfBits.float16(1e9), 0x7C00)
        XCTAssertEqual(HalfBits.float16(-.infinity), 0xFC00)
        XCTAssertTrue(HalfBits.float32(fromFloat16: HalfBits.float16(.nan)).isNaN)
        XCTAssertEqual(HalfBits.float16(0x1p-24), 0x0001, "smallest subnormal")
        XCTAssertEqual(HalfBits.float16(0x1p-25), 0x0000, "tie rounds to even")
        XCTAssertEqual(HalfBits.float16(1 + 0x1p-11), 0x3C00, "tie rounds to even")
        XCTAssertEqual(HalfBits.float16(1 + 0x1p-11 + 0x1p-20), 0x3C01)
        XCTAssertEqual(HalfBits.float32(fromFloat16: 0x0001), 0x1p-24)
        XCTAssertEqual(HalfBits.float32(fromFloat16: 0x7BFF), 65504)
        for bits in [UInt16(0x0000), 0x03FF, 0x0400, 0x3555, 0xBC00, 0x7C00] {
            XCTAssertEqual(HalfBits.float16(HalfBits.float32(fromFloat16: bits)), bits)
        }
        XCTAssertEqual(HalfBits.bfloat16(1), 0x3F80)
        XCTAssertEqual(HalfBits.bfloat16(Float(bitPattern: 0x3F80_8000)), 0x3F80, "tie rounds to even")
        XCTAssertEqual(HalfBits.bfloat16(Float(bitPattern: 0x3F81_8000)), 0x3F82, "tie rounds to even")
        XCTAssertTrue(HalfBits.float32(fromBFloat16: HalfBits.bfloat16(.nan)).isNaN)
        XCTAssertEqual(HalfBits.float32(fromBFloat16: 0xC040), -3)
    }

    func testCRC32MatchesZlib() {
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }
        XCTAssertEqual(check, 0xCBF4_3926)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = long.withUnsafeBytes { CRC32.checksum($0) }
        let split = long.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[13...]),
                                                          continuing: CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[..<13]))) }
        XCTAssertEqual(whole, split)
        XCTAssertEqual([UInt8]().withUnsafeBytes { CRC32.checksum($0) }, 0)
    }

    // MARK: - Bad files

    func testTruncatedFile() throws {
        let file = path("truncated.h5")
        try sample().write(to: file)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: file))
        assertThrows(file) { _ = try Checkpoint.read(path: file) }
        // Cut inside the superblock too.
        try data.prefix(40).write(to: URL(fileURLWithPath: file))
        assertThrows(file) { _ = try Checkpoint.read(path: file) }
    }

    /// `HDF5Sandbox` reads in a child first: its error is the one this process's read throws,
    /// word for word, and a sound file then reads normally here.
    func testSandboxPassesTheReadersOwnErrorThrough() throws {
        let file = path("half.h5")
        try sample().write(to: file)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertFalse(try Checkpoint.read(path: file).weights.isEmpty)
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: file))
        var messages: [String] = []
        for enabled in [true, false] {
            HDF5Sandbox.isEnabled = enabled
            defer { HDF5Sandbox.isEnabled = true }
            XCTAssertThrowsError(try Checkpoint.read(path: file)) { messages.append("\($0)") }
        }
        XCTAssertEqual(messages.count, 2)
        XCTAssertEqual(messages.first, messages.last)
        XCTAssertTrue(messages.first?.hasPrefix(file + ": ") ?? false, "\(messages)")
    }

    func testNotHDF5() throws {
        let file = path("notes.h5")
        try Data("just some text, not HDF5\n".utf8).write(to: URL(fileURLWithPath: file))
        assertThrows("\(file): is not an HDF5 file") { _ = try Checkpoint.read(path: file) }
        assertThrows("\(path("absent.h5")): no such file") { _ = try Checkpoint.read(path: path("absent.h5")) }
        assertThrows("is a directory") { _ = try Checkpoint.read(path: folder.path) }
    }

    /// A tasklora root with a config, built by hand; `body` adds the rest.
    private func handMade(_ name: String, format: String = "tasklora", version: Int64? = 1, createdBy: Bool = true,
                          _ body: (HDF5Group) throws -> Void = { _ in }) throws -> String {
        let file = path(name)
        let h5 = try HDF5File.create(file)
        let root = try h5.root()
        try root.setAttribute("format", format)
        if let version { try root.setAttribute("format_version", version) }
        if createdBy { try root.setAttribute("created_by", "hand") }
        try root.createGroup("config").setAttribute("json", "{}")
        try body(root)
        try h5.commit()
        return file
    }

    func testMissingWeights() throws {
        let noGroup = try handMade("no-weights.h5")
        assertThrows("\(noGroup): has no /weights group") { _ = try Checkpoint.read(path: noGroup) }

        let missingTensor = try handMade("missing-tensor.h5") { root in
            let weights = try root.createGroup("weights")
            try weights.setAttribute("tensor_count", 2)
            let values: [Float] = [1, 2, 3]
            let (dataset, crc) = try values.withUnsafeBufferPointer {
                try weights.createFloatDataset("a.weight", shape: [3], values: $0, storage: .float32)
            }
            try dataset.setAttribute("checksum", Int64(crc), as: .uint32)
        }
        assertThrows("\(missingTensor): /weights: records 2 tensors but holds 1") {
            _ = try Checkpoint.read(path: missingTensor)
        }
        XCTAssertNoThrow(try Checkpoint.read(path: missingTensor, loadWeights: false))
    }

    func testCorruptedTensorFailsChecksum() throws {
        let file = path("corrupt.h5")
        var ckpt = Checkpoint()
        let values = (0..<64).map { Float($0) * 1.25 + 1000 }
        ckpt.weights = ["pooler.dense.weight": Tensor(shape: [8, 8], values: values), "other": tensor([4], seed: 1)]
        try ckpt.write(to: file)
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let pattern = values.withUnsafeBytes { Data($0) }
        let range = try XCTUnwrap(data.range(of: pattern), "the tensor's bytes are stored contiguously")
        data[range.lowerBound + 100] ^= 0x40
        try data.write(to: URL(fileURLWithPath: file))
        assertThrows("\(file): tensor /weights/pooler.dense.weight fails its checksum (file corrupted?)") {
            _ = try Checkpoint.read(path: file)
        }
    }

    func testImplausibleShapeIsRejectedBeforeAllocation() throws {
        let file = path("huge.h5")
        var ckpt = Checkpoint()
        ckpt.weights = ["big": Tensor(zeros: [77777, 1])]
        try ckpt.write(to: file)
        // Rewrite the extent (and maximum extent) in the dataspace message to 2^40 rows.
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let old = withUnsafeBytes(of: UInt64(77777).littleEndian) { Data($0) }
        let new = withUnsafeBytes(of: (UInt64(1) << 40).littleEndian) { Data($0) }
        var replaced = 0
        while let range = data.range(of: old) {
            data.replaceSubrange(range, with: new)
            replaced += 1
        }
        XCTAssertGreaterThan(replaced, 0)
        try data.write(to: URL(fileURLWithPath: file))
        assertThrows("\(file): /weights/big") { _ = try Checkpoint.read(path: file) }
    }

    func testWrongFormatAttributes() throws {
        let other = try handMade("other.h5", format: "keras")
        assertThrows("\(other): is an HDF5 file but not a tasklora checkpoint") { _ = try Checkpoint.read(path: other) }

        let newer = try handMade("newer.h5", version: 2)
        assertThrows("\(newer): was written in checkpoint format version 2, newer than this tasklora reads (1)") {
            _ = try Checkpoint.read(path: newer)
        }

        let unversioned = try handMade("unversioned.h5", version: nil)
        assertThrows("\(unversioned): is not a valid tasklora checkpoint (no integer root attribute format_version)") {
            _ = try Checkpoint.read(path: unversioned)
        }

        let anonymous = try handMade("anonymous.h5", createdBy: false) { try $0.createGroup("weights").setAttribute("tensor_count", 0) }
        assertThrows("\(anonymous): is not a valid tasklora checkpoint (no root attribute created_by)") {
            _ = try Checkpoint.read(path: anonymous)
        }

        let bare = path("bare.h5")
        let h5 = try HDF5File.create(bare)
        try h5.root().createGroup("weights")
        try h5.commit()
        assertThrows("\(bare): is an HDF5 file but not a tasklora checkpoint") { _ = try Checkpoint.read(path: bare) }

        var reserved = Checkpoint()
        reserved.metadata["format"] = "mine"
        assertThrows("metadata key format is reserved") { try reserved.write(to: path("reserved.h5")) }
    }

    func testInterruptedWriteKeepsPreviousFile() throws {
        let file = path("model.h5")
        let original = sample()
        try original.write(to: file)
        let before = try Data(contentsOf: URL(fileURLWithPath: file))

        do {  // A writer dropped without commit.
            let h5 = try HDF5File.create(file)
            let root = try h5.root()
            try root.setAttribute("format", "tasklora")
            let weights = try root.createGroup("weights")
            try weights.createDataset("partial", values: [Float](repeating: 7, count: 1000))
            withExtendedLifetime(h5) {
                XCTAssertEqual(try? FileManager.default.contentsOfDirectory(atPath: folder.path).count, 2)
            }
        }
        // A checkpoint write that fails half-way (a reserved adapter attribute).
        var bad = sample()
        bad.adapters["x"] = AdapterArchive(attributes: ["tensor_count": "1"], tensors: [:])
        assertThrows("reserved") { try bad.write(to: file) }

        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.h5"])
        assertEqual(try Checkpoint.read(path: file).weights, original.weights)
    }

    func testInvalidNamesAreRejected() throws {
        var ckpt = Checkpoint()
        ckpt.weights = ["a/b": tensor([2], seed: 0)]
        assertThrows("invalid name \"a/b\"") { try ckpt.write(to: path("slash.h5")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("slash.h5")))
    }

    // MARK: - Interoperability with h5py

    func testH5pyReadsCheckpoint() throws {
        _ = try TestPaths.requirePython()
        let original = sample()
        let cases: [(WeightStorage, Int?)] = [(.float32, nil), (.float16, nil), (.bfloat16, nil), (.float16, 6)]
        for (storage, gzip) in cases {
            let file = path("py-\(storage.rawValue)-\(gzip ?? 0).h5")
            try original.write(to: file, storage: storage, gzipLevel: gzip)
            let script = """
            import sys, json, zlib, h5py, numpy as np
            f = h5py.File(sys.argv[1], "r")
            assert f.attrs["format"] == "tasklora" and int(f.attrs["format_version"]) == 1
            config = json.loads(f["config"].attrs["json"])
            ds = f["weights"]["encoder.layer.0.attention.self.query.weight"]
            raw = ds[()]
            w = (raw.astype(np.uint32) << 16).view(np.float32) if ds.attrs.get("dtype") == "bfloat16" else raw.astype(np.float32)
            crcs = all(zlib.crc32(np.ascontiguousarray(d[()]).tobytes()) == int(d.attrs["checksum"])
                       for g in ("weights", "adapters/retrieval.query", "tokenizer", "training")
                       for d in f[g].values())
            lora = f["adapters"]["retrieval.query"]
            print(json.dumps({"config": config, "shape": list(w.shape), "values": w.ravel().tolist(), "crcs": crcs,
                              "rank": lora.attrs["rank"], "kind": f["tokenizer"].attrs["kind"],
                              "pieces": bytes(f["tokenizer"]["pieces"][()]).decode()}))
            """
            let out = try TestPaths.runPythonCode(script, [file])
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
            let config = try XCTUnwrap(json["config"] as? [String: Any])
            XCTAssertEqual(config["model_type"] as? String, "bert")
            XCTAssertEqual(config["note"] as? String, "ünïcödé")
            XCTAssertEqual(json["shape"] as? [Int], [8, 8])
            XCTAssertEqual(json["crcs"] as? Bool, true, "zlib.crc32 of every dataset matches its checksum")
            XCTAssertEqual(json["rank"] as? String, "2")
            XCTAssertEqual(json["kind"] as? String, "unigram")
            XCTAssertEqual(json["pieces"] as? String, "▁hello\0world")
            let values = try XCTUnwrap(json["values"] as? [Double]).map { Float($0) }
            let expected = original.weights["encoder.layer.0.attention.self.query.weight"]!.array
            let epsilon: Float = storage == .float32 ? 0 : storage == .float16 ? 0x1p-11 : 0x1p-8
            XCTAssertEqual(values.count, expected.count)
            for (a, b) in zip(values, expected) { XCTAssertLessThanOrEqual(abs(a - b), abs(b) * epsilon + 1e-7) }
        }
    }

    /// HDF5 can make a file read other files: external links, external raw-data storage, virtual
    /// datasets. A checkpoint from the internet must not make tasklora read files it names, so each
    /// is refused by name (soft links too: tasklora follows only hard links).
    func testLinksAndStorageThatReachOtherFilesAreRefused() throws {
        _ = try TestPaths.requirePython()
        let script = """
        import sys, os, json, zlib, h5py, numpy as np
        folder = sys.argv[1]
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        def checkpoint(name, weights):
            with h5py.File(os.path.join(folder, name), "w") as f:
                f.attrs["format"] = "tasklora"
                f.attrs["format_version"] = np.int64(1)
                f.attrs["created_by"] = "h5py"
                f.create_group("config").attrs["json"] = "{}"
                weights(f)
        def group(f):
            w = f.create_group("weights")
            w.attrs["tensor_count"] = 1
            return w
        def stamp(d):
            d.attrs["checksum"] = np.uint32(zlib.crc32(a.tobytes()))
        with h5py.File(os.path.join(folder, "other.h5"), "w") as f:
            w = f.create_group("weights"); w.attrs["tensor_count"] = 1; stamp(w.create_dataset("x.weight", data=a))
        a.tofile(os.path.join(folder, "raw.bin"))
        checkpoint("external-link.h5", lambda f: f.__setitem__("weights", h5py.ExternalLink("other.h5", "/weights")))
        def soft(f):
            w = group(f); f.create_group("elsewhere"); stamp(f["elsewhere"].create_dataset("x", data=a))
            w["x.weight"] = h5py.SoftLink("/elsewhere/x")
        checkpoint("soft-link.h5", soft)
        def external_storage(f):
            w = group(f)
            stamp(w.create_dataset("x.weight", shape=(2, 3), dtype="<f4", external=[(os.path.join(folder, "raw.bin"), 0, 24)]))
        checkpoint("external-storage.h5", external_storage)
        def virtual(f):
            w = group(f)
            layout = h5py.VirtualLayout(shape=(2, 3), dtype="<f4")
            layout[:] = h5py.VirtualSource(os.path.join(folder, "other.h5"), "/weights/x.weight", shape=(2, 3))
            stamp(w.create_virtual_dataset("x.weight", layout))
        checkpoint("virtual.h5", virtual)
        """
        _ = try TestPaths.runPythonCode(script, [folder.path])
        let expected = [
            "external-link.h5": "/weights is a soft or external link; tasklora follows only hard links",
            "soft-link.h5": "/weights: x.weight is a soft or external link; tasklora follows only hard links",
            "external-storage.h5": "/weights/x.weight: keeps its data in external files, which tasklora does not read",
            "virtual.h5": "/weights/x.weight: has an unsupported storage layout (virtual or unknown)",
        ]
        for (name, problem) in expected.sorted(by: { $0.key < $1.key }) {
            let file = path(name)
            XCTAssertThrowsError(try Checkpoint.read(path: file), name) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(file): \(problem)"), "\(error)")
            }
        }
        // The file they point at is itself a readable checkpoint part: only the indirection is refused.
        XCTAssertEqual(try HDF5File.open(path("other.h5")).root().openGroup("weights").openDataset("x.weight").shape, [2, 3])
    }

    func testReadsWhatH5pyWrites() throws {
        _ = try TestPaths.requirePython()
        let file = path("from-h5py.h5")
        let script = """
        import sys, json, zlib, h5py, numpy as np
        with h5py.File(sys.argv[1], "w") as f:
            f.attrs["format"] = "tasklora"
            f.attrs["format_version"] = np.int64(1)
            f.attrs["created_by"] = np.bytes_(b"h5py fixed")   # fixed-length string
            f.attrs["source"] = "variable length"
            f.create_group("config").attrs["json"] = json.dumps({"hidden_size": 4})
            w = f.create_group("weights")
            w.attrs["tensor_count"] = 2
            a = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
            d = w.create_dataset("x.weight", data=a, compression="gzip")
            d.attrs["checksum"] = np.uint32(zlib.crc32(a.tobytes()))
            h = np.array([0.5, -1, 2], dtype=np.float16)
            d = w.create_dataset("x.bias", data=h)
            d.attrs["checksum"] = np.uint32(zlib.crc32(h.tobytes()))
        """
        _ = try TestPaths.runPythonCode(script, [file])
        let read = try Checkpoint.read(path: file)
        XCTAssertEqual(read.metadata["created_by"], "h5py fixed")
        XCTAssertEqual(read.metadata["source"], "variable length")
        XCTAssertEqual(read.configJSON, #"{"hidden_size": 4}"#)
        XCTAssertEqual(read.weights["x.weight"]?.shape, [3, 4])
        XCTAssertEqual(read.weights["x.weight"]?.array, (0..<12).map { Float($0) / 8 })
        XCTAssertEqual(read.weights["x.bias"]?.array, [0.5, -1, 2])
    }
}
