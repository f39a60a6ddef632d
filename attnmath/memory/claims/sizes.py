"""Run sizes of the Pavlovian-memory chapter: each entry is a ``(ci, paper)`` pair; claims read ``SIZES[tier]``.

The notebook's figures read their sizes from the same table (entries ``figure_*``).
"""

from __future__ import annotations

from attnmath.claims import Sizes

SIZES = Sizes(
    # memory.hebbian-fast-weights: shape [B, H, T, d_k, d_v] of the random q, k, v
    fast_weights_shape=((2, 3, 17, 8, 5), (2, 4, 128, 32, 32)),
    # memory.signal-crosstalk: (N pairs, d_k, d_v) of the random keys and values
    crosstalk_split_shape=((40, 16, 8), (400, 64, 32)),
    # memory.signal-crosstalk: float64 roundoff of sums of N d_k products grows with the size above
    crosstalk_split_atol=(1e-12, 1e-11),
    # memory.exact-capacity-dk: Monte-Carlo draws of the least-squares residual ratio
    least_squares_trials=(200, 2000),
    # memory.crosstalk-moment: independent key pairs per moment
    moment_pairs=(100_000, 1_000_000),
    # memory.relmse-law: key widths d_k, item counts N, trials per (d_k, N)
    relmse_dks=((32, 64, 128), (32, 64, 128, 256)),
    relmse_ns=((8, 32, 64, 128), (8, 32, 64, 128, 256)),
    relmse_trials=(200, 1000),
    # memory.linear-capacity: key widths d_k of the bisection for N*, trials per N
    capacity_dks=((16, 32, 64, 128, 256), (16, 32, 64, 128, 256, 512, 1024)),
    capacity_trials=(200, 1000),
    # memory.coherence-guarantee: random draws of the coherence bound, key width d_k
    coherence_draws=(50, 200),
    coherence_dk=(64, 256),
    # memory.worst-vs-average: key widths d_k and draws per d_k
    worst_case_dks=((64, 256, 1024), (64, 256, 1024, 4096)),
    worst_case_draws=(25, 25),
    # memory.bit-error-law: trials of the sign read-out
    bit_error_trials=(50, 500),
    # memory.bit-error-law: trials at (d, N) = (100, 12), where an off-by-one load moves the law by 50%
    bit_error_small_trials=(500, 5000),
    # memory.softmax-hopfield-contrast: (key width d_k, stored pairs N)
    hopfield_shape=((64, 256), (128, 2048)),
    # memory.head-redundancy: trials per head count H
    head_trials=(300, 3000),
    # memory.depth-compounding: trials of the multi-hop retrieval
    compounding_trials=(2000, 20000),
    # memory.depth-residual: trials of the residual stream
    residual_trials=(500, 5000),
    # memory.delta-rule-exact: random draws of N <= d_k pairs stored by cyclic sweeps
    delta_draws=(50, 200),
    # memory.delta-rule-least-squares: write strengths beta (400/beta sweeps each)
    delta_betas=((0.5, 0.1, 0.02), (0.5, 0.1, 0.02, 0.005)),
    # memory.decay-snr: trials of the decayed stream
    decay_trials=(500, 5000),
    # notebook figures: progress bars on the sweeps (off at ci, so the outputs are deterministic)
    figure_progress=(False, True),
    # notebook, relMSE collapse: key widths d_k and trials per point
    figure_relmse_dks=((32, 64, 128, 256), (32, 64, 128, 256, 512)),
    figure_relmse_trials=(100, 1000),
    # notebook, guarantee vs empirical capacity: key widths d_k and draws per d_k
    figure_worst_case_dks=((32, 64, 128, 256, 512, 1024), (32, 64, 128, 256, 512, 1024, 2048, 4096)),
    figure_worst_case_draws=(5, 25),
    # notebook, bit error of the sign read-out: trials per load
    figure_bit_error_trials=(20, 200),
    # notebook, Model C against depth: trials per (H, d_k)
    figure_depth_trials=(500, 5000),
    # notebook, SNR against age under decay: trials per gamma
    figure_decay_trials=(200, 2000),
)
