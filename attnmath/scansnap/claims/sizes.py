"""Run sizes of the Scan and Snap claims (and of the notebook's tier-dependent cells): ``(ci, paper)`` pairs."""

from __future__ import annotations

from attnmath.claims import Sizes

from ..experiments import FIG6_PANELS

SIZES = Sizes(
    # sampled sequences per length T in the long-sequence limit (T = 128, 1024, 8192)
    sequences=(200, 1000),
    # seeds of the random (Y, Z) points at which Lemma 1 is compared with autograd
    autograd_seeds=(range(5), range(50)),
    # batch size and sequence length of the 100 SGD steps whose row sums must be conserved
    invariant_batch=(32, 128),
    invariant_T=(32, 128),
    # points of the geometric time grid on which the peak of gamma(t) is searched
    gamma_grid=(4001, 40001),
    # points of [0, 700] at which the snap ODE is compared with the closed form
    snap_times=(141, 1401),
    # notebook: eta_Z / eta_Y of the population flows in the relative-gain figure
    gain_ratios=((0.3, 0.1, 0.03), (1.0, 0.3, 0.1, 0.03, 0.01)),
    # claim s11: regress all 36 stored Fig. 6 cells (paper) or a seeded subset covering every stored row (ci)
    fig6_all_stored=(False, True),
    # claim s14: seeds of the JoMA token distributions X (Gaussian-bump and random), one flow per seed and kind
    joma_seeds=((0,), (0, 1, 2)),
    # notebook: the Fig. 6 panels swept (number of query tokens; next tokens = 2 x)
    fig6_panels=((1,), FIG6_PANELS),
)
