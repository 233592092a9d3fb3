"""Reference numbers for Tests/TaskLoRATests/RecipeTests.swift (AdamW and LR schedules).

Run from the repository root:  cache/venv/bin/python scripts/reference/adamw_reference.py
Prints Swift array literals to paste into the tests. Inputs are closed-form (no RNG) so the
Swift test rebuilds them exactly: p0[i] = 0.5·sin(i+1), grad_t[i] = 0.1·(t+1)·cos((i+1)(t+1)),
with grad_t[3] = 0 (a zero gradient still decays and moves by momentum).
"""
import math

import torch
from transformers.optimization import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

N = 19  # one SIMD16 block plus a 3-element tail
LRS = [1e-2, 5e-3, 2e-3]  # a different lr at each step: the scheduled lr must be used for decay too


def inputs():
    p0 = [0.5 * math.sin(i + 1) for i in range(N)]
    grads = []
    for t in range(3):
        g = [0.1 * (t + 1) * math.cos((i + 1) * (t + 1)) for i in range(N)]
        g[3] = 0.0
        grads.append(g)
    return p0, grads


def swift(name, values):
    body = ", ".join(repr(float(v)) for v in values)
    print(f"let {name}: [Float] = [{body}]")


def adamw():
    p0, grads = inputs()
    p = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float32))
    opt = torch.optim.AdamW([p], lr=LRS[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, foreach=False)
    for t in range(3):
        for group in opt.param_groups:
            group["lr"] = LRS[t]
        p.grad = torch.tensor(grads[t], dtype=torch.float32)
        opt.step()
        swift(f"adamwAfterStep{t + 1}", p.detach().tolist())
    state = opt.state[p]
    swift("adamwM3", state["exp_avg"].tolist())
    swift("adamwV3", state["exp_avg_sq"].tolist())


def schedules():
    steps = [0, 1, 5, 9, 10, 11, 37, 50, 99, 100]
    makers = {
        "linear": lambda o: get_linear_schedule_with_warmup(o, 10, 100),
        "cosine": lambda o: get_cosine_schedule_with_warmup(o, 10, 100),
        "cosineMin": lambda o: get_cosine_with_min_lr_schedule_with_warmup(o, 10, 100, min_lr_rate=0.1),
        "constant": lambda o: get_constant_schedule_with_warmup(o, 10),
        "linearNoWarmup": lambda o: get_linear_schedule_with_warmup(o, 0, 100),
    }
    print(f"let scheduleSteps = {steps}")
    for name, make in makers.items():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=5e-4)
        sched = make(opt)
        # Trainer convention: the lr in effect for update k (0-based) is the one after k scheduler steps.
        lrs = []
        for k in range(max(steps) + 1):
            if k in steps:
                lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        print(f"let {name}LR: [Double] = [{', '.join(repr(v) for v in lrs)}]")


if __name__ == "__main__":
    torch.manual_seed(0)
    adamw()
    schedules()
