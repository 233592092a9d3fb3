import Foundation
import TaskLoRA

/// The training-data readers: the first byte picks the format (JSONL, STS-B CSV, STS TSV, SICK,
/// SQuAD JSON, gettext .po) and fail or skip mode; the rest is the file.
let formats: [(name: String, format: DataFormat?)] = [
    ("train.jsonl", .jsonl), ("train.csv", .stsbCSV), ("train.tsv", .stsTSV), ("sick.txt", .sick),
    ("squad.json", .squad), ("train.tsv", nil), ("catalog.po", nil),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataReaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let pick = Int(data[0] & 0x7F) % formats.count
    let skip = data[0] & 0x80 != 0
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let (name, format) = formats[pick]
    let path = Fuzz.file(body, name: name)
    Fuzz.run {
        if name.hasSuffix(".po") {
            _ = try GettextCatalog.read(path: path)
            return
        }
        var options = ReadOptions(onError: skip ? .skip : .fail, scoreNormalization: .divide(by: 5))
        options.hardNegatives = skip ? 2 : 0
        let dataset = try TrainingDataset.load(path: path, format: format, options: options)
        _ = dataset.count
    }
    return 0
}
