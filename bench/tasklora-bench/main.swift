import Foundation
import TaskLoRA

// tasklora-bench: measurements that need the library but no PyTorch (run by hand or by
// bench/run_all.py; results as one JSON object on stdout; see docs/benchmarks.md).
//
//   tasklora-bench long-input LENGTH [--layers 12] [--hidden 384]
//       one forward + backward (LoRA on every linear layer) over a single LENGTH-token input of a
//       random rotary model; prints seconds and peak resident memory (one process per length).
//   tasklora-bench train-throughput --model CKPT --data STSB.csv [--workload fixed|real|text-matching]
//       [--precision fp32|bf16] [--batch 32] [--length 64] [--max-length 128] [--warmup 2] [--steps 5]
//       [--start 0] [--prefix P] [--texts FILE] [--rank 8] [--alpha 16] [--profile]
//       LoRA training steps through the Trainer: fixed/real = query/value, in-batch InfoNCE; text-matching =
//       all six linear module types, CoSENT + Matryoshka on scored pairs at --length (the
//       text-matching-stsb-cpu recipe); AdamW; the frozen base at --precision.
//   tasklora-bench gradcache --model CKPT --data STSB.csv [--batch 512] [--length 192] [--chunk 32]
//       one GradCache step of `batch` pairs of `length` tokens; peak resident memory.
//   tasklora-bench plot-memory IN.jsonl OUT.svg
//       SVG of peak RSS and tape size by length from long-input results.
//   tasklora-bench sgemm-peak [--sizes 2048,4096] [--repeats 5]
//       square sgemm GFLOP/s: OpenBLAS 1 thread, OpenBLAS all cores, tasklora's split.
//   tasklora-bench dnnl-peak [--shapes 4096x384x1536,4096x1024x4096] [--repeats 5]
//       M×K×N GEMM GFLOP/s through PackedLinear (oneDNN bf16 forward and backward, int8 forward; row
//       blocks over the pool) and BLAS.gemm (float32).
//   tasklora-bench jina-step [--precision bf16|fp32] [--sequences 16] [--length 256] [--warmup 1] [--steps 3]
//       LoRA training steps of a random full-size jina-embeddings-v3 shape (24 layers, hidden 1024);
//       the peer of bench/jina_step_torch.py.

let usage = """
usage: tasklora-bench long-input LENGTH [--layers 12] [--hidden 384]
       tasklora-bench train-throughput --model CKPT --data STSB.csv [--workload fixed|real|text-matching]
           [--precision fp32|bf16] [--steps 5] …
       tasklora-bench gradcache --model CKPT --data STSB.csv [--batch 512] [--length 192] [--chunk 32]
       tasklora-bench plot-memory IN.jsonl OUT.svg
       tasklora-bench sgemm-peak [--sizes 2048,4096] [--repeats 5]
       tasklora-bench dnnl-peak [--shapes 4096x384x1536,4096x1024x4096] [--repeats 5]
       tasklora-bench jina-step [--precision bf16|fp32] [--sequences 16] [--length 256] [--steps 3]

"""
// OpenBLAS on its generic kernel (a CPU it does not know) would make every fp32 number 3× too slow.
OpenBLASKernel.reexecIfGeneric()
let args = CommandLine.arguments
let options = Options(args: Array(args.dropFirst(2)))
do {
    switch args.count >= 2 ? args[1] : "" {
    case "long-input":
        guard args.count >= 3, let length = Int(args[2]) else { throw TaskLoRAError("long-input needs LENGTH") }
        try longInput(length: length, layers: options.int("--layers", 12), hidden: options.int("--hidden", 384))
    case "train-throughput":
        try trainThroughput(options)
    case "gradcache":
        try gradCache(options)
    case "plot-memory":
        guard args.count >= 4 else { throw TaskLoRAError("plot-memory needs IN.jsonl OUT.svg") }
        try plotMemory(input: args[2], output: args[3])
    case "sgemm-peak":
        try sgemmPeak(sizes: options.ints("--sizes", [2048, 4096]), repeats: options.int("--repeats", 5))
    case "dnnl-peak":
        try dnnlPeak(shapes: parseShapes(options.string("--shapes", "4096x384x1536,4096x1024x4096")),
                     repeats: options.int("--repeats", 5))
    case "jina-step":
        try jinaStep(options)
    default:
        FileHandle.standardError.write(Data(usage.utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
