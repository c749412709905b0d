"""Time kpikit's Pareto/NBD fit on synthetic customers drawn from the model itself.

    python benches/pareto_fit.py --customers 1000000 --repeat 3

Customers: λ ~ Gamma(r, 1/α), μ ~ Gamma(s, 1/β), lifetime ~ Exp(μ), observed for T ~ U(10, 40)
weeks at the CDNOW estimates (r, α, s, β) = (0.553, 10.578, 0.606, 11.669); x ~ Poisson(λ·L)
with L = min(lifetime, T), and the last of x uniform purchase times t_x = L·U^(1/x).
Recency and T are continuous, so few rows collapse: the worst case for the fit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kpikit.clv import ParetoNBD


def customers(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    t = rng.uniform(10.0, 40.0, n)
    alive_for = np.minimum(rng.exponential(1 / mu), t)
    x = rng.poisson(lam * alive_for).astype(float)
    tx = np.where(x > 0, alive_for * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, tx, t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    x, tx, t = customers(args.customers)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        m = ParetoNBD().fit({"frequency": x, "recency": tx, "T": t})
        times.append(time.perf_counter() - start)
    print(f"Pareto/NBD fit, {args.customers:,} customers: best {min(times):.2f} s of {times}")
    print("params", {k: round(v, 4) for k, v in m.params_.items()})


if __name__ == "__main__":
    main()
