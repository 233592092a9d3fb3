"""Reference values for the contrastive losses (Swift: Tests/TaskLoRATests/LossTests.swift).

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_loss_fixtures.py

Writes Tests/Fixtures/losses/losses.json (deterministic, seed 1234, float64 throughout).

Inputs are raw, UNnormalized embeddings, as a pooling layer would give them: the reference losses
use cos_sim / pairwise_cos_sim, which normalize, so the gradients below are w.r.t. the raw rows and
the Swift side reproduces them as TruncateNormalize (dim D) -> loss -> TruncateNormalize backward.

  anchors    (N, D)     N = 6, D = 16
  positives  (N, D)
  negatives  (N*k, D)   k = 2, anchor-major: row i*k + c is the c-th hard negative of anchor i
                        (sentence-transformers takes them as k columns of (N, D); column c = rows c::k)
  scores     (N)        integers in [0, 5] (ties included: CoSENT only ranks strictly ordered pairs)
  labels     (N)        class ids for the separation loss over `anchors`

Each case holds the loss value and the gradient of that loss w.r.t. every input it reads
(d_anchors, d_positives, d_negatives), computed by torch autograd:
  mnrl_hard / mnrl_plain      MultipleNegativesRankingLoss(scale 20) with / without hard negatives
  mnrl_symmetric_hard         MultipleNegativesSymmetricRankingLoss(scale 20), hard negatives
  jina_reverse_hard           L_fwd + L_rev written out in torch (jina's extended InfoNCE; = 2 x symmetric)
  classification              InfoNCE over [own positive, own k negatives] only, tau 0.02, in torch
  cosent                      CoSENTLoss(scale 20) on (anchors, positives, scores)
  separation                  CoSENTLoss(scale 50) on all pairs i<j of anchors, gold = same label
  matryoshka_mnrl_hard        MatryoshkaLoss(MNRL scale 20, dims [16, 8, 4], weights [1, 0.5, 0.25])
  matryoshka_cosent           MatryoshkaLoss(CoSENTLoss scale 20, dims [16, 8, 4], default weights)
"""
import json
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn.functional as F
from torch import nn

from sentence_transformers.sentence_transformer.losses import (
    CoSENTLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
    MultipleNegativesSymmetricRankingLoss,
)

torch.set_default_dtype(torch.float64)
N, D, K = 6, 16, 2
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "losses", "losses.json")


class EmbeddingModel(nn.Module):
    """Stands in for a SentenceTransformer: each column's 'features' already is its embedding."""

    def forward(self, features):
        return {"sentence_embedding": features["embedding"]}

    def get_embedding_dimension(self):
        return D


def leaves(g):
    a = (torch.randn(N, D, generator=g) * 1.7).requires_grad_()
    p = (torch.randn(N, D, generator=g) * 0.9 + a.detach() * 0.6).requires_grad_()
    n = (torch.randn(N * K, D, generator=g) * 1.2).requires_grad_()
    return a, p, n


def neg_columns(n):
    return [n.view(N, K, D)[:, c, :] for c in range(K)]


def jina_reverse(a, p, n, tau):
    qa, qp, qn = F.normalize(a, dim=-1), F.normalize(p, dim=-1), F.normalize(n, dim=-1)
    logits = torch.cat([qa @ qp.T, qa @ qn.T], dim=1) / tau
    target = torch.arange(N)
    forward = F.cross_entropy(logits, target)
    reverse = F.cross_entropy((qp @ qa.T) / tau, target)
    return forward + reverse


def classification(a, p, n, tau):
    qa, qp, qn = F.normalize(a, dim=-1), F.normalize(p, dim=-1), F.normalize(n, dim=-1)
    own_pos = (qa * qp).sum(-1, keepdim=True)
    own_neg = torch.einsum("nd,nkd->nk", qa, qn.view(N, K, D))
    logits = torch.cat([own_pos, own_neg], dim=1) / tau
    return F.cross_entropy(logits, torch.zeros(N, dtype=torch.long))


def separation(loss, a, labels):
    i, j = torch.triu_indices(N, N, offset=1)
    gold = (labels[i] == labels[j]).to(torch.float64)
    return loss.compute_loss_from_embeddings([a[i], a[j]], gold)


def main():
    g = torch.Generator().manual_seed(1234)
    a, p, n = leaves(g)
    scores = torch.randint(0, 6, (N,), generator=g).to(torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    model = EmbeddingModel()
    feats = lambda x: {"embedding": x}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mnrl = MultipleNegativesRankingLoss(model, scale=20.0)
        sym = MultipleNegativesSymmetricRankingLoss(model, scale=20.0)
    cosent = CoSENTLoss(model, scale=20.0)
    sep = CoSENTLoss(model, scale=50.0)
    mat_mnrl = MatryoshkaLoss(model, mnrl, matryoshka_dims=[16, 8, 4], matryoshka_weights=[1, 0.5, 0.25])
    mat_cosent = MatryoshkaLoss(model, CoSENTLoss(model, scale=20.0), matryoshka_dims=[16, 8, 4])

    cases = {
        "mnrl_hard": (dict(kind="infonce", temperature=0.05, reverse=False, symmetric=False, k=K),
                      lambda: mnrl.compute_loss_from_embeddings([a, p, *neg_columns(n)], None)),
        "mnrl_plain": (dict(kind="infonce", temperature=0.05, reverse=False, symmetric=False, k=0),
                       lambda: mnrl.compute_loss_from_embeddings([a, p], None)),
        "mnrl_symmetric_hard": (dict(kind="infonce", temperature=0.05, reverse=False, symmetric=True, k=K),
                                lambda: sym.compute_loss_from_embeddings([a, p, *neg_columns(n)], None)),
        "jina_reverse_hard": (dict(kind="infonce", temperature=0.05, reverse=True, symmetric=False, k=K),
                              lambda: jina_reverse(a, p, n, 0.05)),
        "classification": (dict(kind="classification", temperature=0.02, k=K),
                           lambda: classification(a, p, n, 0.02)),
        "cosent": (dict(kind="cosent", temperature=0.05),
                   lambda: cosent.compute_loss_from_embeddings([a, p], scores)),
        "separation": (dict(kind="separation", temperature=0.02),
                       lambda: separation(sep, a, labels)),
        "matryoshka_mnrl_hard": (dict(kind="infonce", temperature=0.05, reverse=False, symmetric=False, k=K,
                                      dims=[16, 8, 4], weights=[1, 0.5, 0.25]),
                                 lambda: mat_mnrl([feats(a), feats(p), *map(feats, neg_columns(n))], None)),
        "matryoshka_cosent": (dict(kind="cosent", temperature=0.05, dims=[16, 8, 4], weights=[1, 1, 1]),
                              lambda: mat_cosent([feats(a), feats(p)], scores)),
    }

    out = {
        "n": N, "d": D, "k": K,
        "anchors": a.detach().flatten().tolist(),
        "positives": p.detach().flatten().tolist(),
        "negatives": n.detach().flatten().tolist(),
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "cases": {},
    }
    for name, (params, fn) in cases.items():
        for t in (a, p, n):
            t.grad = None
        loss = fn()
        loss.backward()
        grad = lambda t: (t.grad if t.grad is not None else torch.zeros_like(t)).flatten().tolist()
        out["cases"][name] = dict(params, loss=loss.item(), d_anchors=grad(a), d_positives=grad(p),
                                  d_negatives=grad(n))
        print(f"{name:24s} {loss.item():.12f}")

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
