import Foundation
import TaskLoRA

/// The HDF5 checkpoint loader (and libhdf5 under it, which is not instrumented): the file as a
/// checkpoint, then as a model (config, weights, tokenizer). Every read runs in `HDF5Sandbox`'s
/// child first, as in any program using TaskLoRA; a libhdf5 crash there is an error, not a find.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Fuzz.freshFile(Fuzz.bytes(data, size), name: "checkpoint.h5")
    Fuzz.run {
        let ckpt = try Checkpoint.read(path: path)
        _ = try LoadedModel.loadEncoder(ckpt, path: path)
    }
    Fuzz.run {
        let ckpt = try Checkpoint.read(path: path)
        let tokenizer = try LoadedModel.loadTokenizer(ckpt, path: path)
        _ = tokenizer.encodeAll(["hello world", "wie geht's"], maxLength: 16)
    }
    return 0
}
