import CDNNL
import Foundation

/// The part of oneDNN (2.x C API) tasklora uses for its low-precision frozen GEMMs: one CPU engine,
/// weights reordered once into the layout the matmul prefers, and matmul primitives cached by shape.
///
/// Threads: Debian builds oneDNN on OpenMP (libgomp), whose idle workers spin-wait after every
/// parallel region — the same fight with our own pool that cost OpenBLAS ~18 % of a training step.
/// So oneDNN never gets a team: every thread that calls it first sets its OpenMP team size to 1
/// (an ICV of the calling thread; libgomp then starts no workers at all), and large products are
/// split into row blocks that `Parallel` hands to oneDNN, exactly as `BLAS.gemm` does for OpenBLAS.
/// Each block brings its own scratchpad (user scratchpad mode), so blocks of one primitive can run
/// at once.
enum OneDNN {
    /// The matmul's data types: source (activations), packed weights, destination.
    struct Types: Hashable, CustomStringConvertible {
        let source: dnnl_data_type_t, weights: dnnl_data_type_t, destination: dnnl_data_type_t

        var description: String {
            func name(_ t: dnnl_data_type_t) -> String { String(cString: dnnl_dt2str(t)) }
            return "\(name(source)) × \(name(weights)) → \(name(destination))"
        }

        static let bf16 = Types(source: dnnl_bf16, weights: dnnl_bf16, destination: dnnl_f32)
        /// u8 activations (per-token zero point) × s8 weights → Σ products, written as float32.
        static let int8 = Types(source: dnnl_u8, weights: dnnl_s8, destination: dnnl_f32)
    }

    /// A matmul dst (rows, n) = src (rows, k) · weights (k, n) [+ bias (1, n)] for one block shape;
    /// with `accumulate`, dst += the product instead (oneDNN's sum post-op: a backward pass adds
    /// its input gradient onto what the other branches left there).
    final class Matmul: @unchecked Sendable {
        let primitive: dnnl_primitive_t
        var source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, destination: dnnl_memory_desc_t
        var bias: dnnl_memory_desc_t?
        var scratchpad: dnnl_memory_desc_t
        let scratchpadBytes: Int
        /// oneDNN's name for the kernel it picked, e.g. `brg:avx512_core_bf16`.
        let implementation: String

        /// `packedWeights` nil: let oneDNN choose the weights layout (`format_tag_any`), for packing.
        init(rows: Int, k: Int, n: Int, types: Types, hasBias: Bool, accumulate: Bool = false,
             packedWeights: dnnl_memory_desc_t?) throws {
            OneDNN.teamOfOne()
            source = try OneDNN.matrix(rows, k, types.source, dnnl_ab)
            weights = try packedWeights ?? OneDNN.matrix(k, n, types.weights, dnnl_format_tag_any)
            destination = try OneDNN.matrix(rows, n, types.destination, dnnl_ab)
            bias = hasBias ? try OneDNN.matrix(1, n, dnnl_f32, dnnl_ab) : nil
            var desc = dnnl_matmul_desc_t()
            if var b = bias {
                try OneDNN.check(dnnl_matmul_desc_init(&desc, &source, &weights, &b, &destination), "matmul descriptor")
            } else {
                try OneDNN.check(dnnl_matmul_desc_init(&desc, &source, &weights, nil, &destination), "matmul descriptor")
            }
            var attr: dnnl_primitive_attr_t?
            try OneDNN.check(dnnl_primitive_attr_create(&attr), "primitive attributes")
            defer { dnnl_primitive_attr_destroy(attr) }
            try OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
            if accumulate {
                var postOps: dnnl_post_ops_t?
                try OneDNN.check(dnnl_post_ops_create(&postOps), "post-ops")
                defer { dnnl_post_ops_destroy(postOps) }
                try OneDNN.check(dnnl_post_ops_append_sum(postOps, 1), "sum post-op")
                try OneDNN.check(dnnl_primitive_attr_set_post_ops(attr, postOps), "post-ops attribute")
            }
            var pd: dnnl_primitive_desc_t?
            try OneDNN.check(dnnl_primitive_desc_create(&pd, &desc, attr, OneDNN.engine, nil),
                             "no \(types) matmul \(rows)×\(k)×\(n) on this CPU")
            defer { dnnl_primitive_desc_destroy(pd) }
            weights = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0).pointee
            scratchpad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0).pointee
            scratchpadBytes = dnnl_memory_desc_get_size(&scratchpad)
            implementation = OneDNN.implementation(pd)
            var p: dnnl_primitive_t?
            try OneDNN.check(dnnl_primitive_create(&p, pd), "matmul primitive")
            primitive = p!
        }

        deinit { dnnl_primitive_destroy(primitive) }

        /// Runs the product on the calling thread (OpenMP team of one).
        func execute(source src: UnsafeRawPointer, weights w: UnsafeRawPointer, bias b: UnsafePointer<Float>?,
                     destination dst: UnsafeMutableRawPointer) {
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(scratchpadBytes, 64), alignment: 64)
            defer { scratch.deallocate() }
            var args = [(tasklora_dnnl_arg_src(), OneDNN.memory(&source, src)),
                        (tasklora_dnnl_arg_weights(), OneDNN.memory(&weights, w)),
                        (tasklora_dnnl_arg_dst(), OneDNN.memory(&destination, dst)),
                        (tasklora_dnnl_arg_scratchpad(), OneDNN.memory(&scratchpad, scratch))]
            if var bias, let b { args.append((tasklora_dnnl_arg_bias(), OneDNN.memory(&bias, b))) }
            OneDNN.run(primitive, args)
        }
    }

    /// Whether oneDNN may use VNNI int8 instructions here (AVX-512 VNNI or AVX-VNNI; honours
    /// ONEDNN_MAX_CPU_ISA). See `Int8Quantization.weightLevels`.
    static let hasVNNI: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        return isa & 0x40 != 0 || isa & 0x400 != 0  // the VNNI bits of dnnl_cpu_isa_t
    }()

    /// The CPU engine, made at first use.
    static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        let status = dnnl_engine_create(&e, dnnl_cpu, 0)
        precondition(status == dnnl_success && e != nil, "oneDNN: no CPU engine (status \(status.rawValue))")
        return e!
    }()

    static func check(_ status: dnnl_status_t, _ what: String) throws {
        guard status == dnnl_success else { throw TaskLoRAError("oneDNN: \(what) failed (status \(status.rawValue))") }
    }

    /// A 2-D memory descriptor (rows, cols) of `type` in `tag` order (`dnnl_ab` row-major,
    /// `dnnl_ba` column-major, `dnnl_format_tag_any` for oneDNN to choose).
    static func matrix(_ rows: Int, _ cols: Int, _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) throws
        -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
        try check(dnnl_memory_desc_init_by_tag(&md, 2, dims, type, tag), "memory descriptor \(rows)×\(cols)")
        return md
    }

    static func sameLayout(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func implementation(_ pd: dnnl_primitive_desc_t?) -> String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "?" }
        return String(cString: name)
    }

    /// A memory object over caller-owned storage (no copy). oneDNN copies the descriptor.
    static func memory(_ md: inout dnnl_memory_desc_t, _ data: UnsafeRawPointer) -> dnnl_memory_t {
        var m: dnnl_memory_t?
        let status = dnnl_memory_create(&m, &md, engine, UnsafeMutableRawPointer(mutating: data))
        precondition(status == dnnl_success, "oneDNN: memory object (status \(status.rawValue))")
        return m!
    }

    /// Makes oneDNN work on the calling thread alone. Called before every oneDNN call that may plan
    /// or run threads: some primitives fix their thread count when their descriptor is made, and a
    /// team once started leaves an OpenMP worker behind (seen with gdb before this was done first).
    @inline(__always)
    static func teamOfOne() { omp_set_num_threads(1) }

    /// Executes `primitive` on the calling thread with OpenMP team size 1, waits, frees the memory objects.
    static func run(_ primitive: dnnl_primitive_t, _ args: [(Int32, dnnl_memory_t)]) {
        teamOfOne()
        var stream: dnnl_stream_t?
        precondition(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)) == dnnl_success,
                     "oneDNN: stream")
        let execArgs = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
        let status = dnnl_primitive_execute(primitive, stream, Int32(execArgs.count), execArgs)
        dnnl_stream_wait(stream)
        dnnl_stream_destroy(stream)
        for (_, m) in args { dnnl_memory_destroy(m) }
        precondition(status == dnnl_success, "oneDNN: execution failed (status \(status.rawValue))")
    }

    // MARK: - packing and the primitive cache

    /// Reorders a weight stored (n, k) row-major — W of y = x · Wᵀ, i.e. the (k, n) matmul weight in
    /// column-major `ba` order — of `sourceType` into the packed layout `types` prefers. Returns the
    /// packed bytes (64-byte aligned, owned by the caller) and their descriptor.
    ///
    /// `transposed`: the weight is stored (k, n) row-major instead — W itself as the (k, n) matmul
    /// weight of dx = dy · W, the backward of the same layer.
    static func pack(_ weight: UnsafeRawPointer, sourceType: dnnl_data_type_t, k: Int, n: Int, types: Types,
                     transposed: Bool = false) throws
        -> (data: UnsafeMutableRawPointer, desc: dnnl_memory_desc_t, implementation: String) {
        teamOfOne()
        // The packed layout depends on (k, n) and the types, not on the row count (checked by
        // PrecisionTests for every block shape the encoder uses), so any row count will do here.
        let probe = try Matmul(rows: 64, k: k, n: n, types: types, hasBias: false, packedWeights: nil)
        var packedDesc = probe.weights
        var plain = try matrix(k, n, sourceType, transposed ? dnnl_ab : dnnl_ba)
        let bytes = dnnl_memory_desc_get_size(&packedDesc)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        do { try reorder(from: &plain, weight, to: &packedDesc, packed, "weight reorder") } catch { packed.deallocate(); throw error }
        return (packed, packedDesc, probe.implementation)
    }

    /// The inverse of `pack` for bf16: W (n, k) row-major bf16 bits (the `dnnl_ba` (k, n) layout
    /// `pack` reads) from weights packed as `desc`. The caller deallocates the result. What
    /// `PackedLinear` repacks its backward weights from when no float32 copy of W exists.
    static func unpackBFloat16(_ packed: UnsafeRawPointer, desc: dnnl_memory_desc_t, k: Int, n: Int) throws
        -> UnsafeMutablePointer<UInt16> {
        teamOfOne()
        var packedDesc = desc
        var plain = try matrix(k, n, dnnl_bf16, dnnl_ba)
        let out = UnsafeMutablePointer<UInt16>.allocate(capacity: max(k * n, 1))
        do { try reorder(from: &packedDesc, packed, to: &plain, out, "weight unpack") } catch { out.deallocate(); throw error }
        return out
    }

    /// Copies `source` (laid out as `from`) into `destination` (laid out as `to`), converting the
    /// layout and, where the types differ, the values (oneDNN's reorder, on the calling thread).
    private static func reorder(from: inout dnnl_memory_desc_t, _ source: UnsafeRawPointer,
                                to: inout dnnl_memory_desc_t, _ destination: UnsafeMutableRawPointer, _ what: String) throws {
        var pd: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&pd, &from, engine, &to, engine, nil), what)
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, pd), what + " primitive")
        defer { dnnl_primitive_destroy(primitive) }
        run(primitive!, [(tasklora_dnnl_arg_from(), memory(&from, source)),
                         (tasklora_dnnl_arg_to(), memory(&to, destination))])
    }

    private struct Key: Hashable {
        let rows: Int, k: Int, n: Int, types: Types, hasBias: Bool, accumulate: Bool
    }
    private nonisolated(unsafe) static var cache: [Key: Matmul] = [:]
    private static let lock = NSLock()
    /// Block shapes follow the batch's token count, so the cache is emptied when it grows past this.
    static let cacheCapacity = 1024

    /// The cached matmul for a block of `rows` over packed weights of (k, n).
    static func matmul(rows: Int, k: Int, n: Int, types: Types, hasBias: Bool, accumulate: Bool = false,
                       packedWeights: dnnl_memory_desc_t) -> Matmul {
        let key = Key(rows: rows, k: k, n: n, types: types, hasBias: hasBias, accumulate: accumulate)
        lock.lock()
        defer { lock.unlock() }
        if let m = cache[key] { return m }
        // The shapes come from a model that loaded and a weight that packed; a failure here is a bug.
        let m = try! Matmul(rows: rows, k: k, n: n, types: types, hasBias: hasBias, accumulate: accumulate,
                            packedWeights: packedWeights)
        if cache.count >= cacheCapacity { cache.removeAll() }
        cache[key] = m
        return m
    }
}

extension dnnl_data_type_t: @retroactive Hashable {}
