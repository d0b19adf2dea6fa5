"""A likelihood surface with matplotlib, drawn from the arrays of a klgrid.Sweep.

    pip install ./python matplotlib
    python examples/python/plot_surface.py [surface.png]

Sweeps a normal model over an 81×71 (mu, sigma) grid for 200,000 float32 samples, then draws the
mean log-likelihood as a heatmap with the joint 68% and 95% likelihood-ratio contours
(2(Ŝ − S) = 2.30 and 5.99), the best grid point and the MLE.
"""

import sys

import matplotlib

matplotlib.use("Agg")  # files only; drop this line to show a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import klgrid  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "surface.png"

x = np.random.default_rng(1).normal(1.5, 2.0, 200_000).astype(np.float32)
s = klgrid.sweep("normal", x, grid={"mu": (1.475, 1.515, 81), "sigma": (1.98, 2.015, 71)})

mu, sigma = s.axes["mu"], s.axes["sigma"]
# Arrays are shaped like the grid, (len(mu), len(sigma)): transpose for pcolormesh's (y, x).
lr = 2 * (s.loglik.max() - s.loglik)  # the likelihood-ratio statistic 2(Ŝ − S)

fig, ax = plt.subplots(figsize=(7.5, 5.5))
mesh = ax.pcolormesh(mu, sigma, s.mean_loglik.T, shading="auto", cmap="viridis")
fig.colorbar(mesh, ax=ax, label="mean log-likelihood (nats)")
cs = ax.contour(mu, sigma, lr.T, levels=[2.30, 5.99], colors="white", linewidths=1)
ax.clabel(cs, fmt={2.30: "68%", 5.99: "95%"})
best, mle = s.best["theta"], s.mle["theta"]
ax.plot(best["mu"], best["sigma"], "w+", ms=14, mew=2, label="best grid point")
ax.plot(mle["mu"], mle["sigma"], "rx", ms=9, mew=2, label="MLE (closed form)")
ax.set(xlabel="mu", ylabel="sigma",
       title=f"normal, n = {s.n:,}, {s.backend} ({s.strategy})")
ax.legend(loc="upper right")
fig.tight_layout()
fig.savefig(out, dpi=110)

print(f"wrote {out}")
print("best grid point:", best, " MLE:", mle)
print("argmax likelihood = argmin cross-entropy = argmin KL:", s.identity["holds"])
