"""Two-sample statistics for the timing test, in plain Python (no PyPI): the
Mann-Whitney U test (normal approximation with tie correction) and the Hodges-Lehmann
estimate of the shift between two samples with its distribution-free confidence
interval (order statistics of the pairwise differences)."""
import math
from statistics import NormalDist


def mann_whitney_p(x: list[float], y: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test."""
    n, m = len(x), len(y)
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    u = r1 - n * (n + 1) / 2
    mu = n * m / 2
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - ties / ((n + m) * (n + m - 1))))
    if sigma == 0:
        return 1.0
    z = (abs(u - mu) - 0.5) / sigma
    return 2 * (1 - NormalDist().cdf(max(z, 0.0)))


def _kth_difference(xs: list[float], ys: list[float], k: int) -> float:
    """The k-th smallest (0-based) of the n*m differences x - y, without listing them:
    bisection on the value, counting differences <= t in O(n + m) (xs, ys sorted)."""
    def count_le(t: float) -> int:
        # For each x (ascending), the ys with y >= x - t: a pointer that only moves right.
        count, j = 0, 0
        for x in xs:
            while j < len(ys) and ys[j] < x - t:
                j += 1
            count += len(ys) - j
        return count

    lo, hi = xs[0] - ys[-1], xs[-1] - ys[0]
    for _ in range(60):
        mid = (lo + hi) / 2
        if count_le(mid) >= k + 1:
            hi = mid
        else:
            lo = mid
        if hi - lo < 0.01:
            break
    return hi


def shift_estimate(x: list[float], y: list[float], confidence: float):
    """Hodges-Lehmann shift x - y and its confidence interval: (estimate, low, high)."""
    xs, ys = sorted(x), sorted(y)
    n, m = len(xs), len(ys)
    nm = n * m
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    k = int(math.floor(nm / 2 - z * math.sqrt(nm * (n + m + 1) / 12)))
    k = max(0, min(k, nm // 2 - 1))
    est = _kth_difference(xs, ys, nm // 2)
    return est, _kth_difference(xs, ys, k), _kth_difference(xs, ys, nm - 1 - k)
