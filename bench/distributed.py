#!/usr/bin/env python3
"""Data-parallel training over MPI (issue 13): measures and projects, and rewrites the measured block of
docs/distributed.md.

    python3 bench/distributed.py [--steps 8] [--warmup 2] [--repeats 2] [--tasklora .build/release/tasklora] [--doc PATH]
    (or: bench/run_all.py --only distributed)

Measured on this machine with multilingual-e5-small (checkpoints/multilingual-e5-small.h5) on the shipped STS recipe
(recipes/text-matching-stsb-cpu.yaml: CoSENT + Matryoshka, batch 32, 6 LoRA targets at rank 8), English STS-B train,
no dev set: the median step time of `tasklora train` as 1 process × 2 threads and as `mpirun -np 2` × 1 thread each
(interleaved, `--repeats` times each), and the bytes rank 0 received per step. Projected from those: the step time of
8, 64 and 512 machines for mE5-small and the jina-embeddings-v3 shape (24 layers, hidden 1024) with a fixed
per-machine batch, from the measured compute and a ring all-reduce / all-gather cost model at 10 and 100 Gbit/s.
Not a timed test: the numbers are reported, never asserted.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = "recipes/text-matching-stsb-cpu.yaml"
CKPT = os.path.join(REPO, "checkpoints", "multilingual-e5-small.h5")
BEGIN, END = "<!-- bench:distributed:begin -->", "<!-- bench:distributed:end -->"
LATENCY_S = 20e-6           # per message hop on 10/100 GbE with TCP (order of magnitude)
SHAPES = {                  # layers, hidden, intermediate
    "multilingual-e5-small": (12, 384, 1536),
    "jina-embeddings-v3 shape": (24, 1024, 4096),
}
LORA_RANK = 8
SGEMM_FLOPS = 200e9         # OpenBLAS sgemm, 2 threads, this machine (../shared/NOTES-platform.md, docs/benchmarks.md)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def lora_parameters(layers, h, f, r=LORA_RANK):
    """query, key, value, attention.output.dense (h→h each), intermediate.dense (h→f), output.dense (f→h)."""
    return layers * (4 * r * (h + h) + 2 * r * (h + f))


def frozen_flops_per_token(layers, h, f):
    """Matmul FLOPs per token of one forward through the frozen projections (2 per multiply-add)."""
    return layers * 2 * (4 * h * h + 2 * h * f)


def train(tasklora, out, launcher, steps, env):
    shutil.rmtree(out, ignore_errors=True)
    cmd = launcher + [tasklora, "train", RECIPE, "--set", f"output={out}", "--set", f"schedule.steps={steps}",
                      "--set", "data.train=[data/stsb-multi-mt/stsb-en-train.csv]", "--set", "data.dev=null",
                      "--set", "eval.every=0", "--set", "save.every=0", "--set", "save.keep_best=false"]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ, **env))
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"loss"' in l]
    comm = re.search(r"received (\d+) bytes in (\d+) collectives", p.stderr)
    return records, (int(comm.group(1)), int(comm.group(2))) if comm else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tasklora", default=os.path.join(REPO, ".build", "release", "tasklora"))
    ap.add_argument("--out-dir", default=os.path.join(REPO, "runs", "bench", "distributed"))
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "distributed.md"))
    ap.add_argument("--from-results", help="recompute the projection and the doc from a results.json, measuring nothing")
    a = ap.parse_args()
    if a.from_results:
        result = json.load(open(a.from_results))
        result["projection"] = project(result["one_rank_two_threads_s"])
        write_doc(a.doc, result)
        return
    if not os.path.exists(CKPT):
        raise SystemExit(f"{CKPT} is missing: run scripts/quickstart.sh (or `tasklora import`, see docs/quickstart.md)")
    mpirun = shutil.which("mpirun")
    if not mpirun:
        raise SystemExit("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)")
    os.makedirs(a.out_dir, exist_ok=True)
    one, two, comm = [], [], None
    launch2 = [mpirun, "--allow-run-as-root", "--oversubscribe", "--bind-to", "core", "-np", "2"]
    for i in range(a.repeats):
        r1, _ = train(a.tasklora, os.path.join(a.out_dir, "np1"), [], a.steps, {"TASKLORA_THREADS": "2"})
        r2, comm = train(a.tasklora, os.path.join(a.out_dir, "np2"), launch2, a.steps, {})
        one += [r["seconds"] for r in r1[a.warmup:]]
        two += [r["seconds"] for r in r2[a.warmup:]]
        log(f"repeat {i + 1}: 1 rank × 2 threads {statistics.median(one):.3f} s/step, "
            f"2 ranks × 1 thread {statistics.median(two):.3f} s/step")
        tokens = statistics.median(r["tokens_per_s"] * r["seconds"] for r in r1)
    t1, t2 = statistics.median(one), statistics.median(two)

    # What one step communicates at N = 2 (rank 0 receives): the gathered embeddings and the gradient sum.
    layers, h, f = SHAPES["multilingual-e5-small"]
    params = lora_parameters(layers, h, f)
    batch, rows_per_example = 32, 2          # CoSENT: sentence1 and sentence2 rows
    emb_bytes = (batch * rows_per_example // 2) * h * 4               # the other rank's half of the rows
    grad_bytes = params * 4                                             # 2(N−1)/N × P floats at N = 2
    measured_per_step = comm[0] / a.steps if comm else None

    proj = project(t1)

    result = {"one_rank_two_threads_s": t1, "two_ranks_one_thread_s": t2, "ratio": t2 / t1, "steps": a.steps,
              "warmup": a.warmup, "repeats": a.repeats, "samples": {"np1": one, "np2": two},
              "tokens_per_step": tokens, "lora_parameters": params, "embedding_bytes_per_step": emb_bytes,
              "gradient_bytes_per_step": grad_bytes, "measured_bytes_received_per_step": measured_per_step,
              "measured_collectives": comm[1] if comm else None, "projection": proj,
              "load_avg": os.getloadavg()}
    with open(os.path.join(a.out_dir, "results.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    write_doc(a.doc, result)
    log(f"wrote {a.doc} and {os.path.join(a.out_dir, 'results.json')}")


def project(t1, batch=32, rows_per_example=2):
    """Per-machine batch fixed at `batch` pairs (global batch batch·M). Compute: the measured 1-machine step, scaled
    by frozen FLOPs per token for the larger shape. Communication: ring all-reduce of the LoRA gradient,
    2(M−1)/M·G/B + 2(M−1)α, and ring all-gather of the embeddings, (M−1)/M·E/B + (M−1)α. The replicated loss: an
    InfoNCE score matrix over the global batch, forward and backward (3 products of 2·n²·H FLOPs) at SGEMM_FLOPS."""
    base_flops = frozen_flops_per_token(*SHAPES["multilingual-e5-small"])
    proj = {}
    for name, (L, H, F) in SHAPES.items():
        compute = t1 * frozen_flops_per_token(L, H, F) / base_flops
        grad = lora_parameters(L, H, F) * 4
        rows = {}
        for machines in (8, 64, 512):
            n = machines * batch
            emb_global = n * rows_per_example * H * 4
            loss = 3 * 2 * n * n * H / SGEMM_FLOPS
            for gbit in (10, 100):
                bw = gbit * 1e9 / 8
                t_grad = 2 * (machines - 1) / machines * grad / bw + 2 * (machines - 1) * LATENCY_S
                t_emb = (machines - 1) / machines * emb_global / bw + (machines - 1) * LATENCY_S
                total = compute + t_grad + t_emb + loss
                rows[f"{machines}@{gbit}"] = {"compute_s": compute, "allreduce_s": t_grad, "allgather_s": t_emb,
                                              "loss_s": loss, "comm_share": (t_grad + t_emb) / total,
                                              "loss_share": loss / total}
        proj[name] = {"compute_s": compute, "lora_parameters": lora_parameters(L, H, F), "rows": rows}
    return proj


def write_doc(path, r):
    def ms(s):
        return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"
    lines = [BEGIN, "",
             f"Measured by `python3 bench/distributed.py` (median of {len(r['samples']['np1'])} steps each, "
             f"after {r['warmup']} warm-up steps, {r['repeats']} interleaved runs; load average at the end "
             f"{r['load_avg'][0]:.2f}).", "",
             "| mE5-small, CoSENT + Matryoshka, global batch 32, max length 64 | step time |",
             "|---|---|",
             f"| 1 process × 2 threads (`tasklora train`) | {ms(r['one_rank_two_threads_s'])} |",
             f"| 2 ranks × 1 thread (`mpirun -np 2`) | {ms(r['two_ranks_one_thread_s'])} "
             f"({(r['ratio'] - 1) * 100:+.1f} %) |", "",
             f"Communicated per step at N = 2 (what rank 0 receives): the other rank's pooled embeddings, "
             f"{r['embedding_bytes_per_step']:,} bytes (16 rows × 384 floats × 2 roles), and its half of the "
             f"gradient sum, {r['gradient_bytes_per_step']:,} bytes ({r['lora_parameters']:,} LoRA parameters × 4 bytes: "
             f"half of each block in the all-to-all, half in the all-gather)."
             + (f" Counted by the communicator over the run: {r['measured_bytes_received_per_step']:,.0f} bytes per step "
                f"({r['measured_collectives']} collectives in {r['steps']} steps, the start-up and stop checks included)."
                if r['measured_bytes_received_per_step'] else ""), "",
             "Projection, per-machine batch 32 pairs (global batch 32 × M), one process per machine:", "",
             "| model | machines | link | compute | gradient all-reduce | embedding all-gather | communication share "
             "| replicated InfoNCE loss (share) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, p in r["projection"].items():
        for key, row in p["rows"].items():
            m, g = key.split("@")
            lines.append(f"| {name} ({p['lora_parameters'] / 1e6:.2f} M LoRA parameters) | {m} | {g} Gbit/s | "
                         f"{ms(row['compute_s'])} | {ms(row['allreduce_s'])} | {ms(row['allgather_s'])} | "
                         f"{row['comm_share'] * 100:.1f} % | {ms(row['loss_s'])} ({row['loss_share'] * 100:.0f} %) |")
    lines.append("")
    for name, p in r["projection"].items():
        worst = p["rows"]["512@10"]
        comm = worst["allreduce_s"] + worst["allgather_s"]
        lines.append(f"* {name}: at 512 machines on 10 Gbit/s the communication is {ms(comm)} a step; it would match "
                     f"the compute only on machines {worst['compute_s'] / comm:.0f}× faster than this one at the same "
                     f"per-machine batch (accelerators), while the replicated loss is "
                     f"{worst['loss_share'] * 100:.0f} % of the step already on this one.")
    lines += ["", END]
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else BEGIN + "\n" + END + "\n"
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text[:start] + "\n".join(lines) + text[end:])


if __name__ == "__main__":
    main()
