/// An RFC 4180 / Excel CSV parser: fields in double quotes may hold the separator, line breaks and
/// doubled quotes (`""` → `"`); records end at LF or CRLF.
///
/// Choices where files in the wild differ from the RFC:
/// - a quote inside an unquoted field is kept as a literal character (as Excel and Python do);
/// - text between a closing quote and the next separator is an error (it means broken quoting);
/// - CRLF inside a quoted field becomes LF, so texts do not depend on the platform that wrote them;
/// - blank lines are ignored;
/// - a leading UTF-8 byte-order mark is dropped.
///
/// A record that cannot be parsed comes back with its problem instead of fields, and parsing
/// resumes at the next physical line, so a skip-mode reader loses only that record.
public enum CSVParser {
    public struct Record: Sendable, Equatable {
        /// The line the record starts on (1-based).
        public var line: Int
        public var fields: [String]
        /// Why the record could not be parsed; `fields` is empty when set.
        public var problem: String?
    }

    public static func parse(_ bytes: [UInt8], separator: UInt8 = UInt8(ascii: ",")) -> [Record] {
        let quote = UInt8(ascii: "\""), lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
        let b = DataLines.withoutBOM(bytes)
        let n = b.count
        var records: [Record] = []
        var i = 0
        var line = 1

        /// Index just past the LF that ends the physical line containing `from`.
        func nextLineStart(_ from: Int) -> Int {
            var j = from
            while j < n, b[j] != lf { j += 1 }
            return min(j + 1, n)
        }
        /// At LF, CRLF, a CR that ends the file, or the end of the file.
        func isRecordEnd(_ j: Int) -> Bool {
            j >= n || b[j] == lf || (b[j] == cr && (j + 1 == n || b[j + 1] == lf))
        }

        while i < n {
            let recordStart = i, recordLine = line
            // Blank line (LF or CRLF): no record.
            if b[i] == lf { i += 1; line += 1; continue }
            if b[i] == cr, i + 1 < n, b[i + 1] == lf { i += 2; line += 1; continue }

            var fields: [String] = []
            var problem: String?
            var field: [UInt8] = []
            recordLoop: while true {
                field.removeAll(keepingCapacity: true)
                if i < n, b[i] == quote {
                    let quoteLine = line
                    i += 1
                    var closed = false
                    while i < n {
                        let c = b[i]
                        if c == quote {
                            if i + 1 < n, b[i + 1] == quote { field.append(quote); i += 2; continue }
                            i += 1
                            closed = true
                            break
                        }
                        if c == cr, i + 1 < n, b[i + 1] == lf { i += 1; continue }  // CRLF → LF
                        if c == lf { line += 1 }
                        field.append(c)
                        i += 1
                    }
                    if !closed {
                        problem = "quoted field opened on line \(quoteLine) is never closed"
                        break recordLoop
                    }
                    if !(isRecordEnd(i) || b[i] == separator) {
                        problem = "unexpected text after the closing quote of field \(fields.count + 1) (a quote inside a quoted field must be doubled)"
                        break recordLoop
                    }
                } else {
                    while !isRecordEnd(i), b[i] != separator {
                        field.append(b[i])
                        i += 1
                    }
                }
                guard let text = String(validating: field, as: UTF8.self) else {
                    problem = "field \(fields.count + 1) is not valid UTF-8"
                    break recordLoop
                }
                fields.append(text)
                if i < n, b[i] == separator { i += 1; continue }
                // End of record: step over CRLF / LF.
                if i < n, b[i] == cr { i += 1 }
                if i < n, b[i] == lf { i += 1; line += 1 }
                break
            }
            if let problem {
                records.append(Record(line: recordLine, fields: [], problem: problem))
                i = nextLineStart(recordStart)
                line = recordLine + 1
            } else {
                records.append(Record(line: recordLine, fields: fields, problem: nil))
            }
        }
        return records
    }
}
