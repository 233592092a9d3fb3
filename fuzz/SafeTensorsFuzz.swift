import Foundation
import TaskLoRA

/// safetensors: header, offsets, dtypes, shapes; every tensor the header names is then read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Fuzz.file(Fuzz.bytes(data, size), name: "model.safetensors")
    Fuzz.run {
        let file = try SafeTensorsFile(path: path)
        _ = try file.allTensors()
    }
    return 0
}
