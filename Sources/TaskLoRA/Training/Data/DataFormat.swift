import Foundation

/// The file formats the readers understand. Raw values match the recipe's `format` names.
public enum DataFormat: String, Codable, CaseIterable, Sendable {
    /// JSON Lines: pairs, tuples, scored pairs or labeled texts (`JSONLReader`).
    case jsonl
    /// `sentence1,sentence2,score` CSV, as stsb-multi-mt (`STSCSVReader`).
    case stsbCSV = "stsb_csv"
    /// `sentence1<TAB>sentence2<TAB>score` TSV (`STSTSVReader`).
    case stsTSV = "sts_tsv"
    /// SICK TSV with its header (`SICKReader`).
    case sick
    /// SQuAD / XQuAD JSON (`SQuADReader`).
    case squad

    /// Tells the format from the file name: `.jsonl`/`.ndjson`, `.csv`, `.json` (SQuAD); `.tsv`/`.txt`
    /// are SICK when the first line is SICK's header, plain STS TSV otherwise.
    public static func detect(path: String) throws -> DataFormat {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .stsbCSV
        case "json": return .squad
        case "tsv", "txt":
            let first = DataLines.split(Array(try firstBytes(path).prefix { $0 != 0x0A })).first?.text ?? ""
            return SICKReader.isHeader(first) ? .sick : .stsTSV
        default:
            throw TaskLoRAError.file(path, "cannot tell the data format from the file name; name it (one of \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    private static func firstBytes(_ path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TaskLoRAError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        defer { try? handle.close() }
        return DataLines.withoutBOM([UInt8](handle.readData(ofLength: 64 * 1024)))
    }
}

extension TrainingDataset {
    /// Reads a training file of any supported format (`format` nil: `DataFormat.detect`). SICK gives
    /// its relatedness as scored pairs; SQuAD gives question → paragraph pairs, or tuples when
    /// `options.hardNegatives` > 0. Use the format's reader for the other views.
    public static func load(path: String, format: DataFormat? = nil, options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        switch try format ?? DataFormat.detect(path: path) {
        case .jsonl: return try JSONLReader.read(path: path, options: options)
        case .stsbCSV: return try STSCSVReader.read(path: path, options: options)
        case .stsTSV: return try STSTSVReader.read(path: path, options: options)
        case .sick: return try SICKReader.read(path: path, options: options).relatedness()
        case .squad:
            return try SQuADReader.read(path: path, options: options).trainingDataset(
                hardNegatives: options.hardNegatives, source: options.hardNegativeSource, seed: options.seed)
        }
    }
}
