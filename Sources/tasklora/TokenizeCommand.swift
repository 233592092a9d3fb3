import ArgumentParser
import Foundation
import TaskLoRA

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Write the token ids of every input text, one JSON array per line.")

    @Option(name: .long, help: "A tasklora checkpoint (.h5).")
    var model: String

    @Option(name: .long, help: "Input: UTF-8 text, one text per line, or .jsonl with a \"text\" field.")
    var input: String

    @Option(name: .long, help: "Output .jsonl (default: standard output).")
    var output: String?

    @Option(name: .long, help: "Truncate to this many tokens, special tokens included.")
    var maxLength: Int?

    @OptionGroup var tokenization: WhitespaceOption

    func validate() throws {
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
    }

    func run() throws {
        let tokenizer = try LoadedModel.loadTokenizer(checkpoint: model, whitespace: tokenization.whitespace)
        let texts = try TextLines.read(path: input)
        var out = ""
        out.reserveCapacity(texts.count * 64)
        for text in texts {
            let ids = tokenizer.encode(text, maxLength: maxLength)
            out += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
        }
        if let output {
            try OutputFile.write(Data(out.utf8), to: output)
        } else {
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
