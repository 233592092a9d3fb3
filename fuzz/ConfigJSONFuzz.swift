import Foundation
import TaskLoRA

/// config.json (Hugging Face encoder configuration): JSON, missing fields, wrong types, absurd sizes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Fuzz.run {
        let config = try EncoderConfig.decode(Data(Fuzz.bytes(data, size)), source: "config.json")
        _ = config.jsonString()
    }
    return 0
}
